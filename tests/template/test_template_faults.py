"""Template faults (the sandbox refusing an expression, CSS a PDF cannot lay out) are template
errors naming the template, file and line: in `tailor validate`, in a render, and as the API's
documented ``422 template_error`` (never a 500)."""

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
from renderer.outputs.render import render_recipient
from renderer.settings import Settings
from renderer.storage import MemoryStorage

GREETING = "<h1>{{ t('greeting_warm') if variants.headline == 'warm' else t('greeting') }}</h1>"
ESCAPES = {
    "mro": "<h1>{{ ''.__class__.__mro__ }}</h1>",
    "attr-format": "<h1>{{ ('{0.__class__}' | attr('format'))(first_name) }}</h1>",
}


def _sandbox_escape(root: Path, kind: str) -> int:
    entry = root / "pdf" / "bill.html"
    edit(entry, GREETING, ESCAPES[kind])
    return line_of(entry, "__class__")


def _huge_font(root: Path) -> int:
    stylesheet = root / "pdf" / "bill.css"
    edit(stylesheet, "h1 { font-size: 18pt;", "h1 { font-size: 1e9px;")
    return line_of(stylesheet, "1e9px")


@pytest.mark.pdf
@pytest.mark.parametrize("kind", sorted(ESCAPES))
def test_validate_names_the_line_a_sandbox_escape_is_on(tmp_path: Path, kind: str) -> None:
    root = broken_copy(tmp_path)
    line = _sandbox_escape(root, kind)
    result = run_cli("validate", str(root))
    assert result.returncode == 1, result.stdout
    assert f"bill-summary/pdf/bill.html:{line}:" in result.stdout
    assert re.search(r"access to attribute '__(class|mro)__'", result.stdout), result.stdout
    assert "unexpected" not in result.stdout and "SecurityError" not in result.stdout


@pytest.mark.pdf
def test_validate_names_the_css_line_a_pdf_cannot_lay_out(tmp_path: Path) -> None:
    root = broken_copy(tmp_path)
    line = _huge_font(root)
    result = run_cli("validate", str(root))
    assert result.returncode == 1, result.stdout
    assert f"pdf/bill.css:{line}: CSS length 1e9px is out of range" in result.stdout
    assert "unexpected" not in result.stdout and "ZeroDivisionError" not in result.stdout


@pytest.mark.pdf
def test_a_layout_fault_found_while_rendering_names_the_stylesheet(
    tmp_path: Path, settings: Settings
) -> None:
    root = broken_copy(tmp_path)
    template = load_template(root, settings)  # checked while the CSS was fine
    _huge_font(root)  # the stylesheet is read on the first PDF
    recipient = template.validator.validate(template.samples["en-US"])
    with pytest.raises(TemplateError) as caught:
        render_recipient(template, recipient, ["pdf"], MemoryStorage(), "faults")
    assert str(caught.value).startswith("bill-summary/pdf/bill.css: pdf output: WeasyPrint cannot lay out")
    assert "ZeroDivisionError" in str(caught.value)


def _render(api: ApiServer) -> tuple[int, dict[str, str]]:
    sample = json.loads((api.settings.templates_dir / "bill-summary/samples/en-US.json").read_text())
    answer = api.client().post(
        "/templates/bill-summary/renders", json={"recipient": sample, "outputs": ["microsite", "pdf"]}
    )
    return answer.status_code, answer.json()["error"]


@pytest.mark.pdf
@pytest.mark.slow
def test_the_api_answers_template_faults_with_422_template_error(
    tmp_path: Path, make_api: Callable[..., ApiServer]
) -> None:
    templates = tmp_path / "templates"
    line = _sandbox_escape(broken_copy(templates), "attr-format")  # refused while rendering
    status, error = _render(make_api(templates_dir=templates))
    assert (status, error["code"]) == (422, "template_error"), error
    assert error["message"].startswith(f"bill-summary/pdf/bill.html:{line}: pdf output: "), error
    assert str(tmp_path) not in error["message"], "no server path"

    _huge_font(broken_copy(templates))
    status, error = _render(make_api(templates_dir=templates))
    assert (status, error["code"]) == (422, "template_error"), error
    assert "CSS length 1e9px is out of range" in error["message"] and str(tmp_path) not in error["message"]


@pytest.mark.pdf
@pytest.mark.slow
def test_a_campaign_fails_each_row_with_the_template_fault(tmp_path: Path) -> None:
    templates = tmp_path / "templates"
    line = _sandbox_escape(broken_copy(templates), "attr-format")
    rows = tmp_path / "rows.csv"
    assert run_cli("sample-data", "bill-summary", "--rows", "2", "--out", str(rows)).returncode == 0
    out = tmp_path / "out"
    args = ["campaign", "bill-summary", str(rows), "--out", str(out), "--workers", "1", "--campaign", "c"]
    result = run_cli(*args, env={"TAILOR_TEMPLATES_DIR": str(templates)})
    assert result.returncode == 1 and "0 rendered, 0 rejected, 2 failed" in result.stdout, result.stdout
    rejects = (out / "bill-summary" / "c" / "_campaign" / "rejects.csv").read_text(encoding="utf-8")
    assert rejects.count(f"bill-summary/pdf/bill.html:{line}: pdf output: the sandbox refused") == 2, rejects
    assert "unexpected" not in rejects
