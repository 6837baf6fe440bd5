"""Campaign rows (one per recipient) and rejects: adding them, claiming rows exactly once, listing.

Statuses never go backwards. Rows rank ``pending < queued < rendering < {done, failed,
quarantined}``; each change is one conditional ``UPDATE ... WHERE status IN (predecessors)`` and
reports whether it changed anything, so a redelivered task that finishes after another delivery
already finished the row changes nothing::

    pending ─> queued ─> rendering ─┬─> done                       (finish)
       └─────────┴──────> ↺ ────────┼─> failed                     (fail, attempts left)
                                    └─> quarantined                (fail, attempts used up)
    failed ─> queued        only via requeue_failed (resume), while attempts < max_attempts
    failed ─> quarantined   via requeue_failed once attempts >= max_attempts
    rendering ─> queued     only via release: a worker stopped for another's death

``rendering -> rendering`` is allowed: a task redelivered after its worker died starts again.
`RowStore.start` (and `RowStore.begin`) counts an attempt; `RowStore.fail` counts one too when
the row was never started. Error texts stored here come from callers and must name fields,
outputs and rows, never values.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Select,
    Update,
    bindparam,
    case,
    exists,
    or_,
    select,
    true,
    update,
)

from renderer.jobs.schema import Base, Campaign, CampaignRow, Reject, RejectRecord, RowRecord
from renderer.jobs.store.base import (
    BATCH_SIZE,
    ConcernStore,
    Write,
    batched,
    columns_of,
    to_record,
    utc_now,
)

OPEN_ROW = ("pending", "queued", "rendering")
TERMINAL_ROW = ("done", "failed", "quarantined")
_ROW_FROM: dict[str, tuple[str, ...]] = {
    "queued": ("pending",),
    "rendering": OPEN_ROW,
    "done": OPEN_ROW,
    "failed": OPEN_ROW,
    "quarantined": OPEN_ROW,
}
_ROW = columns_of(RowRecord, CampaignRow)
_REJECT = columns_of(RejectRecord, Reject)

RejectItem = tuple[int, str, str] | tuple[int, str, str, str | None]


def _row(campaign_id: str, row: int) -> ColumnElement[bool]:
    return (CampaignRow.campaign_id == campaign_id) & (CampaignRow.row == row)


# The statements a campaign worker runs for every row, built once on the Core tables (building a
# statement, and the ORM's compile step, cost more than running it on SQLite): bound by name.
_ROWS = Base.metadata.tables[CampaignRow.__tablename__]
_CAMPAIGNS = Base.metadata.tables[Campaign.__tablename__]
_THIS_ROW = (_ROWS.c.campaign_id == bindparam("p_campaign")) & (_ROWS.c.row == bindparam("p_row"))
_NOW = bindparam("p_now", type_=_ROWS.c.updated_at.type)


def _may_become(target: str) -> ColumnElement[bool]:
    # plain equalities: an IN list of constants is expanded into the SQL again at every execution
    return or_(*(_ROWS.c.status == before for before in _ROW_FROM[target]))


_BEGIN = (
    update(_ROWS)
    .where(_THIS_ROW, _may_become("rendering"))
    .values(status="rendering", attempts=_ROWS.c.attempts + 1, updated_at=_NOW)
    .returning(_ROWS.c.attempts)
)
_LIVE = (_CAMPAIGNS.c.id == bindparam("p_campaign")) & (_CAMPAIGNS.c.status != "cancelled")
_BEGIN_UNLESS_CANCELLED = _BEGIN.where(exists().where(_LIVE))
_FINISH = (
    update(_ROWS)
    .where(_THIS_ROW, _may_become("done"))
    .values(
        status="done",
        outputs=bindparam("p_outputs", type_=_ROWS.c.outputs.type),
        error=None,
        updated_at=_NOW,
    )
)


@dataclass(frozen=True)
class Finished:
    """A rendered row to mark done: its output keys, and the writes committed with it (its
    decision, its exposures), which are skipped when the row is terminal already."""

    row: int
    outputs: Mapping[str, str]
    also: Sequence[Write] = ()


@dataclass(frozen=True)
class Step:
    """What `RowStore.step` did: whether the rendered row was marked done, and the begun row's
    attempts including this one (None: not begun, because it is terminal or the campaign was
    cancelled)."""

    finished: bool
    attempts: int | None


class RowStore(ConcernStore):
    """Every read and write of campaign rows and rejects; each call is one short transaction
    (bulk adds and marks: one per batch of `BATCH_SIZE`)."""

    def add(self, campaign_id: str, rows: Iterable[tuple[int, str]]) -> None:
        """Add (row number, recipient id) pairs as pending, one transaction per batch.

        A row whose number or recipient id the campaign already has is skipped, so adding the
        same rows again after a crash is harmless and keeps their state.
        """
        insert = self._insert(CampaignRow).on_conflict_do_nothing()
        for batch in batched(rows, BATCH_SIZE):
            now = utc_now()
            params = [
                {
                    "campaign_id": campaign_id,
                    "row": number,
                    "recipient_id": recipient_id,
                    "status": "pending",
                    "attempts": 0,
                    "updated_at": now,
                }
                for number, recipient_id in batch
            ]
            with self._write() as connection:
                connection.execute(insert, params)

    def add_rejects(self, campaign_id: str, rejects: Iterable[RejectItem]) -> None:
        """Add (row, field, reason[, recipient id]) rejects in batches; ones already recorded are
        skipped. Pass a recipient id only when the contract says it is not personal."""
        insert = self._insert(Reject).on_conflict_do_nothing()
        for batch in batched(rejects, BATCH_SIZE):
            params = [
                {
                    "campaign_id": campaign_id,
                    "row": item[0],
                    "field": item[1],
                    "reason": item[2],
                    "recipient_id": item[3] if len(item) > 3 else None,
                }
                for item in batch
            ]
            with self._write() as connection:
                connection.execute(insert, params)

    def mark(self, campaign_id: str, rows: Iterable[int], status: str) -> int:
        """Move the given rows forward to `status`; returns how many changed.

        Attempts are counted only by `start`, `begin` and `fail`.
        """
        if status not in _ROW_FROM:
            raise ValueError(f"a row cannot be marked {status!r}")
        # one primary-key UPDATE per row, sent as executemany: an IN list lets PostgreSQL pick the
        # (campaign_id, status) index before it has statistics, and scan every pending row
        allowed = or_(*(CampaignRow.status == before for before in _ROW_FROM[status]))
        which = (CampaignRow.campaign_id == campaign_id) & (CampaignRow.row == bindparam("number"))
        query = update(CampaignRow).where(which, allowed).values(status=status, updated_at=bindparam("now"))
        changed = 0
        for batch in batched(rows, BATCH_SIZE):
            now = utc_now()
            with self._write() as connection:
                changed += connection.execute(query, [{"number": row, "now": now} for row in batch]).rowcount
        return changed

    def has_open(self, campaign_id: str) -> bool:
        """Whether any row of the campaign is not finished yet (one index seek, not a count)."""
        query = select(CampaignRow.row).where(
            CampaignRow.campaign_id == campaign_id, CampaignRow.status.in_(OPEN_ROW)
        )
        with self._read() as connection:
            return connection.execute(query.limit(1)).first() is not None

    def for_recipients(self, campaign_id: str, recipient_ids: Iterable[str]) -> dict[str, tuple[int, str]]:
        """Recipient id -> (the row that holds it, that row's status), for ids the campaign has.
        Ingest uses it to tell a duplicate id (held by another row) from a row it recorded before."""
        found: dict[str, tuple[int, str]] = {}
        for batch in batched(dict.fromkeys(recipient_ids), BATCH_SIZE):
            query = select(CampaignRow.recipient_id, CampaignRow.row, CampaignRow.status).where(
                CampaignRow.campaign_id == campaign_id, CampaignRow.recipient_id.in_(batch)
            )
            with self._read() as connection:
                found.update({rid: (row, status) for rid, row, status in connection.execute(query)})
        return found

    def begin(self, campaign_id: str, row: int) -> int | None:
        """`start` that returns the row's attempts including this one (None once terminal),
        so a worker can quarantine a row that keeps killing its workers."""
        with self._write() as connection:
            return _begin(connection, campaign_id, row, _BEGIN)

    def step(self, campaign_id: str, row: int, after: Finished | None = None) -> Step:
        """In one transaction: mark `after` done (as `finish`), then, unless the campaign is
        cancelled, begin `row` (as `begin`). A campaign worker's one commit per row: the row it
        rendered is recorded with the start of the next, so its attempt is counted (and a worker
        that dies rendering it is charged for it) before it renders, as with `begin`."""
        with self._write() as connection:
            finished = after is not None and _finish(connection, campaign_id, after)
            return Step(finished, _begin(connection, campaign_id, row, _BEGIN_UNLESS_CANCELLED))

    def release(self, campaign_id: str, row: int) -> bool:
        """Hand a row being rendered back uncharged: rendering -> queued with the attempt that
        `begin` counted taken back. For a worker stopped because another worker died (the
        death is that worker's row's, not this one's). False when the row is not rendering."""
        values = {"status": "queued", "attempts": CampaignRow.attempts - 1, "updated_at": utc_now()}
        rendering = (CampaignRow.status == "rendering") & (CampaignRow.attempts > 0)
        return self._update(CampaignRow, values, _row(campaign_id, row), rendering) == 1

    def start(self, campaign_id: str, row: int) -> bool:
        """pending/queued/rendering -> rendering and count an attempt; False once terminal."""
        values = {"status": "rendering", "attempts": CampaignRow.attempts + 1, "updated_at": utc_now()}
        allowed = CampaignRow.status.in_(_ROW_FROM["rendering"])
        return self._update(CampaignRow, values, _row(campaign_id, row), allowed) == 1

    def finish(
        self, campaign_id: str, row: int, outputs: Mapping[str, str], also: Sequence[Write] = ()
    ) -> bool:
        """Mark a row done with its output keys, committing `also` (its decision, its exposures)
        in the same transaction; False (and nothing written, `also` neither) once terminal."""
        with self._write() as connection:
            return _finish(connection, campaign_id, Finished(row, outputs, also))

    def fail(self, campaign_id: str, row: int, error: str, max_attempts: int) -> str:
        """Mark a row failed, or quarantined once its attempts reach `max_attempts`.

        Returns the row's status afterwards; a terminal row is left as it is (and its status
        returned); an unknown row is a KeyError. `error` must name fields or outputs, never
        personal values.
        """
        attempts = case(
            (CampaignRow.status == "rendering", CampaignRow.attempts), else_=CampaignRow.attempts + 1
        )
        status = case((attempts >= max_attempts, "quarantined"), else_="failed")
        values = {"status": status, "attempts": attempts, "error": error, "updated_at": utc_now()}
        allowed = CampaignRow.status.in_(_ROW_FROM["failed"])
        query = update(CampaignRow).where(_row(campaign_id, row), allowed).values(values)
        with self._write() as connection:
            new = connection.execute(query.returning(CampaignRow.status)).scalar()
            if new is None:
                new = connection.execute(select(CampaignRow.status).where(_row(campaign_id, row))).scalar()
        if new is None:
            raise KeyError(f"campaign {campaign_id} has no row {row}")
        return str(new)

    def requeue_failed(self, campaign_id: str, max_attempts: int) -> int:
        """Resume: failed rows with attempts left go back to queued, the rest to quarantined.

        The only backwards move of a row, in one transaction. Returns how many were requeued.
        """
        failed = (CampaignRow.campaign_id == campaign_id) & (CampaignRow.status == "failed")
        now = utc_now()
        with self._write() as connection:
            spent = update(CampaignRow).where(failed, CampaignRow.attempts >= max_attempts)
            connection.execute(spent.values(status="quarantined", updated_at=now))
            retry = update(CampaignRow).where(failed).values(status="queued", updated_at=now)
            return connection.execute(retry).rowcount

    def _numbers(self, campaign_id: str, condition: ColumnElement[bool], page_size: int) -> Iterator[int]:
        def page(last: tuple[Any, ...] | None) -> Select[Any]:
            after = CampaignRow.row > last[0] if last is not None else true()
            where = (CampaignRow.campaign_id == campaign_id, condition, after)
            return select(CampaignRow.row).where(*where).order_by(CampaignRow.row)

        return (row[0] for row in self._pages(page, page_size))

    def to_render(self, campaign_id: str, page_size: int = BATCH_SIZE) -> Iterator[int]:
        """Row numbers not done or quarantined, in order, read a page at a time (for resume).

        Call `requeue_failed` first: `start` refuses rows that are still failed.
        """
        condition = CampaignRow.status.not_in(("done", "quarantined"))
        return self._numbers(campaign_id, condition, page_size)

    def done(self, campaign_id: str, page_size: int = BATCH_SIZE) -> Iterator[int]:
        """Row numbers that are done, in order, read a page at a time."""
        return self._numbers(campaign_id, CampaignRow.status == "done", page_size)

    def results(self, campaign_id: str, page_size: int = BATCH_SIZE) -> Iterator[RowRecord]:
        """Every row of the campaign in row order, read a page at a time."""

        def page(last: tuple[Any, ...] | None) -> Select[Any]:
            after = CampaignRow.row > last[0] if last is not None else true()
            where = (CampaignRow.campaign_id == campaign_id, after)
            return select(*_ROW).where(*where).order_by(CampaignRow.row)

        return (to_record(RowRecord, row) for row in self._pages(page, page_size))

    def rejects(self, campaign_id: str, page_size: int = BATCH_SIZE) -> Iterator[RejectRecord]:
        """Every reject of the campaign in (row, field) order, read a page at a time."""

        def page(last: tuple[Any, ...] | None) -> Select[Any]:
            after = true()
            if last is not None:
                after = (Reject.row > last[0]) | ((Reject.row == last[0]) & (Reject.field > last[1]))
            where = (Reject.campaign_id == campaign_id, after)
            return select(*_REJECT).where(*where).order_by(Reject.row, Reject.field)

        return (to_record(RejectRecord, row) for row in self._pages(page, page_size))

    def count_by_status(self) -> dict[str, int]:
        """Campaign rows by status over the whole store (for /metrics); statuses with none are absent."""
        return self._count_by(CampaignRow.status)


def _begin(connection: Connection, campaign_id: str, row: int, query: Update) -> int | None:
    params = {"p_campaign": campaign_id, "p_row": row, "p_now": utc_now()}
    attempts = connection.execute(query, params).scalar()
    return None if attempts is None else int(attempts)


def _finish(connection: Connection, campaign_id: str, done: Finished) -> bool:
    params = {
        "p_campaign": campaign_id,
        "p_row": done.row,
        "p_outputs": dict(done.outputs),
        "p_now": utc_now(),
    }
    if connection.execute(_FINISH, params).rowcount != 1:
        return False
    for write in done.also:
        write.run(connection)
    return True
