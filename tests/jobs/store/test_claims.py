"""`store.claims` on SQLite and PostgreSQL: one live holder per key, renewals, takeover of an
expired lease, release of one's own claim only, purge of expired claims, racing callers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fixture_store import race
from sqlalchemy import select

from renderer.jobs.schema import RenderClaim
from renderer.jobs.store import JobStore

KEY = "cache/video/3f2a9c.m4s"


def test_a_free_key_is_claimed_once_and_renewed_only_by_its_holder(job_store: JobStore) -> None:
    now = datetime.now(UTC)
    assert job_store.claims.claim(KEY, "a", lease_s=10, now=now)
    assert not job_store.claims.claim(KEY, "b", lease_s=10, now=now + timedelta(seconds=9))
    assert job_store.claims.claim(KEY, "a", lease_s=10, now=now + timedelta(seconds=9))  # renewed
    held = job_store.claims.holder(KEY)
    assert held is not None and held.owner == "a"
    assert held.expires_at == now + timedelta(seconds=19)
    assert not job_store.claims.claim(KEY, "b", lease_s=10, now=now + timedelta(seconds=18))
    assert job_store.claims.claim("cache/video/other.m4s", "b", lease_s=10, now=now)  # keys are apart


def test_an_expired_claim_is_taken_over_by_one_caller(job_store: JobStore) -> None:
    now = datetime.now(UTC)
    assert job_store.claims.claim(KEY, "dead", lease_s=5, now=now)
    later = now + timedelta(seconds=5)
    assert job_store.claims.claim(KEY, "b", lease_s=5, now=later)
    assert not job_store.claims.claim(KEY, "c", lease_s=5, now=later)
    assert not job_store.claims.claim(KEY, "dead", lease_s=5, now=later)  # the old holder lost it
    held = job_store.claims.holder(KEY)
    assert held is not None and (held.owner, held.expires_at) == ("b", later + timedelta(seconds=5))


def test_release_deletes_only_the_callers_own_claim(job_store: JobStore) -> None:
    assert job_store.claims.claim(KEY, "a", lease_s=30)
    assert not job_store.claims.release(KEY, "b")
    assert job_store.claims.holder(KEY) is not None
    assert job_store.claims.release(KEY, "a")
    assert job_store.claims.holder(KEY) is None
    assert not job_store.claims.release(KEY, "a")  # twice: nothing left
    assert job_store.claims.claim(KEY, "b", lease_s=30)  # free again at once


def test_purge_expired_deletes_only_ended_leases(job_store: JobStore) -> None:
    now = datetime.now(UTC)
    for n in range(3):
        assert job_store.claims.claim(f"cache/old-{n}", "dead", lease_s=1, now=now - timedelta(minutes=5))
    assert job_store.claims.claim("cache/live", "a", lease_s=60, now=now)
    assert job_store.claims.purge_expired(now=now) == 3
    assert job_store.claims.purge_expired(now=now) == 0
    with job_store.engine.connect() as connection:
        assert list(connection.execute(select(RenderClaim.key)).scalars()) == ["cache/live"]


def test_racing_callers_never_both_win(job_store: JobStore) -> None:
    for round_ in range(5):
        key = f"cache/race-{round_}"
        won = race(8, lambda i, key=key: job_store.claims.claim(key, f"owner-{i}", lease_s=30))
        assert sum(won) == 1
        held = job_store.claims.holder(key)
        assert held is not None and held.owner == f"owner-{won.index(True)}"
    now = datetime.now(UTC) + timedelta(seconds=31)  # every lease over: one taker each again
    won = race(8, lambda i: job_store.claims.claim("cache/race-0", f"late-{i}", lease_s=30, now=now))
    assert sum(won) == 1
