"""`store.campaigns` on SQLite and PostgreSQL: idempotent creation, status moves, progress counts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fixture_store import new_campaign, race

from renderer.jobs.store import JobStore


def test_idempotency_key_race_creates_one_campaign(job_store: JobStore) -> None:
    def create(key: str) -> tuple[Any, bool]:
        return job_store.campaigns.create("bill-summary", ["pdf"], "k", idempotency_key=key)

    for attempt in range(5):
        results = race(2, lambda _, key=f"upload-{attempt}": create(key))
        (first, created_first), (second, created_second) = results
        assert first.id == second.id
        assert sorted([created_first, created_second]) == [False, True]
    again, created = job_store.campaigns.create("bill-summary", ["pdf"], "k", idempotency_key="upload-0")
    assert not created and again.idempotency_key == "upload-0"
    assert job_store.campaigns.create("bill-summary", ["pdf"], "k")[1]  # no key: always new


def test_campaign_terminal_states_stick_until_reopened(job_store: JobStore) -> None:
    campaign = new_campaign(job_store)
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
    campaign = new_campaign(job_store, rows=10)
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


def test_status_counts_over_the_whole_store(job_store: JobStore) -> None:
    assert job_store.campaigns.count_by_status() == {} and job_store.rows.count_by_status() == {}
    first = new_campaign(job_store, rows=3)
    new_campaign(job_store, rows=1)
    assert job_store.campaigns.set_status(first, "running")
    assert job_store.rows.start(first, 1) and job_store.rows.finish(first, 1, {"pdf": "k/1"})
    assert job_store.campaigns.count_by_status() == {"running": 1, "pending": 1}
    assert job_store.rows.count_by_status() == {"done": 1, "pending": 3}
    job = job_store.render_jobs.create("bill-summary", "C000001", ["pdf"])
    job_store.render_jobs.create("bill-summary", "C000002", ["pdf"])
    assert job_store.render_jobs.fail(job.id, "pdf output: timed out")
    assert job_store.render_jobs.count_by_status() == {"failed": 1, "queued": 1}


def test_a_campaign_keeps_its_video_mode_through_a_resume(job_store: JobStore) -> None:
    on_play, _ = job_store.campaigns.create("bill-summary", ["microsite", "video"], "k", video_mode="on-play")
    eager, _ = job_store.campaigns.create("bill-summary", ["microsite", "video"], "k")
    assert (on_play.video_mode, eager.video_mode) == ("on-play", None)
    assert job_store.campaigns.set_status(on_play.id, "cancelled") and job_store.campaigns.reopen(on_play.id)
    reopened = job_store.campaigns.get(on_play.id)
    assert reopened is not None and reopened.video_mode == "on-play"
