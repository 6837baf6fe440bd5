"""The group-commit writer on a real job store (SQLite and PostgreSQL): batches from many threads
share transactions, each learns its own count only after the commit, a failed transaction fails
every request in it, and closing stores what was queued."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import pytest
from fixture_store import race

from renderer.engagement.ingest import LinkCache
from renderer.engagement.writer import EventWriter
from renderer.errors import ServiceUnavailable
from renderer.jobs.schema import EventRecord, RecipientLinkRecord
from renderer.jobs.store import JobStore

NOW = datetime.now(UTC)


def record(recipient: str, n: int) -> EventRecord:
    return EventRecord(
        "bill-summary", "spring", recipient, f"event-{n:04d}", "view-0001", "page_view",
        None, None, None, None, None, NOW, NOW,
    )  # fmt: skip


def test_batches_from_many_threads_are_stored_and_counted_each(job_store: JobStore) -> None:
    tokens = [job_store.links.create("bill-summary", "spring", f"C-{n}", ttl_s=3600) for n in range(8)]
    writer = EventWriter(lambda: job_store)
    try:
        results = race(
            8, lambda i: writer.submit(tokens[i], [record(f"C-{i}", n) for n in range(20)]).result(30)
        )
        assert results == [20] * 8
        again = race(
            8, lambda i: writer.submit(tokens[i], [record(f"C-{i}", n) for n in range(19, 21)]).result(30)
        )
        assert again == [1] * 8  # event 19 was stored, event 20 is new
        gone = writer.submit("unknown-token-000000000000", [record("C-0", 99)]).result(30)
        assert gone is None
        assert job_store.events.count("bill-summary", "spring") == 8 * 21
    finally:
        writer.close()


def test_the_same_event_in_two_batches_of_one_transaction_is_new_once(job_store: JobStore) -> None:
    token = job_store.links.create("bill-summary", "spring", "C-1", ttl_s=3600)
    counts = job_store.events.add_batches(
        [(token, [record("C-1", 1), record("C-1", 2)]), (token, [record("C-1", 2)])]
    )
    assert counts == [2, 0]


class Broken:
    """A store whose events cannot be written."""

    class events:  # stands in for store.events
        @staticmethod
        def add_batches(*args: object) -> list[int | None]:
            raise ConnectionError("database down")


def test_a_failed_transaction_fails_every_request_in_it_and_close_refuses_later_ones() -> None:
    writer = EventWriter(lambda: Broken)  # type: ignore[arg-type, return-value]
    with ThreadPoolExecutor(4) as pool:
        futures = [
            pool.submit(lambda: writer.submit("t" * 32, [record("C-1", 1)]).exception(30)) for _ in range(4)
        ]
        assert all(isinstance(f.result(), ConnectionError) for f in futures)
    writer.close()
    with pytest.raises(ServiceUnavailable):
        writer.submit("t" * 32, [record("C-1", 1)])


def test_closing_stores_what_was_queued(job_store: JobStore) -> None:
    token = job_store.links.create("bill-summary", "spring", "C-2", ttl_s=3600)
    writer = EventWriter(lambda: job_store)
    futures = [writer.submit(token, [record("C-2", n)]) for n in range(50)]
    writer.close()
    assert [f.result(0) for f in futures] == [1] * 50


def test_the_link_cache_keeps_live_links_and_a_bounded_number() -> None:
    cache = LinkCache(max_entries=3)
    for n in range(5):
        cache.put(f"token-{n}", RecipientLinkRecord("bill-summary", "spring", f"C-{n}", NOW, NOW))
    assert cache.get("token-0", NOW) is None and cache.get("token-4", NOW) is None  # evicted; expired at NOW
    assert cache.get("token-4", datetime(2000, 1, 1, tzinfo=UTC)) is not None
    cache.forget("token-4")
    assert cache.get("token-4", datetime(2000, 1, 1, tzinfo=UTC)) is None


def test_a_cancelled_request_neither_stops_the_writer_nor_is_stored(job_store: JobStore) -> None:
    """A request cancelled while it waits (a client gone, a forced shutdown) cancels its future:
    the writer leaves that batch out and goes on serving the others."""
    token = job_store.links.create("bill-summary", "spring", "C-1", ttl_s=3600)
    writer = EventWriter(lambda: job_store)
    gate = threading.Event()
    real_store = writer.store
    writer.store = lambda: (gate.wait(10), real_store())[1]  # hold the first commit until released
    try:
        first = writer.submit(token, [record("C-1", 1)])
        time.sleep(0.2)  # the writer has taken `first` and waits at the gate
        cancelled = writer.submit(token, [record("C-1", 2)])
        assert cancelled.cancel()
        gate.set()
        assert first.result(30) == 1
        assert writer.submit(token, [record("C-1", 3)]).result(30) == 1  # still serving
        assert job_store.events.count("bill-summary", "spring") == 2  # events 1 and 3
    finally:
        gate.set()
        writer.close()
