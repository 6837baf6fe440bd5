"""What tagged, accessible PDFs (PDF/UA-1) cost: bill PDFs/s untagged vs tagged, side by side.

Renders the bill-summary samples in one process, alternating the two variants round by round so
machine noise falls on both, and prints the median per-PDF time of each and their ratio.

    .venv/bin/python -m bench.pdf_tagging --rounds 7 --per-round 12
"""

from __future__ import annotations

import argparse
import statistics
import time

from renderer.outputs import document
from renderer.outputs.load import load_template
from renderer.outputs.pdf import PDF
from renderer.outputs.render import prepared_output
from renderer.outputs.template import Template
from renderer.settings import load_settings
from renderer.template.resolve import resolve


def seconds_per_pdf(variant: str | None, specs: list, template: Template, count: int) -> float:
    """Mean seconds per PDF over `count` renders with `variant` (None: untagged)."""
    document.PDF_VARIANT = variant  # type: ignore[assignment]
    prepared = prepared_output(template, PDF)
    started = time.perf_counter()
    for index in range(count):
        document.render_pdf(prepared, specs[index % len(specs)])
    return (time.perf_counter() - started) / count


def main() -> None:
    """Print the median seconds per PDF, untagged and PDF/UA-1, and the ratio."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--per-round", type=int, default=12)
    args = parser.parse_args()
    template = load_template("bill-summary", load_settings())
    specs = [resolve(template, template.validator.validate(raw)) for raw in template.samples.values()]
    for variant in (None, "pdf/ua-1"):  # warm fonts and caches for both
        seconds_per_pdf(variant, specs, template, len(specs))
    times: dict[str, list[float]] = {"untagged": [], "pdf/ua-1": []}
    for _ in range(args.rounds):
        times["untagged"].append(seconds_per_pdf(None, specs, template, args.per_round))
        times["pdf/ua-1"].append(seconds_per_pdf("pdf/ua-1", specs, template, args.per_round))
    plain, tagged = (statistics.median(times[name]) for name in ("untagged", "pdf/ua-1"))
    print(f"untagged  {plain * 1000:7.1f} ms/PDF  ({1 / plain:5.1f} PDFs/s, one process)")
    print(f"pdf/ua-1  {tagged * 1000:7.1f} ms/PDF  ({1 / tagged:5.1f} PDFs/s, one process)")
    print(f"tagged / untagged: {tagged / plain:.3f}x (median of {args.rounds} rounds)")


if __name__ == "__main__":
    main()
