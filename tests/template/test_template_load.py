"""Loading templates: every broken piece is an error naming the file and the line."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from renderer.errors import AssetError, TemplateError
from renderer.outputs.load import load_template
from renderer.outputs.microsite import MICROSITE
from renderer.outputs.render import prepared_output
from renderer.settings import PROJECT_ROOT, Settings

SOURCE = PROJECT_ROOT / "templates" / "bill-summary"


@pytest.fixture
def broken(tmp_path: Path, settings: Settings) -> Callable[[Callable[[Path], None]], TemplateError]:
    """Copy bill-summary, apply a mutation, load it, and return the TemplateError raised."""

    def run(mutate: Callable[[Path], None]) -> TemplateError:
        root = tmp_path / "bill-summary"
        shutil.copytree(SOURCE, root)
        mutate(root)
        with pytest.raises(TemplateError) as caught:
            load_template(root, settings)
        return caught.value

    return run


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def _line_of(path: Path, needle: str) -> int:
    return next(
        i for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1) if needle in line
    )


def test_the_sample_template_loads(settings: Settings) -> None:
    template = load_template("bill-summary", settings)
    assert sorted(template.samples) == ["de-DE", "en-US", "fa-IR", "id-ID", "it-IT", "tr-TR"]
    assert {
        asset.hashed_name.split(".")[0] for asset in prepared_output(template, MICROSITE).static.values()
    } == {"site", "forms", "bill", "logo", "player", "events", "hls"}


def test_unknown_key_names_file_and_line(broken) -> None:  # type: ignore[no-untyped-def]
    error = broken(
        lambda root: _edit(
            root / "template.yaml",
            "    paperless: {type: bool, default: false}",
            "    paperless: {type: bool, default: false, colour: red}",
        )
    )
    manifest = SOURCE / "template.yaml"
    assert error.file and error.file.endswith("template.yaml")
    assert error.line == _line_of(manifest, "    paperless:")
    assert "contract.fields.paperless.colour: unknown key" in str(error)


def test_wrong_type_in_manifest(broken) -> None:  # type: ignore[no-untyped-def]
    error = broken(
        lambda root: _edit(
            root / "template.yaml",
            "type: money, required: true, synth",
            "type: moneyy, required: true, synth",
        )
    )
    assert "amount" in str(error) and "'string'" in str(error)
    assert error.line == _line_of(SOURCE / "template.yaml", "        amount: {type: money")


def test_invalid_yaml(broken) -> None:  # type: ignore[no-untyped-def]
    error = broken(
        lambda root: _edit(root / "template.yaml", "title: Interactive bill summary", "title: [unclosed")
    )
    assert "invalid YAML" in str(error) and error.line is not None


def test_broken_jinja_in_entry_names_entry_file_and_line(broken) -> None:  # type: ignore[no-untyped-def]
    error = broken(lambda root: _edit(root / "microsite/index.html", "{% endfor %}", "{% endfro %}"))
    assert error.file and error.file.endswith("microsite/index.html")
    assert error.line == _line_of(SOURCE / "microsite/index.html", "{% endfor %}")
    assert "broken Jinja" in str(error)


def test_broken_computed_expression(broken) -> None:  # type: ignore[no-untyped-def]
    error = broken(
        lambda root: _edit(
            root / "template.yaml", 'went_up: "change_ratio > 0"', 'went_up: "change_ratio >> 0"'
        )
    )
    assert "computed.went_up: broken expression" in str(error)
    assert error.line == _line_of(SOURCE / "template.yaml", "  went_up:")


def test_broken_text_snippet(broken) -> None:  # type: ignore[no-untyped-def]
    error = broken(lambda root: _edit(root / "template.yaml", 'contact: "Kontakt"', 'contact: "{{ Kontakt"'))
    assert "text.de.contact: broken Jinja" in str(error)
    assert error.line == _line_of(SOURCE / "template.yaml", 'contact: "Kontakt"')


def test_bad_when_in_video_scene(broken) -> None:  # type: ignore[no-untyped-def]
    video = '  video:\n    scenes:\n      - id: intro\n        duration: 3\n      - id: tips\n        when: "plan =="\n'
    error = broken(lambda root: _edit(root / "template.yaml", "  pdf:\n", video + "  pdf:\n"))
    assert "scene.tips.when: broken expression" in str(error)
    assert error.line is not None


def test_missing_entry(broken) -> None:  # type: ignore[no-untyped-def]
    error = broken(lambda root: (root / "pdf/bill.html").unlink())
    assert error.file and error.file.endswith("pdf/bill.html")
    assert "missing" in str(error)


def test_static_asset_outside_the_template_is_refused(broken) -> None:  # type: ignore[no-untyped-def]
    error = broken(lambda root: _edit(root / "template.yaml", "microsite/bill.js", "../../../../etc/passwd"))
    assert isinstance(error, AssetError)
    assert "points outside" in str(error)
    assert error.file and error.file.endswith("template.yaml")


def test_sample_that_is_not_json(broken) -> None:  # type: ignore[no-untyped-def]
    error = broken(lambda root: (root / "samples/xx.json").write_text('{"a": 1,\n oops}', encoding="utf-8"))
    assert error.file and error.file.endswith("samples/xx.json")
    assert error.line == 2


def test_name_must_match_folder(broken) -> None:  # type: ignore[no-untyped-def]
    error = broken(lambda root: _edit(root / "template.yaml", "name: bill-summary", "name: other"))
    assert "differs from the folder name" in str(error)


def test_the_name_stream_is_reserved(broken) -> None:  # type: ignore[no-untyped-def]
    error = broken(lambda root: _edit(root / "template.yaml", "name: bill-summary", "name: stream"))
    assert "'stream' is reserved" in str(error)
