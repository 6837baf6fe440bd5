"""Milliseconds to render one recipient's microsite in one process (no pool, no job store, memory
storage): the page's own render cost, which the campaign figures of `bench.pages` include.

Renders every bill-summary sample 50 times per run; prints the median of --repeat runs. To set two
versions side by side, run it against another checkout's package:

    .venv/bin/python -m bench.microsite_render --repeat 5
    git worktree add /tmp/base REV && PYTHONPATH=/tmp/base .venv/bin/python bench/microsite_render.py
"""

from __future__ import annotations

import argparse
import statistics
import time

from renderer.outputs.load import load_template
from renderer.outputs.render import render_recipient
from renderer.settings import load_settings
from renderer.storage import MemoryStorage


def render_ms(repeat: int, copies: int) -> list[float]:
    """Per-recipient milliseconds of each run (one warm-up render first)."""
    template = load_template("bill-summary", load_settings())
    rows = [template.validator.validate(sample) for sample in template.samples.values()] * copies
    storage = MemoryStorage()
    render_recipient(template, rows[0], ["microsite"], storage, "bench")
    runs = []
    for _ in range(repeat):
        started = time.perf_counter()
        for row in rows:
            render_recipient(template, row, ["microsite"], storage, "bench")
        runs.append((time.perf_counter() - started) / len(rows) * 1000)
    return runs


def main() -> None:
    """Print the median and each run."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--copies", type=int, default=50, help="renders of each sample per run")
    args = parser.parse_args()
    runs = render_ms(args.repeat, args.copies)
    print(
        f"microsite render: median {statistics.median(runs):.3f} ms/recipient ({len(runs)} runs: "
        + ", ".join(f"{r:.3f}" for r in runs)
        + ")"
    )


if __name__ == "__main__":
    main()
