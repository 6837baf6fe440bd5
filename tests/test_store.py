"""The job store on real SQLite and (when installed) real PostgreSQL: schema, state machine, races."""

from __future__ import annotations

import hashlib
import subprocess
import sys
import threading
import time
import tracemalloc
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import select, text

from renderer.jobs.schema import ApiKey, Base, CampaignRow, RecipientLink
from renderer.jobs.store import JobStore, open_store
from renderer.settings import PROJECT_ROOT


def _campaign(store: JobStore, rows: int = 0) -> str:
    campaign, _ = store.campaigns.create("bill-summary", ["microsite", "pdf"], "uploads/data.csv")
    store.rows.add(campaign.id, ((n, f"C{n:06d}") for n in range(1, rows + 1)))
    return campaign.id


def _race(count: int, work: Callable[[int], Any]) -> list[Any]:
    """Run `work(i)` in `count` threads released together; returns results in thread order."""
    barrier = threading.Barrier(count)
    results: list[Any] = [None] * count
    errors: list[BaseException] = []

    def run(index: int) -> None:
        barrier.wait()
        try:
            results[index] = work(index)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    return results


# ---- schema and migrations ---------------------------------------------------------------------


def test_alembic_upgrade_head_builds_exactly_the_models(job_store: JobStore) -> None:
    with job_store.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, Base.metadata) == []
        assert context.get_current_revision() == "0003"


def test_open_store_concurrently_on_an_empty_database(job_store_url: str) -> None:
    stores = _race(3, lambda _: open_store(job_store_url))
    try:
        campaign = _campaign(stores[0], rows=3)
        assert stores[2].campaigns.get(campaign) is not None
    finally:
        for store in stores:
            store.close()


def test_timestamps_are_timezone_aware_utc(job_store: JobStore) -> None:
    campaign = job_store.campaigns.get(_campaign(job_store))
    assert campaign is not None
    assert campaign.created_at.tzinfo is UTC
    assert abs(datetime.now(UTC) - campaign.created_at) < timedelta(minutes=1)


# ---- campaigns ---------------------------------------------------------------------------------


def test_idempotency_key_race_creates_one_campaign(job_store: JobStore) -> None:
    def create(key: str) -> tuple[Any, bool]:
        return job_store.campaigns.create("bill-summary", ["pdf"], "k", idempotency_key=key)

    for attempt in range(5):
        results = _race(2, lambda _, key=f"upload-{attempt}": create(key))
        (first, created_first), (second, created_second) = results
        assert first.id == second.id
        assert sorted([created_first, created_second]) == [False, True]
    again, created = job_store.campaigns.create("bill-summary", ["pdf"], "k", idempotency_key="upload-0")
    assert not created and again.idempotency_key == "upload-0"
    assert job_store.campaigns.create("bill-summary", ["pdf"], "k")[1]  # no key: always new


def test_campaign_terminal_states_stick_until_reopened(job_store: JobStore) -> None:
    campaign = _campaign(job_store)
    assert job_store.campaigns.set_status(campaign, "running")
    assert not job_store.campaigns.set_status(campaign, "running")
    assert job_store.campaigns.set_status(campaign, "failed", error="worker pool died")
    assert not job_store.campaigns.set_status(campaign, "done")
    failed = job_store.campaigns.get(campaign)
    assert failed is not None and failed.status == "failed" and failed.finished_at is not None
    assert failed.error == "worker pool died"
    assert job_store.campaigns.reopen(campaign)
    reopened = job_store.campaigns.get(campaign)
    assert reopened is not None and reopened.status == "running"
    assert reopened.finished_at is None and reopened.error is None
    assert job_store.campaigns.set_status(campaign, "done")
    assert not job_store.campaigns.reopen(campaign)
    with pytest.raises(ValueError, match="pending"):
        job_store.campaigns.set_status(campaign, "pending")


