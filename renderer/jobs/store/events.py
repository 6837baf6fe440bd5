"""Engagement events of recipients' pages: stored once per client event id, read per campaign.

`add` writes a whole batch in one transaction and returns only after it committed, so an
acknowledged event is never lost; a retried event (same template, campaign, recipient and
client event id) is ignored and counted as a duplicate.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import asdict
from datetime import datetime
from typing import Any

from sqlalchemy import Select, delete, func, select

from renderer.jobs.schema import EngagementEvent, EventRecord
from renderer.jobs.store.base import BATCH_SIZE, ConcernStore, columns_of

_EVENT = columns_of(EventRecord, EngagementEvent)


class EventStore(ConcernStore):
    """Every read and write of engagement events; each method is one short transaction
    (`for_campaign`: one per page, `purge_received_before`: one per batch)."""

    def add(self, events: Sequence[EventRecord]) -> int:
        """Store a batch in one transaction, skipping events already stored (a retry); returns
        how many were new. Returns after the commit."""
        if not events:
            return 0
        insert = self._insert(EngagementEvent).on_conflict_do_nothing(
            index_elements=["template", "campaign", "recipient_id", "event_id"]
        )
        with self._write() as connection:
            result = connection.execute(insert, [asdict(event) for event in events])
        return int(result.rowcount)

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
