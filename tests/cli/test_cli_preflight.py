"""``tailor validate TEMPLATE --preflight``: the findings table, the cost, exit 1 on errors."""

from __future__ import annotations

from pathlib import Path

from fixture_preflight import PERSONAL, write_card
from typer.testing import CliRunner

from renderer.cli import app
from renderer.settings import Settings

runner = CliRunner()
ENV = {"TAILOR_TTS_ENGINE": "fake", "COLUMNS": "250"}


def test_preflight_prints_each_finding_and_exits_1(tmp_path: Path, settings: Settings) -> None:
    card = write_card(tmp_path, settings)
    args = [
        "validate",
        str(card.root),
        "--preflight",
        "--no-video",
        "--synthetic",
        "1",
        "--campaign-size",
        "50",
    ]
    result = runner.invoke(app, args, env=ENV)
    assert result.exit_code == 1, result.output
    for check in ("text-fit", "glyphs", "contrast", "narration", "link"):
        assert check in result.output
    assert "scene crowded, layer 0 (text)" in result.output and "synthetic #1" in result.output
    assert "template.yaml:" in result.output and "50 recipients on" in result.output
    assert "the pre-flight check found errors" in result.output
    assert not any(value in result.output for value in PERSONAL)


def test_preflight_of_a_clean_template_exits_0() -> None:
    result = runner.invoke(app, ["validate", "bill-summary", "--preflight", "--no-video"], env=ENV)
    assert result.exit_code == 0, result.output
    assert "0 errors" in result.output and "render cost" in result.output and "pdf" in result.output