def test_campaign_counts(job_store: JobStore) -> None:
    campaign = _campaign(job_store, rows=10)
    job_store.rows.add_rejects(campaign, [(11, "email", "not an email address")])
    job_store.campaigns.set_totals(campaign, total=11, rejected=1)
    for row in (1, 2, 3):
        job_store.rows.start(campaign, row)
        job_store.rows.finish(campaign, row, {"microsite": f"m/{row}/index.html"})
    job_store.rows.fail(campaign, 4, "pdf output: timed out", max_attempts=3)
    job_store.rows.fail(campaign, 5, "pdf output: timed out", max_attempts=1)
    job_store.rows.mark(campaign, [6, 7], "queued")
    counts = job_store.campaigns.counts(campaign)
    assert counts is not None
    expected = {
        "total": 11,
        "rejected": 1,
        "rows": 10,
        "done": 3,
        "failed": 1,
        "quarantined": 1,
        "pending": 5,
    }
    assert {key: counts[key] for key in expected} == expected
    assert counts["finished_recent"] == 5
    first, last = counts["first_finished_at"], counts["last_finished_at"]
    assert first is not None and last is not None and first <= last
    later = job_store.campaigns.counts(campaign, recent_s=60, now=datetime.now(UTC) + timedelta(hours=1))
    assert later is not None and later["finished_recent"] == 0
    assert job_store.campaigns.counts("0" * 32) is None


# ---- rows and their state machine --------------------------------------------------------------


def test_adding_rows_and_rejects_twice_is_harmless(job_store: JobStore) -> None:
    campaign = _campaign(job_store, rows=50)
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
    campaign = _campaign(job_store, rows=3)
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
    campaign = _campaign(job_store, rows=2)
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
    campaign = _campaign(job_store, rows=500)
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
    campaign = _campaign(job_store, rows=10)  # also warms the statement cache
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
    other = _campaign(job_store)
    _, peak = _peak_memory(lambda: job_store.rows.add(other, ((n, f"C{n:07d}") for n in range(20_000))))
    assert peak < 3, f"rows.add peaked at {peak:.1f} MiB"


# ---- render jobs -------------------------------------------------------------------------------


def test_render_job_lifecycle_never_goes_backwards(job_store: JobStore) -> None:
    job = job_store.render_jobs.create(
        "bill-summary", "C000001", ["video"], webhook_url="https://example.test/h"
    )
    assert job.status == "queued" and job.outputs == ("video",)
    assert job_store.render_jobs.start(job.id)
    assert job_store.render_jobs.finish(job.id, {"video": "v/C000001/video.mp4"})
    assert not job_store.render_jobs.fail(job.id, "video output: late failure")
    assert not job_store.render_jobs.start(job.id)
    stored = job_store.render_jobs.get(job.id)
    assert stored is not None
    assert (stored.status, stored.result, stored.error) == ("done", {"video": "v/C000001/video.mp4"}, None)
    failed = job_store.render_jobs.create("bill-summary", "C000002", ["pdf"])
    assert job_store.render_jobs.fail(failed.id, "pdf output: timed out")
    assert not job_store.render_jobs.finish(failed.id, {"pdf": "late"})
    assert job_store.render_jobs.get("f" * 32) is None


# ---- api keys, webhooks, links -----------------------------------------------------------------


def test_api_keys_store_only_a_hash(job_store: JobStore) -> None:
    plaintext, record = job_store.keys.create("ci")
    assert plaintext.startswith("tk_") and len(plaintext) > 40
    with job_store.engine.connect() as connection:
        raw = connection.execute(text("SELECT * FROM api_keys")).all()
        stored_hash = connection.execute(select(ApiKey.key_hash)).scalar_one()
    assert len(raw) == 1 and all(plaintext not in str(value) for value in raw[0])
    assert stored_hash == hashlib.sha256(plaintext.encode()).hexdigest()
    assert job_store.keys.verify(plaintext) == record
    assert job_store.keys.verify(plaintext + "x") is None
    assert job_store.keys.revoke(record.id)
    assert not job_store.keys.revoke(record.id)
    assert job_store.keys.verify(plaintext) is None


