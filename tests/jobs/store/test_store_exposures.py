"""`store.exposures` on SQLite and PostgreSQL: recorded once per (recipient, trigger, campaign)
however often a render is redelivered, read back in batches without the deciding campaign and
before `since`, erased with the recipient, purged past `exposure_retention_days`."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from renderer.jobs.retention import RetentionTask, purge_retention
from renderer.jobs.store import JobStore
from renderer.jobs.store.exposures import CHUNK
from renderer.storage import MemoryStorage

T = "bill-summary"
NOW = datetime.now(UTC).replace(microsecond=0)


def test_a_redelivered_render_never_counts_twice(job_store: JobStore) -> None:
    exposures = job_store.exposures
    first = NOW - timedelta(days=3)
    assert exposures.record(T, "spring", "C-1", ["usage_up", "late_payment"], first) == 2
    assert exposures.record(T, "spring", "C-1", ["usage_up", "late_payment", "usage_up"], NOW) == 0
    assert exposures.record(T, "spring", "C-1", [], NOW) == 0
    assert exposures.record(T, "autumn", "C-1", ["usage_up", "usage_up"], NOW) == 1
    history = exposures.history(["C-1"], None, NOW - timedelta(days=30))
    assert history == {"C-1": {"usage_up": [first, NOW], "late_payment": [first]}}  # the first time stays


def test_history_leaves_out_the_deciding_campaign_and_older_exposures(job_store: JobStore) -> None:
    exposures = job_store.exposures
    exposures.record(T, "spring", "C-1", ["usage_up"], NOW - timedelta(days=40))
    exposures.record(T, "summer", "C-1", ["usage_up"], NOW - timedelta(days=10))
    exposures.record("welcome-onboarding", "autumn", "C-1", ["usage_up", "paperless_offer"], NOW)
    exposures.record(T, "autumn", "C-2", ["late_payment"], NOW)
    since = NOW - timedelta(days=30)
    assert exposures.history(["C-1", "C-2", "C-3"], "autumn", since) == {
        "C-1": {"usage_up": [NOW - timedelta(days=10)]}
    }
    assert exposures.history(["C-1", "C-2", "C-3"], "winter", since) == {
        "C-1": {"usage_up": [NOW - timedelta(days=10), NOW], "paperless_offer": [NOW]},
        "C-2": {"late_payment": [NOW]},
    }
    assert exposures.history([], "autumn", since) == {}


def test_history_reads_many_recipients_in_chunks(job_store: JobStore) -> None:
    ids = [f"C-{n:05d}" for n in range(CHUNK * 2 + 7)]
    for n, recipient in enumerate(ids):
        if n % 3 == 0:
            job_store.exposures.record(T, "spring", recipient, ["usage_up"], NOW - timedelta(minutes=n))
    history = job_store.exposures.history([*ids, *ids[:10]], "autumn", NOW - timedelta(days=1))
    assert set(history) == set(ids[::3])
    assert history[ids[3]] == {"usage_up": [NOW - timedelta(minutes=3)]}


def test_erasure_and_exposure_retention(job_store: JobStore) -> None:
    exposures = job_store.exposures
    exposures.record(T, "spring", "C-1", ["usage_up"], NOW)
    exposures.record(T, "spring", "C-2", ["usage_up"], NOW)
    job_store.erasure.erase_recipient("C-1")
    since = NOW - timedelta(days=365)
    assert exposures.history(["C-1", "C-2"], None, since) == {"C-2": {"usage_up": [NOW]}}
    for n in range(5):
        exposures.record(T, f"old-{n}", "C-3", ["usage_up", "late_payment"], NOW - timedelta(days=401 + n))
    exposures.record(T, "recent", "C-3", ["usage_up"], NOW - timedelta(days=399))
    cut = purge_retention(
        job_store, MemoryStorage(), {}, exposure_retention_days=400, batch_size=3, max_batches=2
    )
    assert (cut.exposures, cut.more) == (6, True)  # the budget ran out: call again
    rest = purge_retention(job_store, MemoryStorage(), {}, exposure_retention_days=400, batch_size=3)
    assert (rest.exposures, rest.more) == (4, False)
    assert exposures.history(["C-3"], None, NOW - timedelta(days=1000)) == {
        "C-3": {"usage_up": [NOW - timedelta(days=399)]}
    }
    RetentionTask(MemoryStorage, dict, exposure_retention_days=1)(job_store)  # no template policy at all
    assert exposures.history(["C-2", "C-3"], None, NOW - timedelta(days=1000)) == {"C-2": {"usage_up": [NOW]}}
