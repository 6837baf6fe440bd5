"""`store.rows` on SQLite and PostgreSQL: adding rows and rejects, the row state machine, paging."""

from __future__ import annotations

import time
import tracemalloc
from collections.abc import Callable
from typing import Any

import pytest
from fixture_store import new_campaign
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from renderer.jobs.store import JobStore, Write
from renderer.jobs.store.rows import Finished, Step


def test_adding_rows_and_rejects_twice_is_harmless(job_store: JobStore) -> None:
    campaign = new_campaign(job_store, rows=50)
    job_store.rows.start(campaign, 7)
    job_store.rows.finish(campaign, 7, {"microsite": "m/7/index.html"})
    job_store.rows.add(campaign, ((n, f"C{n:06d}") for n in range(1, 61)))  # a crash replay, and more
    job_store.rows.add(campaign, [(99, "C000001")])  # a recipient id already there: skipped
    rejects = [(3, "email", "not an email address"), (3, "amount", "not a number"), (9, "(row)", "too few")]
    job_store.rows.add_rejects(campaign, rejects)
    job_store.rows.add_rejects(campaign, rejects)
    results = list(job_store.rows.results(campaign, page_size=7))
    assert [r.row for r in results] == list(range(1, 61))
    assert results[6].status == "done" and results[6].outputs == {"microsite": "m/7/index.html"}
    assert [(r.row, r.field) for r in job_store.rows.rejects(campaign, page_size=2)] == [
        (3, "amount"),
        (3, "email"),
        (9, "(row)"),
    ]


def test_row_status_never_goes_backwards(job_store: JobStore) -> None:
    campaign = new_campaign(job_store, rows=3)
    assert job_store.rows.mark(campaign, [1, 2], "queued") == 2
    assert job_store.rows.start(campaign, 1)
    assert job_store.rows.start(campaign, 1)  # redelivered after a worker died: starts again
    assert job_store.rows.finish(campaign, 1, {"pdf": "first"})
    # a redelivered task finishing later, or failing, changes nothing
    assert not job_store.rows.finish(campaign, 1, {"pdf": "second"})
    assert not job_store.rows.start(campaign, 1)
    assert job_store.rows.fail(campaign, 1, "pdf output: boom", max_attempts=3) == "done"
    assert job_store.rows.mark(campaign, [1], "queued") == 0
    assert job_store.rows.requeue_failed(campaign, max_attempts=3) == 0
    row = next(r for r in job_store.rows.results(campaign) if r.row == 1)
    assert (row.status, row.outputs, row.error) == ("done", {"pdf": "first"}, None)
    assert job_store.rows.fail(campaign, 2, "pdf output: boom", max_attempts=3) == "failed"
    assert not job_store.rows.start(campaign, 2)  # failed rows wait for requeue_failed
    assert not job_store.rows.finish(campaign, 2, {"pdf": "late"})
    with pytest.raises(ValueError):
        job_store.rows.mark(campaign, [3], "pending")
    with pytest.raises(KeyError):
        job_store.rows.fail(campaign, 404, "x", max_attempts=3)


def test_rows_are_quarantined_after_max_attempts(job_store: JobStore) -> None:
    campaign = new_campaign(job_store, rows=2)
    for _ in range(2):
        assert job_store.rows.start(campaign, 1)
        assert job_store.rows.fail(campaign, 1, "video output: ffmpeg failed", max_attempts=3) == "failed"
        assert job_store.rows.requeue_failed(campaign, max_attempts=3) == 1
    assert job_store.rows.start(campaign, 1)
    assert job_store.rows.fail(campaign, 1, "video output: ffmpeg failed", max_attempts=3) == "quarantined"
    assert job_store.rows.requeue_failed(campaign, max_attempts=3) == 0
    # a failed row whose attempts are spent is quarantined by resume rather than requeued
    job_store.rows.start(campaign, 2)
    job_store.rows.fail(campaign, 2, "pdf output: boom", max_attempts=5)
    assert job_store.rows.requeue_failed(campaign, max_attempts=1) == 0
    statuses = {r.row: (r.status, r.error) for r in job_store.rows.results(campaign)}
    assert statuses == {
        1: ("quarantined", "video output: ffmpeg failed"),
        2: ("quarantined", "pdf output: boom"),
    }
    assert list(job_store.rows.to_render(campaign)) == []