def test_webhook_outbox(job_store: JobStore) -> None:
    hook = job_store.webhooks.add("https://example.test/hook", "s3cret", ["campaign.done", "render.done"])
    job_store.webhooks.add("https://example.test/other", "s", ["render.failed"])
    assert [h.id for h in job_store.webhooks.subscribed_to("campaign.done")] == [hook.id]
    now = datetime.now(UTC)
    first = job_store.webhooks.enqueue_delivery(
        hook.id, "campaign.done", {"campaign": "abc", "done": 3}, now=now
    )
    second = job_store.webhooks.enqueue_delivery(
        hook.id, "render.done", {"job": "def"}, now=now + timedelta(seconds=1)
    )
    assert [d.id for d in job_store.webhooks.due_deliveries(now + timedelta(seconds=5))] == [
        first.id,
        second.id,
    ]
    assert job_store.webhooks.due_deliveries(now - timedelta(seconds=1)) == []
    retry_at = now + timedelta(minutes=1)
    assert job_store.webhooks.claim_delivery(
        first.id, 60, now=now + timedelta(seconds=5)
    )  # counts the attempt
    assert job_store.webhooks.fail_delivery(first.id, "HTTP 503", retry_at, dead=False)
    assert [d.id for d in job_store.webhooks.due_deliveries(now + timedelta(seconds=5))] == [second.id]
    assert job_store.webhooks.finish_delivery(second.id)
    assert not job_store.webhooks.finish_delivery(second.id)
    (again,) = job_store.webhooks.due_deliveries(retry_at)
    assert (again.id, again.attempts, again.last_error, again.payload) == (
        first.id,
        1,
        "HTTP 503",
        {"campaign": "abc", "done": 3},
    )
    assert job_store.webhooks.fail_delivery(first.id, "HTTP 503", retry_at, dead=True)
    assert job_store.webhooks.due_deliveries(retry_at + timedelta(days=1)) == []


def test_a_delivery_is_claimed_by_one_caller_until_its_lease_ends(job_store: JobStore) -> None:
    hook = job_store.webhooks.add("https://example.test/hook", "s3cret", ["render.completed"])
    now = datetime.now(UTC)
    delivery = job_store.webhooks.enqueue_delivery(hook.id, "render.completed", {"render_id": "r1"}, now=now)
    assert not job_store.webhooks.claim_delivery(
        delivery.id, 60, now=now - timedelta(seconds=1)
    )  # not due yet
    assert _race(8, lambda _: job_store.webhooks.claim_delivery(delivery.id, 60, now=now)).count(True) == 1
    assert job_store.webhooks.due_deliveries(now + timedelta(seconds=59)) == []  # leased
    assert not job_store.webhooks.claim_delivery(delivery.id, 60, now=now + timedelta(seconds=59))
    # the claimer died: once the lease ends the delivery is due and claimable again
    assert [d.id for d in job_store.webhooks.due_deliveries(now + timedelta(seconds=60))] == [delivery.id]
    assert job_store.webhooks.claim_delivery(delivery.id, 60, now=now + timedelta(seconds=60))
    assert job_store.webhooks.finish_delivery(delivery.id)
    assert not job_store.webhooks.claim_delivery(delivery.id, 60, now=now + timedelta(days=1))
    assert not job_store.webhooks.claim_delivery("0" * 32, 60, now=now)


def test_purge_expired_links_deletes_only_long_expired_ones_in_batches(job_store: JobStore) -> None:
    now = datetime.now(UTC)
    old = [
        job_store.links.create("bill-summary", "spring", f"C{n}", ttl_s=60, now=now - timedelta(days=2))
        for n in range(5)
    ]
    recent = job_store.links.create("bill-summary", "spring", "R", ttl_s=60, now=now - timedelta(hours=2))
    live = job_store.links.create("bill-summary", "spring", "L", ttl_s=3600, now=now)
    assert job_store.links.purge_expired(now=now, batch_size=2, max_batches=2) == 4  # bounded
    assert job_store.links.purge_expired(now=now, batch_size=2, max_batches=2) == 1
    assert job_store.links.purge_expired(now=now) == 0
    with job_store.engine.connect() as connection:
        left = set(connection.execute(select(RecipientLink.recipient_id)).scalars())
    assert left == {"R", "L"} and len(old) == 5
    assert job_store.links.resolve(live, now=now) is not None
    assert job_store.links.purge_expired(grace_s=3600, now=now) == 1  # a shorter grace: "R" goes too
    assert job_store.links.resolve(recent, now=now - timedelta(hours=2)) is None


