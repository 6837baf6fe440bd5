"""Test and learn: the cost of deciding and of reporting, one phase each (``--phases``).

report: a temp SQLite job store seeded with ``--events`` engagement events (default 1,000,000;
bulk inserted through SQLAlchemy core executemany, with the store's indexes in place) of
``--recipients`` recipients (default 100,000) over four variant keys, and one decision per
recipient (most of them rendered); then `EventStore.reach_by_variant` and
`DecisionStore.tallies` of that campaign are timed, the median of ``--repeat`` runs printed. The
issue asks the report to answer in under 2 s over 1,000,000 events on SQLite.

Each phase is a function of the parsed arguments in `PHASES` that prints its own lines and
returns its measurements (name -> seconds); add one there and it can be asked for by name.

render: bill-summary with a 20-trigger library (its three shipped triggers and 17 more over its
names, a quarter of them capped) and its headline experiment renders ``--render-rows`` synthetic
recipients' microsites into memory in blocks of 250, each block twice, in alternating order: once
replaying decisions taken beforehand (the same pages, nothing decided) and once deciding them; a
run's overhead is the median of the blocks' ratios (robust to bursts of noise on a shared
machine), and the median of ``--repeat`` runs is printed. The issue asks deciding to add under 5%.

    .venv/bin/python -m bench.decisions --phases report,render --events 1000000
"""

from __future__ import annotations

import argparse
import random
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import insert

import renderer.outputs.render as render_module
from renderer.data.synthetic import synthetic_rows
from renderer.decisions.decide import NO_DECISION, decide
from renderer.engagement.campaign_experiments import campaign_tallies
from renderer.engagement.experiments import ExperimentDesign, ExperimentReport, experiment_report
from renderer.jobs.schema import EngagementEvent, RenderDecision
from renderer.jobs.store import JobStore, open_store
from renderer.outputs.decided import default_inputs, resolve_decided
from renderer.outputs.load import load_template
from renderer.outputs.render import render_recipient
from renderer.outputs.template import Template
from renderer.settings import PROJECT_ROOT, load_settings
from renderer.storage import MemoryStorage
from renderer.template.resolve import resolve

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
            whole = _median(args.repeat, lambda: _whole_report(store))
            for key, counts in sorted(store.events.reach_by_variant(TEMPLATE, CAMPAIGN).items(), key=str):
                print(f"  {key}: {counts}")
        finally:
            store.close()
    print(f"report: reach_by_variant {reach:.3f} s, tallies {tallies:.3f} s; the whole report (both")
    print(f"        queries and every statistic) {whole:.3f} s (median of {args.repeat}; the issue's bound:")
    print("        2 s over 1,000,000 events)")
    return {"reach_by_variant_s": reach, "tallies_s": tallies, "report_s": whole}


def _whole_report(store: JobStore) -> ExperimentReport:
    """The report `GET /campaigns/{id}/report` answers, on the seeded design (45/45 plain and
    warm, a 5% holdout of the rest, a 5% control group)."""
    design = ExperimentDesign(variants={"plain": 1, "warm": 1}, default="plain", holdout=5 / 95)
    tallies = campaign_tallies(store, TEMPLATE, CAMPAIGN)
    return experiment_report(tallies, {"headline": design}, 0.05, template=TEMPLATE, campaign=CAMPAIGN)


# ---- the render phase: deciding on a microsite render, side by side ------------------------------

LIBRARY_SIZE = 20
# conditions over bill-summary's names, of the kinds a library holds (thresholds, plans, dates)
_CONDITIONS = (
    "amount_due > {n}",
    "kwh_change > 0.{d}",
    "plan == 'basic' and amount_due > {n}",
    "not paperless and period_days > 2{d}",
    "days_overdue > {d}",
    "current_kwh > {n}0 and plan != 'green'",
    "has_previous and change_ratio < -0.{d}",
)


def _library(folder: Path, shipped: list[str]) -> list[str]:
    """Write LIBRARY_SIZE - len(shipped) extra triggers beside copies of the shipped ones."""
    folder.mkdir(parents=True)
    for tid in shipped:
        shutil.copy(PROJECT_ROOT / "triggers" / f"{tid}.yaml", folder)
    extra = []
    for number in range(LIBRARY_SIZE - len(shipped)):
        tid = f"bench_{number:02d}"
        condition = _CONDITIONS[number % len(_CONDITIONS)].format(n=40 + 7 * number, d=number % 9 + 1)
        cap = "cap: {times: 1, days: 30}\n" if number % 4 == 0 else ""
        body = f'id: {tid}\nversion: 1\ncondition: "{condition}"\npriority: {number}\n{cap}'
        (folder / f"{tid}.yaml").write_text(body, encoding="utf-8")
        extra.append(tid)
    return extra


