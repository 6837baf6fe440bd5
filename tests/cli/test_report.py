"""``tailor report CAMPAIGN`` in a child process, on the job store beside ``--out``: the Rich
table of the seeded events (tests/fixture_engagement.py) with hand-computed numbers, the funnel
and drop-off charts as SVG and PNG (the PNG's bars looked at pixel by pixel), the CSV file."""

from __future__ import annotations

import csv
import io
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from fixture_engagement import BILL_SCENES, seeded_events, shuffled_with_duplicates
from PIL import Image

from renderer.jobs.store import open_store
from renderer.settings import PROJECT_ROOT

BAR = (0x1F, 0x5F, 0xBF)  # ChartStyle.bar
WHITE = (255, 255, 255)


def _tailor(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TAILOR_")}
    env.update(PYTHONPATH=str(PROJECT_ROOT), COLUMNS="200", TAILOR_STORAGE_URL=str(tmp_path / "elsewhere"))
    command = [sys.executable, "-m", "renderer", *args]
    return subprocess.run(command, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120)


@pytest.fixture(name="out")
def out_fixture(tmp_path: Path) -> Path:
    """An --out folder whose job store has campaign "october" (R1-R7 rendered with a microsite,
    R8 with a PDF only) and the seeded events, sent twice over in shuffled batches."""
    out = tmp_path / "out"
    (out / "_tailor").mkdir(parents=True)
    store = open_store(f"sqlite:///{out / '_tailor' / 'jobs.db'}")
    try:
        store.campaigns.create("bill-summary", ["microsite", "pdf"], "data.csv", campaign_id="october")
        store.rows.add("october", [(n, f"R{n}") for n in range(1, 9)])
        for n in range(1, 9):
            outputs = {"pdf": "bill.pdf", **({"microsite": "index.html"} if n <= 7 else {})}
            store.rows.finish("october", n, outputs)
        for batch in shuffled_with_duplicates(seeded_events(campaign="october", scenes=BILL_SCENES)):
            store.events.add(batch)
    finally:
        store.close()
    return out


def _cells(stdout: str, metric: str, target: str = "") -> list[str]:
    """The cells of the table row of (metric, overall, target)."""
    for line in stdout.splitlines():
        cells = [cell.strip() for cell in re.split(r"[│┃]", line)[1:-1]]
        if cells[:3] == [metric, "(all)", target]:
            return cells[3:]
    raise AssertionError(f"no row {metric} {target}:\n{stdout}")


def test_the_table_shows_the_hand_computed_metrics(out: Path, tmp_path: Path) -> None:
    done = _tailor(tmp_path, "report", "october", "--out", str(out))
    assert done.returncode == 0, done.stderr
    assert "engagement of bill-summary/october" in done.stdout
    assert _cells(done.stdout, "pages_delivered") == ["7", "-", "7"]
    assert _cells(done.stdout, "page_view_rate") == ["5", "7", "71.4%"]  # 5 / 7
    assert _cells(done.stdout, "video_play_rate") == ["4", "5", "80.0%"]
    assert _cells(done.stdout, "average_percentage_viewed") == ["175", "400", "43.8%"]  # 0.4375
    assert _cells(done.stdout, "completion_rate") == ["1", "4", "25.0%"]
    assert _cells(done.stdout, "drop_off_still_watching", "tips-green") == ["1", "4", "25.0%"]
    assert _cells(done.stdout, "cta_click_rate", "pay-now") == ["1", "3", "33.3%"]
    assert _cells(done.stdout, "form_submit_rate", "preferences") == ["2", "3", "66.7%"]
    assert _cells(done.stdout, "chapter_jumps", "tips-plus") == ["2", "-", "2"]
    assert "│ B " in done.stdout  # variant B's events: its rows are listed too
    missing = _tailor(tmp_path, "report", "september", "--out", str(out))
    assert missing.returncode == 1 and "no campaign 'september'" in missing.stderr


def _bar_tops(png: Image.Image, xs: list[int], bottom: int) -> list[int]:
    """For each column x, the first row from the top where the bar colour starts above `bottom`
    (the plot's floor), or `bottom` when there is no bar."""
    rgb = png.convert("RGB")
    tops = []
    for x in xs:
        top = bottom
        for y in range(bottom - 1, 0, -1):
            if rgb.getpixel((x, y)) != BAR:
                break
            top = y
        tops.append(top)
    return tops


def test_charts_and_csv_are_written(out: Path, tmp_path: Path) -> None:
    charts, table = tmp_path / "charts", tmp_path / "engagement.csv"
    done = _tailor(
        tmp_path, "report", "october", "--out", str(out), "--charts", str(charts), "--csv", str(table)
    )
    assert done.returncode == 0, done.stderr
    names = ["funnel.svg", "funnel.png", "drop-off.svg", "drop-off.png"]
    assert sorted(p.name for p in charts.iterdir()) == sorted(names)
    for name in names:
        assert str(charts / name) in done.stdout
    funnel_svg = (charts / "funnel.svg").read_text(encoding="utf-8")
    assert (
        funnel_svg.startswith('<svg xmlns="http://www.w3.org/2000/svg"') and funnel_svg.count("<rect ") == 6
    )
    assert "delivered: 7; viewed: 5; played: 4; completed: 1; CTA clicked: 3; form submitted: 3" in funnel_svg
    assert (charts / "drop-off.svg").read_text(encoding="utf-8").count("<rect ") == 8
    # funnel.png: 640x300 drawn at 2x; six bars over slots of (628 - 44) / 6 px, axis 0..8 from
    # y = 26 to 272 (x2): bar tops at 272 - value / 8 * 246
    with Image.open(charts / "funnel.png") as image:
        image.load()
        funnel = image.copy() if image.format == "PNG" else None
    assert funnel is not None
    assert funnel.size == (1280, 600)
    centres = [round(2 * (44 + (628 - 44) / 6 * (i + 0.5))) for i in range(6)]
    expected = [round(2 * (272 - value / 8 * 246)) for value in (7, 5, 4, 1, 3, 3)]
    for top, want in zip(_bar_tops(funnel, centres, 2 * 272 - 2), expected, strict=True):
        assert abs(top - want) <= 2, (top, want)
    assert funnel.convert("RGB").getpixel((centres[0], 2 * 30)) == WHITE  # above the tallest bar
    # drop-off.png: 8 scenes, 56 + 84 * 8 = 728 px wide; still watching 75 50 50 50 50 50 25 25 %
    with Image.open(charts / "drop-off.png") as image:
        drop = image.copy()
    assert drop.size == (1456, 600)
    centres = [round(2 * (44 + (728 - 12 - 44) / 8 * (i + 0.5))) for i in range(8)]
    expected = [round(2 * (272 - value / 75 * 246)) for value in (75, 50, 50, 50, 50, 50, 25, 25)]
    for top, want in zip(_bar_tops(drop, centres, 2 * 272 - 2), expected, strict=True):
        assert abs(top - want) <= 2, (top, want)
    rows = list(csv.reader(io.StringIO(table.read_text(encoding="utf-8"))))
    assert rows[0] == ["metric", "variant", "target", "numerator", "denominator", "value"]
    assert ["page_view_rate", "(all)", "", "5", "7", str(5 / 7)] in rows
    assert ["average_percentage_viewed", "(all)", "", "175", "400", "0.4375"] in rows  # 0..1
    assert ["funnel", "B", "delivered", "", "", ""] in rows  # variant B's pages: unknown yet
