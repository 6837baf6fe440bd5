"""Local campaigns end to end: a process pool renders good rows, reports bad ones, shares static files."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from renderer.errors import SourceError
from renderer.jobs.local import CampaignSpec, run_campaign
from renderer.outputs.load import load_template
from renderer.settings import PROJECT_ROOT, Settings
from renderer.storage.keys import STATIC_DIR

pytestmark = pytest.mark.slow


def _tailor(*args: str, check: bool = False) -> subprocess.CompletedProcess[str]:
    """Run the real CLI (``python -m renderer``) from the project root and capture its output."""
    command = [sys.executable, "-m", "renderer", *args]
    return subprocess.run(command, cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=300, check=check)


def _sample_csv(path: Path, rows: int) -> list[str]:
    _tailor("sample-data", "bill-summary", "--rows", str(rows), "--seed", "7", "--out", str(path), check=True)
    return path.read_text(encoding="utf-8").splitlines(keepends=True)


def test_campaign_renders_good_rows_and_reports_bad_ones(tmp_path: Path, settings: Settings) -> None:
    lines = _sample_csv(tmp_path / "base.csv", 24)
    header = next(csv.reader([lines[0]]))
    broken = next(csv.reader([lines[3]]))
    broken[header.index("previous_amount")] = "lots"
    broken[header.index("customer_id")] = "BAD-1"
    broken_line = io.StringIO()
    csv.writer(broken_line, lineterminator="\n").writerow(broken)
    duplicate = lines[5]
    body = [*lines[:3], "BAD,row,with,too,few\n", broken_line.getvalue(), *lines[4:], duplicate]
    data = tmp_path / "recipients.csv"
    data.write_text("".join(body), encoding="utf-8")

    out = tmp_path / "out"
    run_settings = settings.model_copy(update={"storage_url": str(out), "workers": 2, "chunk_size": 4})
    report_dir = out / "bill-summary" / "c1" / "_campaign"
    stats = run_campaign(
        CampaignSpec("bill-summary", data, ("microsite", "pdf"), "c1", report_dir), run_settings
    )

    assert (stats.rendered, stats.rejected, stats.failed, stats.duplicates) == (23, 3, 0, 1)
    manifest = [
        json.loads(line) for line in (report_dir / "manifest.jsonl").read_text(encoding="utf-8").splitlines()
    ]
    assert len(manifest) == 23
    assert [m["row"] for m in manifest] == sorted(m["row"] for m in manifest)
    for entry in manifest:
        folder = out / "bill-summary" / "c1" / entry["recipient_id"]
        assert (folder / "index.html").stat().st_size > 2000
        assert (folder / "bill.pdf").read_bytes().startswith(b"%PDF-")
        assert entry["outputs"] == {
            "microsite": f"bill-summary/c1/{entry['recipient_id']}/index.html",
            "pdf": f"bill-summary/c1/{entry['recipient_id']}/bill.pdf",
        }
    with (report_dir / "rejects.csv").open(encoding="utf-8") as handle:
        rejects = list(csv.DictReader(handle))
    by_row = {int(r["row"]): r for r in rejects}
    assert by_row[4]["reason"].startswith("has 5 values but the header has")
    assert by_row[5]["field"] == "previous_amount" and "valid decimal" in by_row[5]["reason"]
    assert by_row[len(body)]["reason"].startswith("duplicate recipient id (first at row")
    assert "lots" not in (report_dir / "rejects.csv").read_text(encoding="utf-8")
    static = sorted(p.name for p in (out / "bill-summary" / STATIC_DIR).iterdir())
    listed = load_template("bill-summary", settings).manifest.outputs.microsite.static
    assert len(static) == len(listed) == 9, "static files are stored once per template, not per recipient"
    page = (out / "bill-summary" / "c1" / manifest[0]["recipient_id"] / "index.html").read_text(
        encoding="utf-8"
    )
    video_only = ("player.", "hls.min.")  # this campaign renders no video: no player on its pages
    for name in static:
        linked = f"../../{STATIC_DIR}/{name}" in page
        assert linked != name.startswith(video_only), name


def test_missing_required_column_stops_before_rendering(tmp_path: Path, settings: Settings) -> None:
    data = tmp_path / "r.csv"
    data.write_text("customer_id,first_name\nC-1,Ann\n", encoding="utf-8")
    with pytest.raises(SourceError, match=r"r.csv, row 1: missing required columns: last_name, locale"):
        run_campaign(CampaignSpec("bill-summary", data, ("microsite",), "c2", tmp_path / "rep"), settings)


def test_cli_campaign_prints_where_outputs_are(tmp_path: Path) -> None:
    data = tmp_path / "r.jsonl"
    _sample_csv(data, 12)  # the generator writes JSONL for a .jsonl name
    out = tmp_path / "out"
    result = _tailor(
        "campaign", "bill-summary", str(data), "--out", str(out), "--outputs", "microsite", "--workers", "2"
    )
    assert result.returncode == 0, result.stderr
    assert "12 rendered, 0 rejected, 0 failed" in result.stdout
    assert f"outputs:  {out.resolve()}/bill-summary/r" in result.stdout
    assert len(list((out / "bill-summary" / "r").glob("*/index.html"))) == 12


def test_a_row_that_failed_validation_does_not_block_a_later_good_row_with_its_id(
    tmp_path: Path, settings: Settings
) -> None:
    lines = _sample_csv(tmp_path / "base.csv", 2)
    header = next(csv.reader([lines[0]]))
    bad = next(csv.reader([lines[1]]))
    bad[header.index("currency")] = "DOLLARS"
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerow(bad)
    data = tmp_path / "r.csv"
    data.write_text(lines[0] + buffer.getvalue() + lines[1], encoding="utf-8")
    out = tmp_path / "out"
    run_settings = settings.model_copy(update={"storage_url": str(out), "workers": 1})
    stats = run_campaign(CampaignSpec("bill-summary", data, ("microsite",), "c3", out / "rep"), run_settings)
    assert (stats.rendered, stats.rejected, stats.duplicates) == (1, 1, 0)


def test_microsite_links_the_pdf_only_when_it_is_rendered(tmp_path: Path, settings: Settings) -> None:
    data = tmp_path / "r.csv"
    _sample_csv(data, 2)
    out = tmp_path / "out"
    run_settings = settings.model_copy(update={"storage_url": str(out), "workers": 1})
    run_campaign(CampaignSpec("bill-summary", data, ("microsite",), "site", out / "rep1"), run_settings)
    run_campaign(CampaignSpec("bill-summary", data, ("microsite", "pdf"), "both", out / "rep2"), run_settings)
    alone = (out / "bill-summary/site/C-0000001/index.html").read_text(encoding="utf-8")
    both = (out / "bill-summary/both/C-0000001/index.html").read_text(encoding="utf-8")
    assert 'href="bill.pdf"' not in alone
    assert 'href="bill.pdf"' in both and (out / "bill-summary/both/C-0000001/bill.pdf").exists()


@pytest.mark.parametrize("workers", ["1", "2"])
def test_a_campaign_started_from_a_template_folder_renders_that_folder(tmp_path: Path, workers: str) -> None:
    # a copy outside TAILOR_TEMPLATES_DIR with a visible change: workers must render the copy, not
    # the template of the same name in templates/
    import shutil

    copy = tmp_path / "designs" / "bill-summary"
    shutil.copytree(PROJECT_ROOT / "templates" / "bill-summary", copy)
    page = copy / "microsite" / "index.html"
    page.write_text(page.read_text().replace("<h1 ", '<h1 title="FOLDER-COPY" ', 1))
    data = tmp_path / "r.jsonl"
    _sample_csv(data, 4)
    out = tmp_path / "out"
    result = _tailor(
        "campaign", str(copy), str(data), "--out", str(out), "--outputs", "microsite", "--workers", workers
    )
    assert result.returncode == 0, result.stderr
    pages = list((out / "bill-summary" / "r").glob("*/index.html"))
    assert len(pages) == 4
    assert all("FOLDER-COPY" in p.read_text() for p in pages)
