"""URLs a template would load from elsewhere are refused by `tailor validate` (file and line), and a
string field without max_length has a documented default limit, named in the error."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from broken import broken_copy, edit, line_of, run_cli
from fixture_api import ApiServer, make_api_fixture  # noqa: F401

from renderer.errors import TemplateError
from renderer.outputs.load import load_template
from renderer.settings import Settings

LONG = 1_000_001
STREET = "    street: {type: string, max_length: 120, personal: true, synth: street}"


def _refused(root: Path, file: Path, needle: str) -> None:
    result = run_cli("validate", str(root))
    assert result.returncode == 1, result.stdout
    assert f"{file}:{line_of(file, needle)}:" in result.stdout, result.stdout
    assert f"refused URL '{needle}'" in result.stdout


def test_validate_refuses_a_pdf_image_from_the_network(tmp_path: Path) -> None:
    root = broken_copy(tmp_path)
    entry = root / "pdf" / "bill.html"
    edit(entry, "</body>", '<img src="http://127.0.0.1/pixel.png" alt="">\n</body>')
    _refused(root, entry, "http://127.0.0.1/pixel.png")


def test_validate_refuses_network_urls_in_pdf_and_microsite_css(tmp_path: Path) -> None:
    root = broken_copy(tmp_path)
    stylesheet = root / "pdf" / "bill.css"
    edit(stylesheet, "body { margin: 0; }", 'body { margin: 0; }\n@import "https://cdn.example/x.css";')
    _refused(root, stylesheet, "https://cdn.example/x.css")
    root = broken_copy(tmp_path)
    site_css = root / "microsite" / "site.css"
    site_css.write_text(site_css.read_text() + "\n.x { background: url(//169.254.169.254/latest); }\n")
    _refused(root, site_css, "//169.254.169.254/latest")


def test_links_data_uris_and_files_inside_the_template_are_allowed(
    tmp_path: Path, settings: Settings
) -> None:
    root = broken_copy(tmp_path)
    entry = root / "pdf" / "bill.html"
    allowed = (
        '<a href="https://example.com/help">help</a><img src="data:," alt=""><img src="../samples/x.png">'
    )
    edit(entry, "</body>", allowed + "</body>")
    load_template(root, settings)
    edit(entry, '<img src="../samples/x.png">', '<img src="../../outside.png">')
    with pytest.raises(TemplateError, match=re.escape("refused URL '../../outside.png': it points outside")):
        load_template(root, settings)


def _long_street(tmp_path: Path) -> tuple[Path, dict[str, object]]:
    templates = tmp_path / "templates"
    root = broken_copy(templates)
    edit(root / "template.yaml", STREET, STREET.replace("max_length: 120, ", ""))
    recipient = json.loads((root / "samples" / "en-US.json").read_text(encoding="utf-8"))
    recipient["street"] = "S" * LONG
    return root, recipient


def test_a_too_long_value_for_a_field_without_max_length_names_the_field(tmp_path: Path) -> None:
    root, recipient = _long_street(tmp_path)
    data = tmp_path / "long.json"
    data.write_text(json.dumps(recipient), encoding="utf-8")
    result = run_cli("render", str(root), "--data", str(data), "--out", str(tmp_path / "out"))
    assert result.returncode == 1, result.stdout[-2000:]
    assert "street: is longer than 10,000 characters, the limit of a string field without max_length" in (
        result.stdout
    )
    assert "unexpected" not in result.stdout and "SSSSSSSSSS" not in result.stdout


@pytest.mark.slow
def test_the_api_names_the_field_of_a_too_long_value(
    tmp_path: Path, make_api: Callable[..., ApiServer]
) -> None:
    root, recipient = _long_street(tmp_path)
    api = make_api(templates_dir=root.parent)
    answer = api.client().post(
        "/templates/bill-summary/renders", json={"recipient": recipient, "outputs": ["microsite"]}
    )
    error = answer.json()["error"]
    assert (answer.status_code, error["code"], error["field"]) == (422, "invalid_recipient", "street"), error
    assert "longer than 10,000 characters" in error["message"] and "SSSS" not in answer.text
