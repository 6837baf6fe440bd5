"""`store.decisions` and `store.events.reach_by_variant` on SQLite and PostgreSQL: a decision per
recipient replaced by a re-render, render seconds, tallies and per-variant reach counted in SQL
equal to what is counted by hand, erasure and retention take decisions with the rest."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import update

from renderer.jobs.render_jobs import api_campaign
from renderer.jobs.retention import purge_retention
from renderer.jobs.schema import Campaign, DecisionTally, EventRecord
from renderer.jobs.store import JobStore
from renderer.jobs.store.events import REACH
from renderer.storage import MemoryStorage

T = "bill-summary"
NOW = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)
TRACE: dict[str, Any] = {
    "version": 1,
    "at": "2026-12-02",
    "control_group": False,
    "triggers": [{"id": "usage_up", "version": 2, "fired": True, "reason": "condition"}],
    "slots": {"offer": {"winners": ["usage_up"], "candidates": ["usage_up"], "dropped": []}},
    "experiments": {"headline": {"arm": "warm", "variant": "warm", "seed": "s-1", "holdout": 0.1}},
    "variant_key": "headline=warm",
}


def test_a_decision_is_stored_read_back_and_replaced_by_a_rerender(job_store: JobStore) -> None:
    decisions = job_store.decisions
    assert decisions.get(T, "spring", "C-1") is None and decisions.variant_key(T, "spring", "C-1") is None
    decisions.record(T, "spring", "C-1", "headline=warm", TRACE, NOW)
    assert not decisions.rendered(T, "spring", "C-404", 1.0)  # nothing decided: nothing set
    assert decisions.rendered(T, "spring", "C-1", 0.25)
    found = decisions.get(T, "spring", "C-1")
    assert found is not None
    assert (found.variant_key, found.trace, found.render_seconds, found.decided_at) == (
        "headline=warm", TRACE, 0.25, NOW
    )  # fmt: skip
    assert decisions.variant_key(T, "spring", "C-1") == "headline=warm"
    assert decisions.variant_key(T, "autumn", "C-1") is None  # another campaign decided nothing
    later = NOW + timedelta(hours=1)
    long_key = ";".join(f"exp_{n:02d}=variant_{n:02d}" for n in range(12))  # past 64 characters
    decisions.record(T, "spring", "C-1", long_key, {**TRACE, "variant_key": long_key}, later)
    again = decisions.get(T, "spring", "C-1")
    assert again is not None
    assert (again.variant_key, again.trace["variant_key"], again.render_seconds, again.decided_at) == (
        long_key, long_key, None, later
    )  # fmt: skip
    decisions.record(T, "spring", "C-2", None, {"version": 1, "variant_key": None})  # no experiment
    assert decisions.variant_key(T, "spring", "C-2") is None
    got = decisions.get(T, "spring", "C-2")
    assert got is not None and got.variant_key is None and got.decided_at.tzinfo is UTC


def test_tallies_count_recipients_renders_and_seconds_per_variant(job_store: JobStore) -> None:
    keys = ["headline=plain", "headline=warm", "headline=holdout", None]
    expected: dict[str | None, list[float]] = defaultdict(lambda: [0, 0, 0.0])
    for n in range(40):
        key = keys[n % 4]
        job_store.decisions.record(T, "spring", f"C-{n:03d}", key, TRACE, NOW)
        expected[key][0] += 1
        if n % 3:
            job_store.decisions.rendered(T, "spring", f"C-{n:03d}", 0.5 + n / 100)
            expected[key][1] += 1
            expected[key][2] += 0.5 + n / 100
    job_store.decisions.record(T, "autumn", "C-000", "headline=warm", TRACE, NOW)  # another campaign
    job_store.decisions.record(T, "spring", "C-001", "headline=plain", TRACE, NOW)  # re-render: unrendered
    warm = expected["headline=warm"]
    expected["headline=warm"] = [warm[0] - 1, warm[1] - 1, warm[2] - 0.51]  # C-001 was rendered
    expected["headline=plain"][0] += 1
    tallies = job_store.decisions.tallies(T, "spring")
    assert set(tallies) == set(expected)
    for key, (recipients, rendered, seconds) in expected.items():
        tally = tallies[key]
        assert (tally.recipients, tally.rendered) == (recipients, rendered), key
        assert abs(tally.render_seconds - seconds) < 1e-9, key
    assert job_store.decisions.tallies(T, "autumn") == {"headline=warm": DecisionTally(1, 0, 0.0)}
    assert job_store.decisions.tallies(T, "winter") == {}


def _event(
    campaign: str, recipient: str, n: int, kind: str, variant: str | None, **fields: Any
) -> EventRecord:
    values: dict[str, Any] = {
        "template": T, "campaign": campaign, "recipient_id": recipient, "event_id": f"ev-{n:05d}",
        "view": "view-1", "kind": kind, "scene": None, "target": None, "value": None,
        "position": None, "variant": variant, "occurred_at": NOW, "received_at": NOW,
    }  # fmt: skip
    values.update(fields)
    return EventRecord(**values)


def _seeded() -> list[EventRecord]:
    """A fixed set of events: several per recipient and kind, progress at every quartile,
    kinds the reach ignores, three variant keys and none."""
    kinds = ["page_view", "video_play", "cta_shown", "cta_click", "video_pause", "form_submit"]
    keys = ["headline=plain", "headline=warm", "headline=holdout", None]
    events, n = [], 0
    for recipient in range(30):
        key = keys[recipient % 4]
        for step in range(recipient % 7 + 1):
            kind = kinds[(recipient + step) % len(kinds)]
            target = "pay-now" if kind.startswith("cta") else "preferences" if kind == "form_submit" else None
            events.append(_event("spring", f"C-{recipient:02d}", n, kind, key, target=target))
            n += 1
        for quartile in (25, 50, 75, 100)[: recipient % 5]:
            events.append(
                _event("spring", f"C-{recipient:02d}", n, "video_progress", key, value=float(quartile))
            )
            n += 1
        events.append(_event("spring", f"C-{recipient:02d}", n, "page_view", key))  # a second visit
        n += 1
    return events


def _by_hand(events: list[EventRecord]) -> dict[str | None, dict[str, int]]:
    seen: dict[str | None, dict[str, set[str]]] = defaultdict(lambda: {metric: set() for metric in REACH})
    for event in events:
        for metric, kind in REACH.items():
            completes = metric != "video_completions" or event.value == 100
            if event.kind == kind and completes:
                seen[event.variant][metric].add(event.recipient_id)
    return {key: {metric: len(ids) for metric, ids in metrics.items()} for key, metrics in seen.items()}


def test_reach_by_variant_equals_the_hand_count(job_store: JobStore) -> None:
    events = _seeded()
    assert job_store.events.add(events) == len(events)
    job_store.events.add([_event("autumn", "C-00", 9999, "page_view", "headline=warm")])  # not counted
    job_store.events.add([_event("spring", "C-99", 9998, "video_progress", "headline=warm", value=75.0)])
    reach = job_store.events.reach_by_variant(T, "spring")
    assert reach == _by_hand(events)
    assert reach["headline=plain"]["video_completions"] > 0 and reach[None]["page_views"] > 0
    assert job_store.events.reach_by_variant(T, "winter") == {}


def test_erasure_and_retention_take_decisions(job_store: JobStore) -> None:
    _, key = job_store.keys.create("mine")
    own, _ = job_store.campaigns.create(T, ["microsite"], "u/a.csv", api_key_id=key.id)
    other, _ = job_store.campaigns.create(T, ["microsite"], "u/b.csv")
    for campaign in (own.id, other.id, api_campaign(key.id)):
        job_store.decisions.record(T, campaign, "C-1", "headline=warm", TRACE, NOW)
        job_store.decisions.record(T, campaign, "C-2", "headline=plain", TRACE, NOW)
    job_store.erasure.erase_recipient("C-1", api_key_id=key.id, api_campaign=api_campaign(key.id))
    assert job_store.decisions.get(T, own.id, "C-1") is None
    assert job_store.decisions.get(T, api_campaign(key.id), "C-1") is None
    assert job_store.decisions.get(T, other.id, "C-1") is not None  # not the key's campaign
    job_store.erasure.erase_recipient("C-1")
    assert job_store.decisions.get(T, other.id, "C-1") is None
    assert job_store.decisions.get(T, own.id, "C-2") is not None
    finished = datetime.now(UTC) - timedelta(days=40)
    with job_store.engine.begin() as connection:
        connection.execute(
            update(Campaign).where(Campaign.id == own.id).values(status="done", finished_at=finished)
        )
    purged = purge_retention(job_store, MemoryStorage(), {T: 30}, batch_size=1)
    assert (purged.campaigns, purged.decisions, purged.more) == (1, 1, False)
    assert job_store.decisions.tallies(T, own.id) == {}
    assert job_store.decisions.tallies(T, other.id) == {"headline=plain": DecisionTally(1, 0, 0.0)}
