"""Engagement events of recipients' pages: stored once per client event id, read per campaign.

`add` writes a whole batch in one transaction and returns only after it committed, so an
acknowledged event is never lost; a retried event (same template, campaign, recipient and
client event id) is ignored and counted as a duplicate. `add_linked` does the same only while
the page link the events came through is live, checked inside that transaction, so no event is
stored after its recipient was erased or its link expired, and sets each event's `variant` to
the recipient's variant key (`render_decisions`, read in that same transaction: never what the
page sent). `reach_by_variant` counts, per variant key, the recipients who did each thing.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import fields
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Select, delete, func, or_, select

from renderer.jobs.schema import EngagementEvent, EventRecord, RecipientLink, RenderDecision
from renderer.jobs.store.base import BATCH_SIZE, ConcernStore, columns_of, durable_write, sha256_hex, utc_now

_EVENT = columns_of(EventRecord, EngagementEvent)
_KEY = ("template", "campaign", "recipient_id", "event_id")  # one stored event per key
_FIELDS = [field.name for field in fields(EventRecord)]
# reach_by_variant: metric -> the kind counted (video_completions: a video_progress of 100)
REACH = {
    "page_views": "page_view",
    "video_plays": "video_play",
    "video_completions": "video_progress",
    "cta_clicks": "cta_click",
    "form_submits": "form_submit",
}
_KEEP = object()  # `_DriverInsert.run`: each event keeps its own variant


def _key(event: EventRecord) -> tuple[str, ...]:
    return (event.template, event.campaign, event.recipient_id, event.event_id)


class _DriverInsert:
    """SQLite's hot path for events: the compiled ``INSERT ... ON CONFLICT DO NOTHING`` run by
    the driver's executemany, each value bound by the very processor SQLAlchemy would apply to
    its column (so what is stored is the same), a value repeated in a batch (its received_at,
    template, campaign...) processed once; 2-3x less work than SQLAlchemy's own per-row binding."""

    def __init__(self, insert: Any, dialect: Any) -> None:
        compiled = insert.compile(dialect=dialect, column_keys=_FIELDS)
        self.sql = str(compiled)
        columns = EngagementEvent.__table__.columns
        self.binds = [(name, columns[name].type.bind_processor(dialect)) for name in compiled.positiontup]
        self.variant_at = list(compiled.positiontup).index("variant")

    def run(self, connection: Connection, events: Sequence[EventRecord], variant: Any = _KEEP) -> int:
        """Insert `events` (one executemany), each with `variant` unless it is `_KEEP`; how many
        rows it inserted."""
        done: dict[tuple[str, Any], Any] = {}
        rows = []
        for event in events:
            row = []
            for name, process in self.binds:
                value = getattr(event, name)
                if process is not None and value is not None:
                    key = (name, value)
                    if key not in done:
                        done[key] = process(value)
                    value = done[key]
                row.append(value)
            if variant is not _KEEP:
                row[self.variant_at] = variant
            rows.append(tuple(row))
        return int(connection.exec_driver_sql(self.sql, rows).rowcount)


