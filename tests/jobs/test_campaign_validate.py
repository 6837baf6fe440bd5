"""`tailor campaign --validate-only`: the file is checked against the contract, nothing is rendered."""

from __future__ import annotations

import csv
import io
import subprocess
import sys
from pathlib import Path

import pytest

from renderer.jobs.campaigns import Chunk, DiscardExecutor, chunk_rows, create_campaign, ingest
from renderer.jobs.local import CampaignSpec, validate_campaign
from renderer.jobs.store import open_store
from renderer.outputs.load import load_template
from renderer.settings import PROJECT_ROOT, Settings


def _tailor(*args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "renderer", *args]
    return subprocess.run(command, cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=120)


def _data(tmp_path: Path, *, broken: bool) -> Path:
    """12 synthetic recipients; with `broken`, row 5 has a bad amount and the last row repeats row 3's id."""
    base = tmp_path / "base.csv"
    made = _tailor("sample-data", "bill-summary", "--rows", "12", "--seed", "3", "--out", str(base))
    assert made.returncode == 0, made.stderr
    lines = base.read_text(encoding="utf-8").splitlines(keepends=True)
    if broken:
        header = next(csv.reader([lines[0]]))
        values = next(csv.reader([lines[4]]))
        values[header.index("previous_amount")] = "lots"
        bad = io.StringIO()
        csv.writer(bad, lineterminator="\n").writerow(values)
        lines = [*lines[:4], bad.getvalue(), *lines[5:], lines[2]]
    data = tmp_path / "recipients.csv"
    data.write_text("".join(lines), encoding="utf-8")
    return data


def _rendered(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if p.is_file() and p.name != "validation-rejects.csv"]


def test_validation_counts_rows_writes_rejects_and_renders_nothing(
    tmp_path: Path, settings: Settings
) -> None:
    data = _data(tmp_path, broken=True)
    out = tmp_path / "out"
    store = tmp_path / "real-jobs.db"
    run_settings = settings.model_copy(
        update={"storage_url": str(out), "database_url": f"sqlite:///{store}", "chunk_size": 4}
    )
    report_dir = out / "bill-summary" / "v1" / "_campaign"
    spec = CampaignSpec("bill-summary", data, ("microsite", "pdf"), "v1", report_dir)

    stats = validate_campaign(spec, run_settings)

    assert (stats.rows, stats.valid, stats.rejected, stats.duplicates) == (13, 11, 2, 1)
    assert (stats.rendered, stats.failed) == (0, 0)
    with (report_dir / "validation-rejects.csv").open(encoding="utf-8") as handle:
        rejects = list(csv.DictReader(handle))
    assert [(int(r["row"]), r["field"]) for r in rejects] == [(5, "previous_amount"), (14, "customer_id")]
    assert "valid decimal" in rejects[0]["reason"]
    assert rejects[1]["reason"] == "duplicate recipient id (first at row 3)"
    assert all(r["recipient_id"].startswith("C-") for r in rejects), "customer_id is not personal"
    assert "lots" not in (report_dir / "validation-rejects.csv").read_text(encoding="utf-8")
    assert _rendered(out) == [], "validation renders and stores nothing"
    assert not store.exists(), "the configured job store is not touched"


def test_discard_executor_counts_and_drops_chunks() -> None:
    executor = DiscardExecutor()
    executor.submit("c", [(2, {"a": "1"}), (3, {"a": "2"})])
    executor.submit("c", [(4, {"a": "3"})])
    executor.drain()
    executor.close()
    assert (executor.chunks, executor.rows) == (2, 3)


@pytest.mark.slow
@pytest.mark.parametrize(("broken", "code"), [(True, 1), (False, 0)])
def test_cli_validate_only_prints_counts_and_exits_1_on_rejects(
    tmp_path: Path, broken: bool, code: int
) -> None:
    data = _data(tmp_path, broken=broken)
    out = tmp_path / "out"

    result = _tailor("campaign", "bill-summary", str(data), "--out", str(out), "--validate-only")

    assert result.returncode == code, result.stdout + result.stderr
    if broken:
        assert "13 rows: 11 valid, 2 rejected (1 duplicate recipient ids)" in result.stdout
    else:
        assert "12 rows: 12 valid, 0 rejected (0 duplicate recipient ids)" in result.stdout
    rejects = out / "bill-summary" / "recipients" / "_campaign" / "validation-rejects.csv"
    assert str(rejects) in result.stdout
    assert len(rejects.read_text(encoding="utf-8").splitlines()) == (3 if broken else 1)
    assert _rendered(out) == [], "no outputs, no job store beside them"


def test_a_personal_recipient_id_is_left_out_of_rejects(tmp_path: Path, settings: Settings) -> None:
    import shutil

    template = tmp_path / "t" / "bill-summary"  # the folder name is the manifest's name
    shutil.copytree(PROJECT_ROOT / "templates" / "bill-summary", template)
    manifest = template / "template.yaml"
    text = manifest.read_text(encoding="utf-8")
    marked = text.replace("      max_length: 40\n", "      max_length: 40\n      personal: true\n", 1)
    assert marked != text
    manifest.write_text(marked, encoding="utf-8")
    spec = CampaignSpec(str(template), _data(tmp_path, broken=True), ("microsite",), "v4", tmp_path / "rep")
    assert validate_campaign(spec, settings).rejected == 2
    with (tmp_path / "rep" / "validation-rejects.csv").open(encoding="utf-8") as handle:
        assert [r["recipient_id"] for r in csv.DictReader(handle)] == ["", ""]


@pytest.mark.parametrize(
    ("outputs", "chunk_size", "rows"),
    [
        (("microsite",), 64, 64),
        (("microsite", "pdf"), 64, 8),
        (("pdf",), 4, 4),
        (("microsite", "video"), 64, 1),
    ],
)
def test_slow_outputs_go_to_workers_in_short_chunks(
    settings: Settings, outputs: tuple[str, ...], chunk_size: int, rows: int
) -> None:
    """A PDF takes ~0.1 s and a video seconds: their chunks are short, so the campaign's last
    chunks end together on every worker (a 64-row PDF chunk left one worker rendering alone)."""
    assert chunk_rows(outputs, settings.model_copy(update={"chunk_size": chunk_size})) == rows


def test_the_first_chunk_is_handed_out_before_the_first_batch_is_read(
    tmp_path: Path, settings: Settings
) -> None:
    """The ingest records and submits the file's first chunk before it validates a whole batch
    of rows, so the workers start while the rest is read; every later chunk is full."""
    data = _data(tmp_path, broken=False)
    template = load_template("bill-summary", settings)
    store = open_store(f"sqlite:///{tmp_path / 'j.db'}")
    sizes: list[tuple[int, int]] = []  # (rows in the chunk, rows recorded when it was submitted)

    class Recording(DiscardExecutor):
        def submit(self, campaign_id: str, chunk: Chunk) -> None:
            sizes.append((len(chunk), recorded()))
            super().submit(campaign_id, chunk)

    def recorded() -> int:
        return store.rows.count_by_status().get("pending", 0)

    campaign, _ = create_campaign(store, template, ["microsite"], "file:///r.csv")
    run_settings = settings.model_copy(update={"chunk_size": 5})
    try:
        ingest(store, campaign, template, data, Recording(), run_settings)
    finally:
        store.close()
    assert sizes == [(5, 5), (5, 12), (2, 12)]  # the first chunk with only its own rows recorded
