"""`store.links` on SQLite and PostgreSQL: page tokens expire, are purged in batches, stored hashed."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from renderer.jobs.schema import RecipientLink
from renderer.jobs.store import JobStore


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


def test_a_link_exists_once_issued_even_when_expired(job_store: JobStore) -> None:
    now = datetime.now(UTC)
    token = job_store.links.create(
        "bill-summary", "spring", "C000001", ttl_s=60, now=now - timedelta(hours=1)
    )
    assert job_store.links.resolve(token) is None and job_store.links.exists(token)
    assert not job_store.links.exists(token[:-1] + ("A" if token[-1] != "A" else "B"))