class EventStore(ConcernStore):
    """Every read and write of engagement events; each method is one short transaction
    (`for_campaign`: one per page, `purge_received_before`: one per batch)."""

    _driver: _DriverInsert | None = None

    def _sqlite_insert(self, insert: Any) -> _DriverInsert:
        if self._driver is None:
            self._driver = _DriverInsert(insert, self.engine.dialect)
        return self._driver

    def add(self, events: Sequence[EventRecord]) -> int:
        """Store a batch in one transaction, skipping events already stored (a retry); returns
        how many were new. Returns after the commit."""
        if not events:
            return 0
        with self._write() as connection:
            return self._insert_new(connection, [events], [_KEEP])[0]

    def add_linked(
        self, token: str, events: Sequence[EventRecord], now: datetime | None = None
    ) -> int | None:
        """Store a batch as `add` does, only while the page link `token` is live (`add_batches`
        for one batch); None, storing nothing, when the link is gone or expired."""
        return self.add_batches([(token, events)], now)[0]

    def add_batches(
        self, batches: Sequence[tuple[str, Sequence[EventRecord]]], now: datetime | None = None
    ) -> list[int | None]:
        """Store several batches, each sent through a page link token, in one transaction (a
        group commit): first the links still live at `now` are read (on PostgreSQL under a share
        lock, so an erasure deleting a link waits for this commit and then deletes its events
        too) with their recipients' variant keys, then every event of those batches is inserted
        with its recipient's variant key as `variant` (None without a decision), those stored
        already skipped. Returns, per batch, how many of its events were new, or None (nothing of
        it stored) when its link is gone or expired. Returns after the commit."""
        hashes = [sha256_hex(token) for token, _ in batches]
        live = RecipientLink.token_hash.in_(set(hashes)) & (RecipientLink.expires_at > (now or utc_now()))
        decided = (
            (RenderDecision.template == RecipientLink.template)
            & (RenderDecision.campaign == RecipientLink.campaign)
            & (RenderDecision.recipient_id == RecipientLink.recipient_id)
        )
        with durable_write(self.engine) as connection:  # a 202 follows this commit
            locked = (
                select(RecipientLink.token_hash, RenderDecision.variant_key)
                .outerjoin(RenderDecision, decided)
                .where(live)
                .with_for_update(read=True, of=RecipientLink)
            )
            alive: dict[str, str | None] = {digest: key for digest, key in connection.execute(locked)}
            kept = [
                (events, alive[digest])
                for (_, events), digest in zip(batches, hashes, strict=True)
                if digest in alive
            ]
            new = iter(self._insert_new(connection, [events for events, _ in kept], [key for _, key in kept]))
        return [next(new) if digest in alive else None for digest in hashes]

    def _insert_new(
        self, connection: Connection, batches: Sequence[Sequence[EventRecord]], variants: Sequence[Any]
    ) -> list[int]:
        """Insert each batch of events, skipping those stored already (earlier, by an earlier
        batch, or twice in one), each batch's events with its variant (`_KEEP`: their own); how
        many of each batch were new. SQLite: one executemany per
        batch (`_DriverInsert`), whose rowcount sums the rows it inserted. PostgreSQL: one
        insert of them all with ``RETURNING`` the keys, matched to the batches (an
        executemany's rowcount is -1 there)."""
        insert = self._insert(EngagementEvent).on_conflict_do_nothing(index_elements=list(_KEY))
        if self.engine.dialect.name == "sqlite":
            driver = self._sqlite_insert(insert)
            return [
                driver.run(connection, events, variant) if events else 0
                for events, variant in zip(batches, variants, strict=True)
            ]
        rows = [
            vars(event) if variant is _KEEP else {**vars(event), "variant": variant}
            for events, variant in zip(batches, variants, strict=True)
            for event in events
        ]
        keys = (getattr(EngagementEvent, name) for name in _KEY)
        new = {tuple(row) for row in connection.execute(insert.returning(*keys), rows)} if rows else set()
        counts = []
        for events in batches:
            mine = {_key(event) for event in events} & new
            new -= mine  # an event in two batches is new in the first only
            counts.append(len(mine))
        return counts

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

    def reach_by_variant(self, template: str, campaign: str) -> dict[str | None, dict[str, int]]:
        """Per variant key of one campaign's events (None: no experiment), for each metric of
        `REACH` the distinct recipients who sent its kind (video_completions: a video_progress of
        100), 0 when none did. Counted in the database (GROUP BY kind, variant) from
        ``ix_engagement_events_reach`` alone, without reading the table."""
        counted = EngagementEvent.kind.in_(list(REACH.values())) & or_(
            EngagementEvent.kind != "video_progress", EngagementEvent.value == 100
        )
        where = (EngagementEvent.template == template) & (EngagementEvent.campaign == campaign) & counted
        query = (
            select(
                EngagementEvent.kind,
                EngagementEvent.variant,
                func.count(EngagementEvent.recipient_id.distinct()),
            )
            .where(where)
            .group_by(EngagementEvent.kind, EngagementEvent.variant)
        )
        with self._read() as connection:
            rows = connection.execute(query).all()
        metric_of = {kind: metric for metric, kind in REACH.items()}
        reach: dict[str | None, dict[str, int]] = {}
        for kind, variant, recipients in rows:
            reach.setdefault(variant, dict.fromkeys(REACH, 0))[metric_of[kind]] = int(recipients)
        return reach

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