def test_recipient_links_expire_and_store_only_a_hash(job_store: JobStore) -> None:
    now = datetime.now(UTC)
    token = job_store.links.create("bill-summary", "spring", "C000001", ttl_s=3600, now=now)
    assert len(token) == 32  # 24 random bytes, base64url
    link = job_store.links.resolve(token, now=now + timedelta(minutes=59))
    assert link is not None and (link.template, link.campaign, link.recipient_id) == (
        "bill-summary",
        "spring",
        "C000001",
    )
    assert link.expires_at == now + timedelta(hours=1)
    assert job_store.links.resolve(token, now=now + timedelta(minutes=61)) is None
    assert job_store.links.resolve(token[:-1] + ("A" if token[-1] != "A" else "B")) is None
    with job_store.engine.connect() as connection:
        hashes = connection.execute(select(RecipientLink.token_hash)).scalars().all()
    assert hashes == [hashlib.sha256(token.encode()).hexdigest()]


# ---- erasure -----------------------------------------------------------------------------------


def test_erase_recipient_removes_every_row_and_returns_their_keys(job_store: JobStore) -> None:
    spring, autumn = _campaign(job_store, rows=3), _campaign(job_store, rows=3)
    job_store.rows.finish(spring, 2, {"microsite": "s/C000002/index.html", "pdf": "s/C000002/bill.pdf"})
    job_store.rows.finish(autumn, 2, {"microsite": "a/C000002/index.html", "video:poster.jpg": "a/p.jpg"})
    job_store.rows.finish(spring, 3, {"microsite": "s/C000003/index.html"})
    job = job_store.render_jobs.create("bill-summary", "C000002", ["video"])
    job_store.render_jobs.finish(job.id, {"video": "v/C000002/video.mp4"})
    token = job_store.links.create("bill-summary", "spring", "C000002", ttl_s=3600)
    other = job_store.links.create("bill-summary", "spring", "C000003", ttl_s=3600)
    keys = job_store.erasure.erase_recipient("C000002")
    assert keys == sorted(
        [
            "a/C000002/index.html",
            "a/p.jpg",
            "s/C000002/bill.pdf",
            "s/C000002/index.html",
            "v/C000002/video.mp4",
        ]
    )
    with job_store.engine.connect() as connection:
        ids = connection.execute(select(CampaignRow.recipient_id)).scalars().all()
    assert "C000002" not in ids and len(ids) == 4
    assert job_store.render_jobs.get(job.id) is None
    assert job_store.links.resolve(token) is None
    assert job_store.links.resolve(other) is not None
    assert job_store.erasure.erase_recipient("C000002") == []


# ---- several processes on one SQLite file ------------------------------------------------------

WRITER = """
import sys, time
from renderer.jobs.store import open_store
url, index, start = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
time.sleep(max(0.0, start - time.time()))
store = open_store(url)
campaign, _ = store.campaigns.create("bill-summary", ["pdf"], "k", idempotency_key="shared")
store.rows.add(campaign.id, ((n, f"C{n:06d}") for n in range(400)))
for n in range(index, 400, 2):
    assert store.rows.start(campaign.id, n)
    assert store.rows.finish(campaign.id, n, {"pdf": f"k/{n}"})
    store.campaigns.counts(campaign.id)
print(campaign.id)
"""


def test_two_processes_write_one_sqlite_file(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'jobs.db'}"
    start = time.time() + 1.5  # both open (and migrate) the fresh file at the same moment
    writers = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, url, str(index), str(start)],
            cwd=PROJECT_ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for index in range(2)
    ]
    outputs = [writer.communicate(timeout=120) for writer in writers]
    for writer, (_, stderr) in zip(writers, outputs, strict=True):
        assert writer.returncode == 0, stderr[-2000:]
        assert "locked" not in stderr
    campaign_ids = {stdout.strip() for stdout, _ in outputs}
    assert len(campaign_ids) == 1
    store = open_store(url)
    try:
        counts = store.campaigns.counts(campaign_ids.pop())
        assert counts is not None and (counts["rows"], counts["done"]) == (400, 400)
    finally:
        store.close()
