"""Render claims: at most one live holder per storage key, across threads and processes.

A claim is a row (key, owner, lease end). `claim` is one atomic upsert::

    INSERT INTO render_claims (key, owner, expires_at) VALUES (...)
    ON CONFLICT (key) DO UPDATE SET owner = excluded.owner, expires_at = excluded.expires_at
    WHERE render_claims.expires_at <= :now OR render_claims.owner = :owner

so a caller wins when the key is free, when the holder's lease has ended (a crashed holder) or
when it holds the claim already (a renewal); two racing callers cannot both win (SQLite runs it
under the write lock, PostgreSQL locks the conflicting row). Leases are compared with the
callers' clocks: keep the hosts' clocks in sync well within a lease.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, or_

from renderer.jobs.schema import ClaimRecord, RenderClaim
from renderer.jobs.store.base import ConcernStore, columns_of, utc_now

_CLAIM = columns_of(ClaimRecord, RenderClaim)


class ClaimStore(ConcernStore):
    """Every read and write of render claims; each method is one short transaction."""

    def claim(self, key: str, owner: str, lease_s: float, now: datetime | None = None) -> bool:
        """True iff `owner` holds the claim on `key` for `lease_s` from `now` after this call: it
        was free, its lease had ended (taken over) or `owner` held it already (renewed). Atomic:
        of callers racing for a free or expired key exactly one gets True."""
        now = now or utc_now()
        insert = self._insert(RenderClaim).values(
            key=key, owner=owner, expires_at=now + timedelta(seconds=lease_s)
        )
        upsert = insert.on_conflict_do_update(
            index_elements=[RenderClaim.key],
            set_={"owner": insert.excluded.owner, "expires_at": insert.excluded.expires_at},
            where=or_(RenderClaim.expires_at <= now, RenderClaim.owner == owner),
        )
        with self._write() as connection:  # a row comes back only when this call wrote one
            return connection.execute(upsert.returning(RenderClaim.owner)).first() is not None

    def holder(self, key: str) -> ClaimRecord | None:
        """The claim on `key` (expired or not), or None when nobody claimed it."""
        return self._one(ClaimRecord, _CLAIM, RenderClaim.key == key)

    def release(self, key: str, owner: str) -> bool:
        """Delete `owner`'s claim on `key`; True when it held it (a claim taken over by another
        caller is left alone)."""
        mine = (RenderClaim.key == key) & (RenderClaim.owner == owner)
        with self._write() as connection:
            return connection.execute(delete(RenderClaim).where(mine)).rowcount == 1

    def purge_expired(self, now: datetime | None = None) -> int:
        """Delete the claims whose lease ended before `now` (holders that died); how many. Claims
        are one row per render in flight, so one short transaction does it."""
        expired = RenderClaim.expires_at < (now or utc_now())
        with self._write() as connection:
            return int(connection.execute(delete(RenderClaim).where(expired)).rowcount)
