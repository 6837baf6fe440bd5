"""Test and learn: the cost of deciding and of reporting, one phase each (``--phases``).

report: a temp SQLite job store seeded with ``--events`` engagement events (default 1,000,000;
bulk inserted through SQLAlchemy core executemany, with the store's indexes in place) of
``--recipients`` recipients (default 100,000) over four variant keys, and one decision per
recipient (most of them rendered); then `EventStore.reach_by_variant` and
`DecisionStore.tallies` of that campaign are timed, the median of ``--repeat`` runs printed. The
issue asks the report to answer in under 2 s over 1,000,000 events on SQLite.

Each phase is a function of the parsed arguments in `PHASES` that prints its own lines and
returns its measurements (name -> seconds); add one there and it can be asked for by name.

    .venv/bin/python -m bench.decisions --phases report --events 1000000
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import insert

from renderer.jobs.schema import EngagementEvent, RenderDecision
from renderer.jobs.store import JobStore, open_store

TEMPLATE, CAMPAIGN = "bill-summary", "bench-campaign"
VARIANTS = ("headline=plain", "headline=warm", "headline=holdout", "headline=control")
WEIGHTS = (45, 45, 5, 5)
CHUNK = 50_000  # rows per executemany
# one page visit: (kind, value, target); a recipient sends visits until their share is spent
VISIT = (
    ("page_view", None, None),
    ("cta_shown", None, "pay"),
    ("video_play", None, None),
    ("video_progress", 25.0, None),
    ("video_progress", 50.0, None),
    ("video_progress", 75.0, None),
    ("video_progress", 100.0, None),
    ("cta_click", None, "pay"),
    ("form_submit", None, "feedback"),
)


def _variant(recipient: int) -> str:
    return random.Random(recipient).choices(VARIANTS, WEIGHTS)[0]


def _events(total: int, recipients: int, at: datetime) -> Iterator[dict[str, Any]]:
    """`total` events over `recipients`, about `total / recipients` each: a recipient goes
    `depth` steps into `VISIT` (drawn per recipient, so fewer complete the video than play it)
    and repeats those steps until their share is sent."""
    per = max(1, total // recipients)
    depths = [random.Random(f"depth-{recipient}").randint(1, len(VISIT)) for recipient in range(recipients)]
    for number in range(total):
        recipient = min(number // per, recipients - 1)
        step = number - recipient * per
        kind, value, target = VISIT[step % depths[recipient]]
        yield {
            "template": TEMPLATE,
            "campaign": CAMPAIGN,
            "recipient_id": f"C-{recipient:07d}",
            "event_id": f"ev-{number:09d}",
            "view": f"view-{recipient:07d}-{step // depths[recipient]}",
            "kind": kind,
            "scene": None,
            "target": target,
            "value": value,
            "position": None,
            "variant": _variant(recipient),
            "occurred_at": at,
            "received_at": at,
        }


def _decisions(recipients: int, at: datetime) -> Iterator[dict[str, Any]]:
    for recipient in range(recipients):
        yield {
            "template": TEMPLATE,
            "campaign": CAMPAIGN,
            "recipient_id": f"C-{recipient:07d}",
            "variant_key": _variant(recipient),
            "trace": {"version": 1, "variant_key": _variant(recipient)},
            "render_seconds": 0.05 if recipient % 10 else None,
            "decided_at": at,
        }


def _bulk(store: JobStore, model: type, rows: Iterator[dict[str, Any]]) -> int:
    """Insert `rows` into `model`'s table, `CHUNK` per executemany and transaction; how many."""
    done, chunk = 0, []
    for row in rows:
        chunk.append(row)
        if len(chunk) == CHUNK:
            done += _flush(store, model, chunk)
            chunk = []
    return done + (_flush(store, model, chunk) if chunk else 0)


def _flush(store: JobStore, model: type, chunk: list[dict[str, Any]]) -> int:
    with store.engine.begin() as connection:
        connection.execute(insert(model), chunk)
    return len(chunk)


def _median(repeat: int, work: Callable[[], object]) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def report(args: argparse.Namespace) -> dict[str, float]:
    """Seed the events and decisions, then time the two report queries (median of `--repeat`)."""
    with tempfile.TemporaryDirectory(prefix="tailor-bench-decisions-") as scratch:
        store = open_store(f"sqlite:///{Path(scratch) / 'jobs.db'}")
        try:
            at = datetime.now(UTC) - timedelta(days=1)
            start = time.perf_counter()
            events = _bulk(store, EngagementEvent, _events(args.events, args.recipients, at))
            _bulk(store, RenderDecision, _decisions(args.recipients, at))
            seeded = time.perf_counter() - start
            with store.engine.begin() as connection:
                connection.exec_driver_sql("ANALYZE")
            print(f"report: seeded {events:,} events of {args.recipients:,} recipients in {seeded:.1f} s")
            reach = _median(args.repeat, lambda: store.events.reach_by_variant(TEMPLATE, CAMPAIGN))
            tallies = _median(args.repeat, lambda: store.decisions.tallies(TEMPLATE, CAMPAIGN))
            for key, counts in sorted(store.events.reach_by_variant(TEMPLATE, CAMPAIGN).items(), key=str):
                print(f"  {key}: {counts}")
        finally:
            store.close()
    total = reach + tallies
    print(f"report: reach_by_variant {reach:.3f} s, tallies {tallies:.3f} s, together {total:.3f} s")
    print(f"        (median of {args.repeat}; the issue's bound: 2 s over 1,000,000 events)")
    return {"reach_by_variant_s": reach, "tallies_s": tallies, "report_s": total}


PHASES: dict[str, Callable[[argparse.Namespace], dict[str, float]]] = {"report": report}


def main() -> None:
    """Run the phases asked for, in the order given."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--phases", default="report", help=f"comma-separated, of: {', '.join(PHASES)}")
    parser.add_argument("--events", type=int, default=1_000_000, help="events seeded (report)")
    parser.add_argument("--recipients", type=int, default=100_000, help="recipients seeded (report)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per measurement (the median is printed)")
    args = parser.parse_args()
    phases = [name.strip() for name in args.phases.split(",") if name.strip()]
    unknown = [name for name in phases if name not in PHASES]
    if unknown:
        parser.error(f"unknown phase(s): {', '.join(unknown)}; known: {', '.join(PHASES)}")
    for name in phases:
        PHASES[name](args)


if __name__ == "__main__":
    main()