def test_rows_to_render_after_a_crash_are_exactly_the_missing_ones(job_store: JobStore) -> None:
    campaign = new_campaign(job_store, rows=500)
    done = set(range(1, 301)) - {17, 250}
    for row in sorted(done):
        job_store.rows.start(campaign, row)
        job_store.rows.finish(campaign, row, {"microsite": f"m/{row}"})
    for row in (301, 302, 303):  # the worker died mid-render
        job_store.rows.start(campaign, row)
    job_store.rows.start(campaign, 17)
    job_store.rows.fail(campaign, 17, "pdf output: boom", max_attempts=3)  # retryable
    job_store.rows.fail(campaign, 250, "pdf output: boom", max_attempts=1)  # quarantined
    job_store.rows.requeue_failed(campaign, max_attempts=3)
    missing = [17, *range(301, 501)]
    assert list(job_store.rows.to_render(campaign, page_size=64)) == missing
    assert list(job_store.rows.done(campaign, page_size=64)) == sorted(done)
    assert all(job_store.rows.start(campaign, row) for row in missing)


def _peak_memory(work: Callable[[], Any]) -> tuple[Any, float]:
    """Run `work` under tracemalloc; returns its result and the peak in MiB."""
    tracemalloc.start()
    try:
        result = work()
        return result, tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()


@pytest.mark.slow
def test_100k_rows_in_batches_quickly_with_flat_memory(job_store: JobStore) -> None:
    count = 100_000
    campaign = new_campaign(job_store, rows=10)  # also warms the statement cache
    started = time.perf_counter()
    job_store.rows.add(campaign, ((n, f"C{n:07d}") for n in range(11, count + 1)))
    added = time.perf_counter() - started
    assert added < 20, f"adding {count} rows took {added:.1f}s"
    job_store.rows.mark(campaign, range(1, count + 1, 2), "queued")
    # 100k records held at once would take well over 20 MiB; a page of 1000 well under 1
    to_render, peak = _peak_memory(lambda: sum(1 for _ in job_store.rows.to_render(campaign)))
    assert to_render == count and peak < 3, f"rows.to_render peaked at {peak:.1f} MiB"
    results, peak = _peak_memory(lambda: sum(1 for _ in job_store.rows.results(campaign)))
    assert results == count and peak < 3, f"rows.results peaked at {peak:.1f} MiB"
    counts = job_store.campaigns.counts(campaign)
    assert counts is not None and (counts["rows"], counts["pending"]) == (count, count)
    # adding streams its input too (20k rows under tracemalloc, which slows SQLAlchemy ~5x)
    other = new_campaign(job_store)
    _, peak = _peak_memory(lambda: job_store.rows.add(other, ((n, f"C{n:07d}") for n in range(20_000))))
    assert peak < 3, f"rows.add peaked at {peak:.1f} MiB"


def test_step_records_the_rendered_row_with_its_writes_and_begins_the_next_in_one_commit(
    job_store: JobStore,
) -> None:
    campaign = new_campaign(job_store, rows=3)
    decision = job_store.decisions.record_statement("bill-summary", campaign, "C000001", None, {"v": 1})
    assert job_store.rows.step(campaign, 1) == Step(finished=False, attempts=1)
    rendered = Finished(1, {"microsite": "m/1/index.html"}, (decision,))
    assert job_store.rows.step(campaign, 2, after=rendered) == Step(True, 1)
    stored = job_store.decisions.get("bill-summary", campaign, "C000001")
    assert stored is not None and stored.trace == {"v": 1}
    # a redelivered chunk: the row is done already, so neither it nor its writes change again
    again = job_store.decisions.record_statement("bill-summary", campaign, "C000001", None, {"v": 2})
    assert job_store.rows.step(campaign, 2, after=Finished(1, {"microsite": "x"}, (again,))) == Step(False, 2)
    stored = job_store.decisions.get("bill-summary", campaign, "C000001")
    assert stored is not None and stored.trace == {"v": 1}
    assert job_store.campaigns.set_status(campaign, "cancelled")
    # cancelled: the rendered row is still recorded, the next one is not begun
    assert job_store.rows.step(campaign, 3, after=Finished(2, {"microsite": "m/2/index.html"})) == Step(
        True, None
    )
    rows = {r.row: (r.status, r.outputs) for r in job_store.rows.results(campaign)}
    assert rows == {
        1: ("done", {"microsite": "m/1/index.html"}),
        2: ("done", {"microsite": "m/2/index.html"}),
        3: ("pending", None),
    }


def test_a_step_that_fails_commits_nothing(job_store: JobStore) -> None:
    """The rendered row, its writes and the next row's begin are one transaction: a write that
    fails leaves the rendered row open (a redelivery renders it again) and the next unbegun."""
    campaign = new_campaign(job_store, rows=2)
    job_store.rows.step(campaign, 1)
    broken = Write(text("INSERT INTO no_such_table VALUES (1)"), {})
    with pytest.raises(DBAPIError):
        job_store.rows.step(campaign, 2, after=Finished(1, {"microsite": "m/1/index.html"}, (broken,)))
    rows = {r.row: (r.status, r.outputs) for r in job_store.rows.results(campaign)}
    assert rows == {1: ("rendering", None), 2: ("pending", None)}
    assert job_store.rows.begin(campaign, 2) == 1  # not counted by the failed step
