"""Microsites/s and PDFs/s for a 1,000-recipient bill-summary campaign on this machine.

Runs the real campaign path (streamed CSV -> local process pool -> local storage) into a fresh
folder per run, and, side by side in the same run, a naive baseline: one process that loads the
template and builds a new Jinja environment / WeasyPrint document per recipient, as a first
script would. Prints medians over --repeat runs and the ratios.

    .venv/bin/python -m bench.pages --rows 1000 --repeat 3
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from bench.common import sample_csv
from renderer.jobs.local import CampaignSpec, run_campaign
from renderer.outputs.load import load_template
from renderer.outputs.render import render_recipient
from renderer.settings import load_settings
from renderer.storage import LocalStorage

TARGETS = {"microsite": 1000.0, "pdf": 20.0}


def campaign_rate(data: Path, output: str, workers: int, scratch: Path) -> float:
    """Recipients/s of one whole campaign (start-up included) into a fresh output folder."""
    out = Path(tempfile.mkdtemp(dir=scratch))
    settings = load_settings(
        storage_url=str(out), workers=workers, database_url=f"sqlite:///{out / 'jobs.db'}"
    )
    spec = CampaignSpec("bill-summary", data, (output,), "bench", out / "_reports")
    started = time.perf_counter()
    stats = run_campaign(spec, settings)
    elapsed = time.perf_counter() - started
    assert stats.failed == 0 and stats.rejected == 0, stats
    return stats.rendered / elapsed  # folders are removed at the end: deleting now would slow the next run


def naive_rate(data: Path, output: str, rows: int, scratch: Path) -> float:
    """Recipients/s of the naive loop: reload the template (fresh environments) for every recipient."""
    import csv

    settings = load_settings()
    storage = LocalStorage(Path(tempfile.mkdtemp(dir=scratch)))
    with data.open(encoding="utf-8") as handle:
        recipients = [row for _, row in zip(range(rows), csv.DictReader(handle), strict=False)]
    started = time.perf_counter()
    for raw in recipients:
        template = load_template("bill-summary", settings)
        render_recipient(template, template.validator.validate(raw), [output], storage, "naive")
    return len(recipients) / (time.perf_counter() - started)


def main() -> None:
    """Run the benchmark and print a table of medians and ratios."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--naive-rows", type=int, default=60)
    parser.add_argument("--workers", type=int, default=load_settings().workers)
    parser.add_argument("--outputs", default="microsite,pdf", help="which outputs to measure")
    args = parser.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="tailor-bench-"))
    try:
        data = sample_csv(scratch, args.rows)
        print(f"bill-summary, {args.rows} recipients, {args.workers} workers, median of {args.repeat} runs")
        print(f"{'output':10} {'tailor /s':>10} {'naive /s':>10} {'ratio':>7} {'target /s':>10}")
        for output in args.outputs.split(","):
            fast = [campaign_rate(data, output, args.workers, scratch) for _ in range(args.repeat)]
            naive = [naive_rate(data, output, args.naive_rows, scratch) for _ in range(args.repeat)]
            rate, base = statistics.median(fast), statistics.median(naive)
            verdict = "ok" if rate >= TARGETS[output] else "BELOW"
            runs = ", ".join(f"{r:.0f}" for r in fast)
            ratio = rate / base
            print(
                f"{output:10} {rate:10.1f} {base:10.1f} {ratio:6.1f}x {TARGETS[output]:10.0f}  {verdict}",
                end="",
            )
            print(f"  (runs: {runs})")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
