"""The CLI: validate, render and sample-data, driven through Typer's runner."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from renderer.cli import app
from renderer.settings import PROJECT_ROOT

runner = CliRunner()


@pytest.mark.parametrize(
    ("template", "outputs"), [("bill-summary", "microsite, pdf"), ("welcome-onboarding", "microsite")]
)
def test_validate_the_sample_templates(template: str, outputs: str) -> None:
    result = runner.invoke(app, ["validate", template])
    assert result.exit_code == 0, result.output
    for locale in ("de-DE", "en-US", "fa-IR", "id-ID", "it-IT", "tr-TR"):
        assert f"samples/{locale}.json" in result.output
        assert f"video for {locale}" in result.output
    assert f"renders {outputs}" in result.output and "fails" not in result.output


def test_validate_reports_a_broken_sample_and_a_broken_template(tmp_path: Path) -> None:
    root = tmp_path / "bill-summary"
    shutil.copytree(PROJECT_ROOT / "templates" / "bill-summary", root)
    sample = (
        (root / "samples" / "en-US.json")
        .read_text(encoding="utf-8")
        .replace('"currency": "USD"', '"currency": "DOLLARS"')
    )
    (root / "samples" / "en-US.json").write_text(sample, encoding="utf-8")
    result = runner.invoke(app, ["validate", str(root)])
    assert result.exit_code == 1
    assert "currency: is not an ISO 4217 currency code" in result.output
    (root / "template.yaml").write_text("name: bill-summary\ntitle: x\n", encoding="utf-8")
    result = runner.invoke(app, ["validate", str(root)])
    assert result.exit_code == 1
    assert "template.yaml" in result.output and "version: Field required" in result.output


def test_render_a_sample(tmp_path: Path) -> None:
    result = runner.invoke(app, ["render", "bill-summary", "--sample", "fa-IR", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    folder = tmp_path / "bill-summary" / "single" / "IR-6006"
    assert str(folder / "index.html") in result.output
    assert 'dir="rtl"' in (folder / "index.html").read_text(encoding="utf-8")
    assert (folder / "bill.pdf").read_bytes().startswith(b"%PDF")


def test_render_from_a_json_file_with_a_bad_field(tmp_path: Path) -> None:
    data = tmp_path / "one.json"
    data.write_text('{"customer_id": "X-1", "first_name": "Ann", "locale": "en-US"}', encoding="utf-8")
    result = runner.invoke(
        app,
        [
            "render",
            "bill-summary",
            "--data",
            str(data),
            "--outputs",
            "microsite",
            "--out",
            str(tmp_path),
        ],
    )
    assert result.exit_code == 1
    assert "last_name: is required" in result.output and "Ann" not in result.output


@pytest.mark.parametrize("args", [["--outputs", "hologram"], ["--outputs", "microsite,poster"]])
def test_render_refuses_outputs_the_template_lacks(tmp_path: Path, args: list[str]) -> None:
    result = runner.invoke(
        app, ["render", "bill-summary", "--sample", "en-US", "--out", str(tmp_path), *args]
    )
    assert result.exit_code == 1
    assert "output" in result.output


def test_sample_data_is_deterministic(tmp_path: Path) -> None:
    first, second = tmp_path / "a.csv", tmp_path / "b.csv"
    assert (
        runner.invoke(
            app, ["sample-data", "bill-summary", "--rows", "30", "--seed", "3", "--out", str(first)]
        ).exit_code
        == 0
    )
    assert (
        runner.invoke(
            app,
            ["sample-data", "bill-summary", "--rows", "30", "--seed", "3", "--out", str(second)],
        ).exit_code
        == 0
    )
    assert first.read_bytes() == second.read_bytes()
    lines = first.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 31 and lines[0].startswith("customer_id,first_name,last_name")
    assert {"de-DE", "fa-IR", "tr-TR"} <= {line.split(",")[4] for line in lines[1:]}
