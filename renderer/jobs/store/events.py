"""Engagement events of recipients' pages: stored once per client event id, read per campaign.

`add` writes a whole batch in one transaction and returns only after it committed, so an
acknowledged event is never lost; a retried event (same template, campaign, recipient and
client event id) is ignored and counted as a duplicate. `add_linked` does the same only while
the page link the events came through is live, checked inside that transaction, so no event is
stored after its recipient was erased or its link expired.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import asdict
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Select, delete, func, select

from renderer.jobs.schema import EngagementEvent, EventRecord, RecipientLink
from renderer.jobs.store.base import BATCH_SIZE, ConcernStore, columns_of, sha256_hex, utc_now

_EVENT = columns_of(EventRecord, EngagementEvent)


class EventStore(ConcernStore):
    """Every read and write of engagement events; each method is one short transaction
    (`for_campaign`: one per page, `purge_received_before`: one per batch)."""

    def add(self, events: Sequence[EventRecord]) -> int:
        """Store a batch in one transaction, skipping events already stored (a retry); returns
        how many were new. Returns after the commit."""
        if not events:
            return 0
        with self._write() as connection:
            return self._insert_new(connection, events)

    def add_linked(
        self, token: str, events: Sequence[EventRecord], now: datetime | None = None
    ) -> int | None:
        """Store a batch as `add` does, in one transaction that first checks the page link
        `token` is still live at `now` (on PostgreSQL it holds a share lock on the link row, so
        an erasure deleting the link waits for this commit); None, storing nothing, when the
        link is gone or expired. Returns after the commit."""
        live = (RecipientLink.token_hash == sha256_hex(token)) & (
            RecipientLink.expires_at > (now or utc_now())
        )
        with self._write() as connection:
            locked = select(RecipientLink.token_hash).where(live).with_for_update(read=True)
            if connection.execute(locked).first() is None:
                return None
            return self._insert_new(connection, events) if events else 0

    def _insert_new(self, connection: Connection, events: Sequence[EventRecord]) -> int:
        """Insert `events`, skipping those stored already (or twice in `events`); how many were
        new, counted from ``RETURNING`` (a multi-row insert's rowcount is -1 on psycopg)."""
        insert = (
            self._insert(EngagementEvent)
            .on_conflict_do_nothing(index_elements=["template", "campaign", "recipient_id", "event_id"])
            .returning(EngagementEvent.id)
        )
        return len(connection.execute(insert, [asdict(event) for event in events]).all())

    def for_campaign(
        self, template: str, campaign: str, page_size: int = BATCH_SIZE
    ) -> Iterator[EventRecord]:
        """Every stored event of one campaign of one template, in the order they were stored."""
        where = (EngagementEvent.template == template) & (EngagementEvent.campaign == campaign)

        def page(last: tuple[Any, ...] | None) -> Select[Any]:
            query = select(EngagementEvent.id, *_EVENT).where(where)
            if last is not None:
                query = query.where(EngagementEvent.id > last[0])
            return query.order_by(EngagementEvent.id)

        for row in self._pages(page, page_size):
            values: tuple[Any, ...] = tuple(row)
            yield EventRecord(*values[1:])

    def last_position(self, template: str, campaign: str, recipient_id: str) -> float | None:
        """The playback position of the recipient's latest event that carries one (by the page's
        clock, then by arrival), or None."""
        query = (
            select(EngagementEvent.position)
            .where(
                (EngagementEvent.template == template)
                & (EngagementEvent.campaign == campaign)
                & (EngagementEvent.recipient_id == recipient_id)
                & EngagementEvent.position.is_not(None)
            )
            .order_by(EngagementEvent.occurred_at.desc(), EngagementEvent.id.desc())
            .limit(1)
        )
        with self._read() as connection:
            found = connection.execute(query).scalar()
        return None if found is None else float(found)

    def count(self, template: str, campaign: str) -> int:
        """How many events one campaign has stored."""
        where = (EngagementEvent.template == template) & (EngagementEvent.campaign == campaign)
        with self._read() as connection:
            return int(connection.execute(select(func.count()).where(where)).scalar_one())

    def purge_received_before(self, cutoff: datetime, batch: int = BATCH_SIZE) -> int:
        """Delete events received before `cutoff` (retention), in batches; returns how many."""
        deleted = 0
        while True:
            ids = select(EngagementEvent.id).where(EngagementEvent.received_at < cutoff).limit(batch)
            with self._write() as connection:
                gone = connection.execute(
                    delete(EngagementEvent).where(EngagementEvent.id.in_(ids.scalar_subquery()))
                ).rowcount
            deleted += gone
            if gone < batch:
                return deleted