def _with_library(scratch: Path) -> Template:
    """bill-summary with a 20-trigger library: its own slots, and one more slot of the extras."""
    settings = load_settings()
    root = scratch / "templates" / "bill-summary"
    shutil.copytree(settings.templates_dir / "bill-summary", root)
    manifest = yaml.safe_load((root / "template.yaml").read_text(encoding="utf-8"))
    section = manifest["decisions"]
    extra = _library(scratch / "triggers", list(section["triggers"]))
    section["triggers"] = [*section["triggers"], *extra]
    section["slots"]["bench_extra"] = {"triggers": extra, "max": 2}
    (root / "template.yaml").write_text(
        yaml.safe_dump(manifest, allow_unicode=True, sort_keys=False), encoding="utf-8"
    )
    return load_template(root, settings.model_copy(update={"triggers_dir": scratch / "triggers"}))


def _blocks(template: Template, rows: list[dict[str, Any]], block: int) -> tuple[list[float], list[float]]:
    """Seconds per block of `block` microsite renders, deciding (B) and replaying the very same
    decisions without deciding (A), the two interleaved block by block."""
    decided = {}
    for row in rows:
        spec, decision = resolve_decided(template, row, default_inputs("bench"))
        decided[spec.recipient_id] = decision.context()
    real = render_module.resolve_decided

    def replay(template: Template, recipient: Any, inputs: Any) -> Any:
        rid = str(recipient[template.manifest.contract.recipient_id])
        fixed = decided[rid]
        return resolve(template, recipient, lambda context, recipient_id: fixed), NO_DECISION

    a, b = [], []
    for number, start in enumerate(range(0, len(rows), block)):
        chunk = rows[start : start + block]
        arms = ((replay, a), (real, b)) if number % 2 == 0 else ((real, b), (replay, a))  # either first
        for arm, times in arms:
            render_module.resolve_decided = arm  # type: ignore[assignment]
            storage = MemoryStorage()
            began = time.perf_counter()
            for row in chunk:
                render_recipient(template, row, ["microsite"], storage, "bench")
            times.append(time.perf_counter() - began)
    render_module.resolve_decided = real  # type: ignore[assignment]
    return a, b


def render_phase(args: argparse.Namespace) -> dict[str, float]:
    """Deciding's share of a microsite render on --recipients recipients, median of --repeat."""
    with tempfile.TemporaryDirectory() as tmp:
        template = _with_library(Path(tmp))
        locales = [str(s["locale"]) for s in template.samples.values()]
        contract = template.manifest.contract
        rows = [template.validator.validate(r) for r in synthetic_rows(contract, locales, args.render_rows)]
        render_recipient(template, rows[0], ["microsite"], MemoryStorage(), "bench")  # warm
        overheads, per_a, per_b = [], [], []
        for _ in range(args.repeat):
            a, b = _blocks(template, rows, 250)
            overheads.append(statistics.median(y / x for x, y in zip(a, b, strict=True)) - 1)
            per_a.append(sum(a) / len(rows) * 1000)
            per_b.append(sum(b) / len(rows) * 1000)
        spec_times = _decide_only(template, rows[:2000])
    overhead = statistics.median(overheads)
    print(
        f"render: {len(rows)} microsites, {LIBRARY_SIZE}-trigger library, {len(template.decisions.triggers)}"
        f" triggers, {len(template.manifest.decisions.experiments)} experiment(s)\n"
        f"  without deciding {statistics.median(per_a):.3f} ms/recipient, deciding"
        f" {statistics.median(per_b):.3f} ms/recipient: +{100 * overhead:.1f}% (median of {args.repeat};"
        f" runs {', '.join(f'{100 * o:+.1f}%' for o in overheads)})\n"
        f"  decide() alone: {spec_times:.1f} us/recipient (target: < 5% of a render)"
    )
    return {"render_overhead": overhead, "decide_us": spec_times}


def _decide_only(template: Template, rows: list[dict[str, Any]]) -> float:
    """Microseconds per recipient of `decide` alone over resolved contexts."""
    specs = [resolve(template, row) for row in rows]
    inputs = default_inputs("bench")
    began = time.perf_counter()
    for spec in specs:
        decide(template.decisions, spec.context, spec.recipient_id, inputs)
    return (time.perf_counter() - began) / len(specs) * 1e6


PHASES: dict[str, Callable[[argparse.Namespace], dict[str, float]]] = {
    "report": report,
    "render": render_phase,
}


def main() -> None:
    """Run the phases asked for, in the order given."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--phases", default="report", help=f"comma-separated, of: {', '.join(PHASES)}")
    parser.add_argument("--events", type=int, default=1_000_000, help="events seeded (report)")
    parser.add_argument("--recipients", type=int, default=100_000, help="recipients seeded (report)")
    parser.add_argument("--render-rows", type=int, default=10_000, help="recipients rendered (render)")
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
