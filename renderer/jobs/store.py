"""The job store: campaigns, per-recipient row status, API render jobs, keys, webhooks and links.

`open_store(url)` takes a SQLAlchemy URL (``sqlite:///file.db`` by default, ``postgresql://`` at
scale), brings the schema to the newest Alembic revision and returns a `JobStore`. Every method
runs in its own short transaction and returns plain frozen records (``schema.py``), never ORM
objects. Long listings are read in keyset pages, so neither memory nor an open transaction grows
with the campaign.

Statuses never go backwards. Rows rank ``pending < queued < rendering < {done, failed,
quarantined}``; each change is one conditional ``UPDATE ... WHERE status IN (predecessors)`` and
reports whether it changed anything, so a redelivered task that finishes after another delivery
already finished the row changes nothing::

    pending ─> queued ─> rendering ─┬─> done                       (finish_row)
       └─────────┴──────> ↺ ────────┼─> failed                     (fail_row, attempts left)
                                    └─> quarantined                (fail_row, attempts used up)
    failed ─> queued        only via requeue_failed (resume), while attempts < max_attempts
    failed ─> quarantined   via requeue_failed once attempts >= max_attempts
    rendering ─> queued     only via release_row: a worker stopped for another's death

``rendering -> rendering`` is allowed: a task redelivered after its worker died starts again.
``start_row`` counts an attempt; ``fail_row`` counts one too when the row was never started.
Campaigns rank ``pending < running < {cancelled, done, failed}``; only `reopen_campaign` (resume)
moves a cancelled or failed campaign back to running. Render jobs rank
``queued < rendering < {done, failed}`` with no way back.

Error texts stored here come from callers and must name fields, outputs and rows, never values.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import sqlite3
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import asdict, fields
from datetime import UTC, datetime, timedelta
from itertools import islice
from pathlib import Path
from secrets import token_hex, token_urlsafe
from typing import Any, TypedDict, TypeVar

from alembic import command
from alembic.config import Config
from sqlalchemy import (
    ColumnElement,
    Connection,
    Engine,
    Row,
    Select,
    bindparam,
    case,
    create_engine,
    delete,
    event,
    func,
    or_,
    select,
    true,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url
from sqlalchemy.pool import StaticPool

from renderer.jobs.schema import (
    ApiKey,
    ApiKeyRecord,
    Base,
    Campaign,
    CampaignRecord,
    CampaignRow,
    DeliveryRecord,
    RecipientLink,
    RecipientLinkRecord,
    Reject,
    RejectRecord,
    RenderJob,
    RenderJobRecord,
    RowRecord,
    Webhook,
    WebhookDelivery,
    WebhookRecord,
)

R = TypeVar("R")
MIGRATIONS = Path(__file__).with_name("migrations")
BATCH_SIZE = 1000
_MIGRATION_LOCK = 0x7A11_0001  # PostgreSQL advisory lock held while migrating

_OPEN_ROW = ("pending", "queued", "rendering")
_ROW_FROM: dict[str, tuple[str, ...]] = {
    "queued": ("pending",),
    "rendering": _OPEN_ROW,
    "done": _OPEN_ROW,
    "failed": _OPEN_ROW,
    "quarantined": _OPEN_ROW,
}
_CAMPAIGN_FROM: dict[str, tuple[str, ...]] = {
    "running": ("pending",),
    "cancelled": ("pending", "running"),
    "done": ("pending", "running"),
    "failed": ("pending", "running"),
}
_OPEN_JOB = ("queued", "rendering")
_TERMINAL_ROW = ("done", "failed", "quarantined")


class CampaignCounts(TypedDict):
    """Progress of a campaign: row counts by state plus what a rate and an ETA need."""

    total: int | None  # rows in the data file, once validation has streamed it
    rejected: int | None  # rows refused by validation
    rows: int  # validated rows added so far
    done: int
    failed: int
    quarantined: int
    pending: int  # rows not yet in a terminal state
    finished_recent: int  # rows that reached a terminal state in the last `recent_s` seconds
    first_finished_at: datetime | None
    last_finished_at: datetime | None


def _now() -> datetime:
    return datetime.now(UTC)


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _columns(record: type[Any], model: type[Base]) -> list[Any]:
    return [getattr(model, f.name) for f in fields(record)]


def _record(make: Callable[..., R], row: Row[Any]) -> R:
    return make(*(tuple(value) if isinstance(value, list) else value for value in row))


def _batched(items: Iterable[R], size: int) -> Iterator[list[R]]:
    iterator = iter(items)
    while batch := list(islice(iterator, size)):
        yield batch


_CAMPAIGN = _columns(CampaignRecord, Campaign)
_ROW = _columns(RowRecord, CampaignRow)
_REJECT = _columns(RejectRecord, Reject)
_JOB = _columns(RenderJobRecord, RenderJob)
_KEY = _columns(ApiKeyRecord, ApiKey)
_HOOK = _columns(WebhookRecord, Webhook)
_DELIVERY = _columns(DeliveryRecord, WebhookDelivery)
_LINK = _columns(RecipientLinkRecord, RecipientLink)


# ---- engine and migrations ---------------------------------------------------------------------


def _use_wal(cursor: Any) -> None:
    # Switching to WAL needs an exclusive lock and does not wait on busy_timeout: retry ~30 s.
    if cursor.execute("PRAGMA journal_mode").fetchone()[0] == "wal":
        return
    for _ in range(600):
        try:
            cursor.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc):
                raise
            time.sleep(0.05)
    cursor.execute("PRAGMA journal_mode = WAL")


def _sqlite_connect(dbapi_connection: Any, _record: Any, *, wal: bool) -> None:
    dbapi_connection.isolation_level = None  # the driver emits no BEGIN: _sqlite_begin does
    cursor = dbapi_connection.cursor()
    for pragma in ("busy_timeout = 30000", "foreign_keys = ON", "synchronous = NORMAL"):
        cursor.execute(f"PRAGMA {pragma}")
    if wal:
        _use_wal(cursor)
    cursor.close()


def _sqlite_begin(connection: Connection) -> None:
    # Writers take the write lock up front, so busy_timeout applies instead of a lock upgrade failing.
    write = connection.get_execution_options().get("tailor_write", False)
    connection.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")


def create_store_engine(url: str) -> Engine:
    """An engine for a SQLite or PostgreSQL URL (``postgresql://`` uses psycopg 3)."""
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend == "postgresql":
        if parsed.drivername == "postgresql":
            parsed = parsed.set(drivername="postgresql+psycopg")
        return create_engine(parsed, pool_pre_ping=True, hide_parameters=True)  # no ids in errors
    if backend != "sqlite":
        raise ValueError(f"job store: unsupported database {backend!r}; use sqlite:/// or postgresql://")
    in_memory = parsed.database in (None, "", ":memory:")
    options: dict[str, Any] = {"poolclass": StaticPool} if in_memory else {}
    if not in_memory and parsed.database:
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(parsed, connect_args={"check_same_thread": False}, hide_parameters=True, **options)
    event.listen(engine, "connect", functools.partial(_sqlite_connect, wal=not in_memory))
    event.listen(engine, "begin", _sqlite_begin)
    return engine


def upgrade_store(engine: Engine) -> None:
    """Run Alembic ``upgrade head``; safe when several processes do it at once on one database.

    The whole upgrade is one transaction holding the write lock (SQLite ``BEGIN IMMEDIATE``, a
    PostgreSQL advisory lock), so a second process waits, then finds the schema current.
    """
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS).replace("%", "%%"))
    with engine.connect() as connection:
        connection.execution_options(tailor_write=True)
        with connection.begin():
            if connection.dialect.name == "postgresql":
                connection.execute(select(func.pg_advisory_xact_lock(_MIGRATION_LOCK)))
            config.attributes["connection"] = connection
            command.upgrade(config, "head")


def open_store(url: str) -> JobStore:
    """Open the job store at a SQLAlchemy URL, migrated to the newest schema."""
    engine = create_store_engine(url)
    upgrade_store(engine)
    return JobStore(engine)


# ---- the store ---------------------------------------------------------------------------------


class JobStore:
    """Every read and write of job state; each method is one short transaction."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def close(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()

    @contextmanager
    def _write(self) -> Iterator[Connection]:
        with self.engine.connect() as connection:
            connection.execution_options(tailor_write=True)
            with connection.begin():
                yield connection

    @contextmanager
    def _read(self) -> Iterator[Connection]:
        with self.engine.connect() as connection, connection.begin():
            yield connection

    def _insert(self, model: type[Base]) -> sqlite.Insert | postgresql.Insert:
        if self.engine.dialect.name == "sqlite":
            return sqlite.insert(model)
        return postgresql.insert(model)

    def _update(self, model: type[Base], values: Mapping[str, Any], *where: ColumnElement[bool]) -> int:
        with self._write() as connection:
            return connection.execute(update(model).where(*where).values(values)).rowcount

    def _one(self, make: Callable[..., R], columns: list[Any], *where: ColumnElement[bool]) -> R | None:
        with self._read() as connection:
            row = connection.execute(select(*columns).where(*where)).first()
        return None if row is None else _record(make, row)

    def _pages(
        self, page: Callable[[tuple[Any, ...] | None], Select[Any]], page_size: int
    ) -> Iterator[Row[Any]]:
        last: tuple[Any, ...] | None = None
        while True:
            with self._read() as connection:
                rows = connection.execute(page(last).limit(page_size)).all()
            yield from rows
            if len(rows) < page_size:
                return
            last = tuple(rows[-1])

    # ---- campaigns -----------------------------------------------------------------------------

    def create_campaign(
        self,
        template: str,
        outputs: Iterable[str],
        source_key: str,
        idempotency_key: str | None = None,
        api_key_id: str | None = None,
        campaign_id: str | None = None,
        source_format: Mapping[str, str] | None = None,
    ) -> tuple[CampaignRecord, bool]:
        """Create a pending campaign; with a known idempotency key return that one and False.

        `campaign_id` names it (the CLI's ``--campaign``); the default is 128 random bits.
        `source_format` is how its data file is written (delimiter, encoding; None: defaults).
        Race-safe: the unique key decides (insert ... on conflict do nothing, then read).
        """
        now = _now()
        values = {
            "id": campaign_id or token_hex(16),
            "template": template,
            "outputs": list(outputs),
            "source_key": source_key,
            "status": "pending",
            "idempotency_key": idempotency_key,
            "api_key_id": api_key_id,
            "source_format": dict(source_format) if source_format else None,
            "created_at": now,
            "updated_at": now,
        }
        unless_known = self._insert(Campaign).on_conflict_do_nothing(index_elements=["idempotency_key"])
        insert = unless_known.values(values).returning(Campaign.id)
        with self._write() as connection:
            created = connection.execute(insert).scalar() is not None
            which = Campaign.id == values["id"] if created else Campaign.idempotency_key == idempotency_key
            row = connection.execute(select(*_CAMPAIGN).where(which)).one()
        return _record(CampaignRecord, row), created

    def get_campaign(self, campaign_id: str) -> CampaignRecord | None:
        """The campaign, or None when unknown."""
        return self._one(CampaignRecord, _CAMPAIGN, Campaign.id == campaign_id)

    def get_campaign_status(self, campaign_id: str) -> str | None:
        """Just the campaign's status (workers check it before each row), None when unknown."""
        with self._read() as connection:
            status = connection.execute(select(Campaign.status).where(Campaign.id == campaign_id)).scalar()
        return None if status is None else str(status)

    def delete_campaign(self, campaign_id: str) -> bool:
        """Forget a campaign with its rows and rejects (CLI ``--overwrite``); True when it existed."""
        with self._write() as connection:
            connection.execute(delete(CampaignRow).where(CampaignRow.campaign_id == campaign_id))
            connection.execute(delete(Reject).where(Reject.campaign_id == campaign_id))
            return connection.execute(delete(Campaign).where(Campaign.id == campaign_id)).rowcount == 1

    def set_campaign_status(self, campaign_id: str, status: str, error: str | None = None) -> bool:
        """Move a campaign forward (terminal states stick); True when it changed."""
        if status not in _CAMPAIGN_FROM:
            raise ValueError(f"a campaign cannot be set to status {status!r}")
        now = _now()
        values: dict[str, Any] = {"status": status, "updated_at": now}
        if error is not None:
            values["error"] = error
        if status != "running":
            values["finished_at"] = now
        allowed = Campaign.status.in_(_CAMPAIGN_FROM[status])
        return self._update(Campaign, values, Campaign.id == campaign_id, allowed) == 1

    def reopen_campaign(self, campaign_id: str, *, from_done: bool = False) -> bool:
        """Resume: a cancelled or failed campaign goes back to running; a done one only with
        `from_done` (it had failed rows that were just requeued). True for the one caller that
        reopened it, so two concurrent resumes start one ingest."""
        values = {"status": "running", "error": None, "finished_at": None, "updated_at": _now()}
        allowed = Campaign.status.in_(
            ("cancelled", "failed", "done") if from_done else ("cancelled", "failed")
        )
        return self._update(Campaign, values, Campaign.id == campaign_id, allowed) == 1

    def set_source_format(self, campaign_id: str, source_format: Mapping[str, str]) -> bool:
        """Record how the campaign's data file is written (a CLI rerun with --delimiter or
        --encoding after the file was refused); True when the campaign exists."""
        values = {"source_format": dict(source_format) or None, "updated_at": _now()}
        return self._update(Campaign, values, Campaign.id == campaign_id) == 1

    def set_campaign_totals(self, campaign_id: str, total: int, rejected: int) -> bool:
        """Record how many rows the data file held and how many validation refused."""
        values = {"total": total, "rejected": rejected, "updated_at": _now()}
        return self._update(Campaign, values, Campaign.id == campaign_id) == 1

    def campaign_counts(
        self, campaign_id: str, recent_s: float = 60.0, now: datetime | None = None
    ) -> CampaignCounts | None:
        """Row counts by state, and rows finished in the last `recent_s` seconds; None if unknown."""
        campaign = self.get_campaign(campaign_id)
        if campaign is None:
            return None
        cutoff = (now or _now()) - timedelta(seconds=recent_s)
        recent = func.sum(case((CampaignRow.updated_at >= cutoff, 1), else_=0))
        stamp = CampaignRow.updated_at
        query = (
            select(CampaignRow.status, func.count(), func.min(stamp), func.max(stamp), recent)
            .where(CampaignRow.campaign_id == campaign_id)
            .group_by(CampaignRow.status)
        )
        with self._read() as connection:
            groups = {row[0]: row[1:] for row in connection.execute(query)}
        finished = [groups[status] for status in _TERMINAL_ROW if status in groups]
        return CampaignCounts(
            total=campaign.total,
            rejected=campaign.rejected,
            rows=sum(group[0] for group in groups.values()),
            done=groups["done"][0] if "done" in groups else 0,
            failed=groups["failed"][0] if "failed" in groups else 0,
            quarantined=groups["quarantined"][0] if "quarantined" in groups else 0,
            pending=sum(groups[status][0] for status in _OPEN_ROW if status in groups),
            finished_recent=sum(int(group[3] or 0) for group in finished),
            first_finished_at=min((group[1] for group in finished), default=None),
            last_finished_at=max((group[2] for group in finished), default=None),
        )

    # ---- rows ----------------------------------------------------------------------------------

    def add_rows(self, campaign_id: str, rows: Iterable[tuple[int, str]]) -> None:
        """Add (row number, recipient id) pairs as pending, one transaction per batch.

        A row whose number or recipient id the campaign already has is skipped, so adding the
        same rows again after a crash is harmless and keeps their state.
        """
        insert = self._insert(CampaignRow).on_conflict_do_nothing()
        for batch in _batched(rows, BATCH_SIZE):
            now = _now()
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

    def add_rejects(
        self, campaign_id: str, rejects: Iterable[tuple[int, str, str] | tuple[int, str, str, str | None]]
    ) -> None:
        """Add (row, field, reason[, recipient id]) rejects in batches; ones already recorded are
        skipped. Pass a recipient id only when the contract says it is not personal."""
        insert = self._insert(Reject).on_conflict_do_nothing()
        for batch in _batched(rejects, BATCH_SIZE):
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

    def _row(self, campaign_id: str, row: int) -> ColumnElement[bool]:
        return (CampaignRow.campaign_id == campaign_id) & (CampaignRow.row == row)

    def mark_rows(self, campaign_id: str, rows: Iterable[int], status: str) -> int:
        """Move the given rows forward to `status`; returns how many changed.

        Attempts are counted only by `start_row` and `fail_row`.
        """
        if status not in _ROW_FROM:
            raise ValueError(f"a row cannot be marked {status!r}")
        # one primary-key UPDATE per row, sent as executemany: an IN list lets PostgreSQL pick the
        # (campaign_id, status) index before it has statistics, and scan every pending row
        allowed = or_(*(CampaignRow.status == before for before in _ROW_FROM[status]))
        which = (CampaignRow.campaign_id == campaign_id) & (CampaignRow.row == bindparam("number"))
        query = update(CampaignRow).where(which, allowed).values(status=status, updated_at=bindparam("now"))
        changed = 0
        for batch in _batched(rows, BATCH_SIZE):
            now = _now()
            with self._write() as connection:
                changed += connection.execute(query, [{"number": row, "now": now} for row in batch]).rowcount
        return changed

    def has_open_rows(self, campaign_id: str) -> bool:
        """Whether any row of the campaign is not finished yet (one index seek, not a count)."""
        query = select(CampaignRow.row).where(
            CampaignRow.campaign_id == campaign_id, CampaignRow.status.in_(_OPEN_ROW)
        )
        with self._read() as connection:
            return connection.execute(query.limit(1)).first() is not None

    def rows_for_recipients(
        self, campaign_id: str, recipient_ids: Iterable[str]
    ) -> dict[str, tuple[int, str]]:
        """Recipient id -> (the row that holds it, that row's status), for ids the campaign has.
        Ingest uses it to tell a duplicate id (held by another row) from a row it recorded before."""
        found: dict[str, tuple[int, str]] = {}
        for batch in _batched(dict.fromkeys(recipient_ids), BATCH_SIZE):
            query = select(CampaignRow.recipient_id, CampaignRow.row, CampaignRow.status).where(
                CampaignRow.campaign_id == campaign_id, CampaignRow.recipient_id.in_(batch)
            )
            with self._read() as connection:
                found.update({rid: (row, status) for rid, row, status in connection.execute(query)})
        return found

    def begin_row(self, campaign_id: str, row: int) -> int | None:
        """`start_row` that returns the row's attempts including this one (None once terminal),
        so a worker can quarantine a row that keeps killing its workers."""
        values = {"status": "rendering", "attempts": CampaignRow.attempts + 1, "updated_at": _now()}
        allowed = CampaignRow.status.in_(_ROW_FROM["rendering"])
        query = update(CampaignRow).where(self._row(campaign_id, row), allowed).values(values)
        with self._write() as connection:
            attempts = connection.execute(query.returning(CampaignRow.attempts)).scalar()
        return None if attempts is None else int(attempts)

    def release_row(self, campaign_id: str, row: int) -> bool:
        """Hand a row being rendered back uncharged: rendering -> queued with the attempt that
        `begin_row` counted taken back. For a worker stopped because another worker died (the
        death is that worker's row's, not this one's). False when the row is not rendering."""
        values = {"status": "queued", "attempts": CampaignRow.attempts - 1, "updated_at": _now()}
        rendering = (CampaignRow.status == "rendering") & (CampaignRow.attempts > 0)
        return self._update(CampaignRow, values, self._row(campaign_id, row), rendering) == 1

    def start_row(self, campaign_id: str, row: int) -> bool:
        """pending/queued/rendering -> rendering and count an attempt; False once terminal."""
        values = {"status": "rendering", "attempts": CampaignRow.attempts + 1, "updated_at": _now()}
        allowed = CampaignRow.status.in_(_ROW_FROM["rendering"])
        return self._update(CampaignRow, values, self._row(campaign_id, row), allowed) == 1

    def finish_row(self, campaign_id: str, row: int, outputs: Mapping[str, str]) -> bool:
        """Mark a row done with its output keys; False (and nothing written) once terminal."""
        values = {"status": "done", "outputs": dict(outputs), "error": None, "updated_at": _now()}
        allowed = CampaignRow.status.in_(_ROW_FROM["done"])
        return self._update(CampaignRow, values, self._row(campaign_id, row), allowed) == 1

    def fail_row(self, campaign_id: str, row: int, error: str, max_attempts: int) -> str:
        """Mark a row failed, or quarantined once its attempts reach `max_attempts`.

        Returns the row's status afterwards; a terminal row is left as it is (and its status
        returned). `error` must name fields or outputs, never personal values.
        """
        attempts = case(
            (CampaignRow.status == "rendering", CampaignRow.attempts), else_=CampaignRow.attempts + 1
        )
        status = case((attempts >= max_attempts, "quarantined"), else_="failed")
        values = {"status": status, "attempts": attempts, "error": error, "updated_at": _now()}
        allowed = CampaignRow.status.in_(_ROW_FROM["failed"])
        query = update(CampaignRow).where(self._row(campaign_id, row), allowed).values(values)
        with self._write() as connection:
            new = connection.execute(query.returning(CampaignRow.status)).scalar()
            if new is None:
                new = connection.execute(
                    select(CampaignRow.status).where(self._row(campaign_id, row))
                ).scalar()
        if new is None:
            raise KeyError(f"campaign {campaign_id} has no row {row}")
        return str(new)

    def requeue_failed(self, campaign_id: str, max_attempts: int) -> int:
        """Resume: failed rows with attempts left go back to queued, the rest to quarantined.

        The only backwards move of a row. Returns how many were requeued.
        """
        failed = (CampaignRow.campaign_id == campaign_id) & (CampaignRow.status == "failed")
        now = _now()
        with self._write() as connection:
            spent = update(CampaignRow).where(failed, CampaignRow.attempts >= max_attempts)
            connection.execute(spent.values(status="quarantined", updated_at=now))
            retry = update(CampaignRow).where(failed).values(status="queued", updated_at=now)
            return connection.execute(retry).rowcount

    def _row_numbers(self, campaign_id: str, condition: ColumnElement[bool], page_size: int) -> Iterator[int]:
        def page(last: tuple[Any, ...] | None) -> Select[Any]:
            after = CampaignRow.row > last[0] if last is not None else true()
            where = (CampaignRow.campaign_id == campaign_id, condition, after)
            return select(CampaignRow.row).where(*where).order_by(CampaignRow.row)

        return (row[0] for row in self._pages(page, page_size))

    def rows_to_render(self, campaign_id: str, page_size: int = BATCH_SIZE) -> Iterator[int]:
        """Row numbers not done or quarantined, in order, read a page at a time (for resume).

        Call `requeue_failed` first: `start_row` refuses rows that are still failed.
        """
        condition = CampaignRow.status.not_in(("done", "quarantined"))
        return self._row_numbers(campaign_id, condition, page_size)

    def done_rows(self, campaign_id: str, page_size: int = BATCH_SIZE) -> Iterator[int]:
        """Row numbers that are done, in order, read a page at a time."""
        return self._row_numbers(campaign_id, CampaignRow.status == "done", page_size)

    def iter_results(self, campaign_id: str, page_size: int = BATCH_SIZE) -> Iterator[RowRecord]:
        """Every row of the campaign in row order, read a page at a time."""

        def page(last: tuple[Any, ...] | None) -> Select[Any]:
            after = CampaignRow.row > last[0] if last is not None else true()
            where = (CampaignRow.campaign_id == campaign_id, after)
            return select(*_ROW).where(*where).order_by(CampaignRow.row)

        return (_record(RowRecord, row) for row in self._pages(page, page_size))

    def iter_rejects(self, campaign_id: str, page_size: int = BATCH_SIZE) -> Iterator[RejectRecord]:
        """Every reject of the campaign in (row, field) order, read a page at a time."""

        def page(last: tuple[Any, ...] | None) -> Select[Any]:
            after = true()
            if last is not None:
                after = (Reject.row > last[0]) | ((Reject.row == last[0]) & (Reject.field > last[1]))
            where = (Reject.campaign_id == campaign_id, after)
            return select(*_REJECT).where(*where).order_by(Reject.row, Reject.field)

        return (_record(RejectRecord, row) for row in self._pages(page, page_size))

    # ---- render jobs ---------------------------------------------------------------------------

    def create_render_job(
        self,
        template: str,
        recipient_id: str,
        outputs: Iterable[str],
        webhook_url: str | None = None,
        api_key_id: str | None = None,
    ) -> RenderJobRecord:
        """Record a queued render of one recipient."""
        now = _now()
        job = RenderJobRecord(
            token_hex(16), template, recipient_id, tuple(outputs), "queued", None, None,
            webhook_url, now, now, api_key_id,
        )  # fmt: skip
        with self._write() as connection:
            connection.execute(self._insert(RenderJob).values(asdict(job)))
        return job

    def get_render_job(self, job_id: str) -> RenderJobRecord | None:
        """The render job, or None when unknown."""
        return self._one(RenderJobRecord, _JOB, RenderJob.id == job_id)

    def _move_job(self, job_id: str, values: dict[str, Any]) -> bool:
        values["updated_at"] = _now()
        allowed = RenderJob.status.in_(_OPEN_JOB)
        return self._update(RenderJob, values, RenderJob.id == job_id, allowed) == 1

    def start_render_job(self, job_id: str) -> bool:
        """queued/rendering -> rendering; False once done or failed."""
        return self._move_job(job_id, {"status": "rendering"})

    def finish_render_job(self, job_id: str, result: Mapping[str, str]) -> bool:
        """-> done with its output keys; False (nothing written) once done or failed."""
        return self._move_job(job_id, {"status": "done", "result": dict(result), "error": None})

    def fail_render_job(self, job_id: str, error: str) -> bool:
        """-> failed; False (nothing written) once done or failed."""
        return self._move_job(job_id, {"status": "failed", "error": error})

    # ---- api keys ------------------------------------------------------------------------------

    def create_api_key(self, name: str) -> tuple[str, ApiKeyRecord]:
        """A new key: returns its plaintext (shown once, never stored) and its record."""
        plaintext = "tk_" + token_urlsafe(32)
        record = ApiKeyRecord(token_hex(16), name, _now(), None)
        values = {
            "id": record.id,
            "name": name,
            "key_hash": _sha256(plaintext),
            "created_at": record.created_at,
        }
        with self._write() as connection:
            connection.execute(self._insert(ApiKey).values(values))
        return plaintext, record

    def verify_api_key(self, plaintext: str) -> ApiKeyRecord | None:
        """The key's record when the plaintext matches a key that is not revoked, else None."""
        digest = _sha256(plaintext)
        query = select(ApiKey.key_hash, *_KEY).where(ApiKey.key_hash == digest, ApiKey.revoked_at.is_(None))
        with self._read() as connection:
            row = connection.execute(query).first()
        if row is None or not hmac.compare_digest(row[0], digest):
            return None
        return ApiKeyRecord(*row[1:])

    def list_api_keys(self) -> list[ApiKeyRecord]:
        """Every API key, revoked ones included, oldest first (never a secret or its hash)."""
        with self._read() as connection:
            rows = connection.execute(select(*_KEY).order_by(ApiKey.created_at, ApiKey.id)).all()
        return [_record(ApiKeyRecord, row) for row in rows]

    def revoke_api_key(self, key_id: str) -> bool:
        """Revoke a key for good; True when it was active."""
        active = (ApiKey.id == key_id) & ApiKey.revoked_at.is_(None)
        return self._update(ApiKey, {"revoked_at": _now()}, active) == 1

    # ---- webhooks and their outbox -------------------------------------------------------------

    def add_webhook(
        self, url: str, secret: str, events: Iterable[str], api_key_id: str | None = None
    ) -> WebhookRecord:
        """Subscribe `url` to `events`; `secret` signs each delivery."""
        hook = WebhookRecord(token_hex(16), url, secret, tuple(events), _now(), api_key_id)
        with self._write() as connection:
            connection.execute(self._insert(Webhook).values(asdict(hook)))
        return hook

    def webhooks_for(self, event: str) -> list[WebhookRecord]:
        """Webhooks subscribed to `event` (webhooks are few: filtered here, not in SQL)."""
        with self._read() as connection:
            rows = connection.execute(select(*_HOOK).order_by(Webhook.created_at)).all()
        return [hook for hook in (_record(WebhookRecord, row) for row in rows) if event in hook.events]

    def webhooks_of(self, api_key_id: str) -> list[WebhookRecord]:
        """The webhooks an API key registered, oldest first."""
        query = (
            select(*_HOOK).where(Webhook.api_key_id == api_key_id).order_by(Webhook.created_at, Webhook.id)
        )
        with self._read() as connection:
            return [_record(WebhookRecord, row) for row in connection.execute(query)]

    def delete_webhook(self, webhook_id: str, api_key_id: str) -> bool:
        """Delete a webhook of `api_key_id` and its outbox (nothing more is sent to it); False
        when the key has no webhook by that id."""
        owned = (Webhook.id == webhook_id) & (Webhook.api_key_id == api_key_id)
        with self._write() as connection:
            if connection.execute(select(Webhook.id).where(owned)).first() is None:
                return False
            connection.execute(delete(WebhookDelivery).where(WebhookDelivery.webhook_id == webhook_id))
            connection.execute(delete(Webhook).where(owned))
        return True

    def enqueue_delivery(
        self, webhook_id: str, event: str, payload: Mapping[str, Any], now: datetime | None = None
    ) -> DeliveryRecord:
        """Put one event for one webhook in the outbox, due now."""
        now = now or _now()
        delivery = DeliveryRecord(
            token_hex(16), webhook_id, event, dict(payload), "pending", 0, now, None, now
        )
        with self._write() as connection:
            connection.execute(self._insert(WebhookDelivery).values(asdict(delivery)))
        return delivery

    def due_deliveries(self, now: datetime | None = None, limit: int = 100) -> list[DeliveryRecord]:
        """Pending deliveries whose next attempt is due, oldest first."""
        due = (WebhookDelivery.status == "pending") & (WebhookDelivery.next_attempt_at <= (now or _now()))
        order = (WebhookDelivery.next_attempt_at, WebhookDelivery.created_at)
        with self._read() as connection:
            rows = connection.execute(select(*_DELIVERY).where(due).order_by(*order).limit(limit)).all()
        return [_record(DeliveryRecord, row) for row in rows]

    def claim_delivery(
        self, delivery_id: str, lease_s: float, now: datetime | None = None, max_attempts: int | None = None
    ) -> bool:
        """Take a pending, due delivery for an attempt, and count that attempt: one conditional
        UPDATE adds 1 to ``attempts`` and moves ``next_attempt_at`` to `now` + `lease_s`, so of any
        number of concurrent claimers (threads, API processes) exactly one gets True and the others
        see it not due. A claimer that dies before `mark_delivered` / `mark_delivery_failed` has
        spent the attempt; the delivery is due again once the lease ends. With `max_attempts`, a
        delivery that has used them all is not claimed (`give_up_delivery` ends it)."""
        now = now or _now()
        claimable = (
            (WebhookDelivery.id == delivery_id)
            & (WebhookDelivery.status == "pending")
            & (WebhookDelivery.next_attempt_at <= now)
        )
        if max_attempts is not None:
            claimable = claimable & (WebhookDelivery.attempts < max_attempts)
        lease = {
            "next_attempt_at": now + timedelta(seconds=lease_s),
            "attempts": WebhookDelivery.attempts + 1,
        }
        return self._update(WebhookDelivery, lease, claimable) == 1

    def mark_delivered(self, delivery_id: str) -> bool:
        """pending -> delivered (its attempt was counted when claimed); False when not pending."""
        pending = (WebhookDelivery.id == delivery_id) & (WebhookDelivery.status == "pending")
        return self._update(WebhookDelivery, {"status": "delivered"}, pending) == 1

    def mark_delivery_failed(
        self, delivery_id: str, error: str, next_attempt_at: datetime, dead: bool
    ) -> bool:
        """A claimed attempt failed: retry at `next_attempt_at`, or give up (``dead``)."""
        values = {
            "status": "dead" if dead else "pending",
            "last_error": error,
            "next_attempt_at": next_attempt_at,
        }
        pending = (WebhookDelivery.id == delivery_id) & (WebhookDelivery.status == "pending")
        return self._update(WebhookDelivery, values, pending) == 1

    def give_up_delivery(
        self, delivery_id: str, error: str, max_attempts: int, now: datetime | None = None
    ) -> bool:
        """pending -> dead for a due delivery that has used `max_attempts` (its last claimer died
        mid-attempt); False otherwise (it is leased, retried or finished)."""
        spent = (
            (WebhookDelivery.id == delivery_id)
            & (WebhookDelivery.status == "pending")
            & (WebhookDelivery.next_attempt_at <= (now or _now()))
            & (WebhookDelivery.attempts >= max_attempts)
        )
        return self._update(WebhookDelivery, {"status": "dead", "last_error": error}, spent) == 1

    # ---- recipient links -----------------------------------------------------------------------

    def create_recipient_link(
        self, template: str, campaign: str, recipient_id: str, ttl_s: float, now: datetime | None = None
    ) -> str:
        """A new 192-bit page token for one recipient; only its SHA-256 is stored."""
        token = token_urlsafe(24)
        self.keep_recipient_link(token, (template, campaign, recipient_id), ttl_s, now)
        return token

    def keep_recipient_link(
        self, token: str, recipient: tuple[str, str, str], ttl_s: float, now: datetime | None = None
    ) -> datetime:
        """Store the page token `token` (chosen by the caller) for (template, campaign, recipient
        id), expiring `ttl_s` from `now`, unless it is stored already: returns when the stored
        token expires (a token kept earlier keeps its expiry). Only its SHA-256 is stored; callers
        that choose tokens make them unguessable (192 bits or more)."""
        template, campaign, recipient_id = recipient
        now = now or _now()
        digest = _sha256(token)
        values = {
            "token_hash": digest,
            "template": template,
            "campaign": campaign,
            "recipient_id": recipient_id,
            "expires_at": now + timedelta(seconds=ttl_s),
            "created_at": now,
        }
        insert = self._insert(RecipientLink).values(values)
        with self._write() as connection:
            connection.execute(insert.on_conflict_do_nothing(index_elements=[RecipientLink.token_hash]))
            found = select(RecipientLink.expires_at).where(RecipientLink.token_hash == digest)
            expires: datetime = connection.execute(found).scalar_one()
        return expires

    def resolve_recipient_link(self, token: str, now: datetime | None = None) -> RecipientLinkRecord | None:
        """What the token points at, or None when it is unknown or expired."""
        live = (RecipientLink.token_hash == _sha256(token)) & (RecipientLink.expires_at > (now or _now()))
        return self._one(RecipientLinkRecord, _LINK, live)

    def purge_expired_links(
        self,
        grace_s: float = 86_400,
        now: datetime | None = None,
        batch_size: int = BATCH_SIZE,
        max_batches: int = 10,
    ) -> int:
        """Delete page links that expired more than `grace_s` ago (until then an expired token is
        still told apart from an unknown one), `batch_size` per transaction and at most
        `max_batches` transactions, so no call holds the write lock long; returns how many went.
        Call it again while it returns ``batch_size * max_batches``."""
        cutoff = (now or _now()) - timedelta(seconds=grace_s)
        expired = select(RecipientLink.token_hash).where(RecipientLink.expires_at < cutoff)
        deleted = 0
        for _ in range(max_batches):
            batch = expired.order_by(RecipientLink.expires_at).limit(batch_size)
            with self._write() as connection:
                hashes = list(connection.execute(batch).scalars())
                if hashes:  # another process purging at once may have taken some: count ours
                    gone = delete(RecipientLink).where(RecipientLink.token_hash.in_(hashes))
                    deleted += connection.execute(gone).rowcount
            if len(hashes) < batch_size:
                break
        return deleted

    # ---- erasure -------------------------------------------------------------------------------

    def erase_recipient(
        self, recipient_id: str, *, api_key_id: str | None = None, api_campaign: str | None = None
    ) -> list[str]:
        """Delete every campaign row, render job and page link of a recipient id; with
        `api_key_id`, only those of that key's campaigns and render jobs (and links into its
        campaigns or its `api_campaign` folder).

        Returns the storage keys those rows referenced, sorted, so the caller deletes the objects.
        """
        rows = CampaignRow.recipient_id == recipient_id
        jobs = RenderJob.recipient_id == recipient_id
        links = RecipientLink.recipient_id == recipient_id
        if api_key_id is not None:
            owned = select(Campaign.id).where(Campaign.api_key_id == api_key_id)
            rows = rows & CampaignRow.campaign_id.in_(owned)
            jobs = jobs & (RenderJob.api_key_id == api_key_id)
            links = links & (RecipientLink.campaign.in_(owned) | (RecipientLink.campaign == api_campaign))
        with self._write() as connection:
            found = [*connection.execute(select(CampaignRow.outputs).where(rows)).scalars()]
            found += connection.execute(select(RenderJob.result).where(jobs)).scalars()
            connection.execute(delete(CampaignRow).where(rows))
            connection.execute(delete(RenderJob).where(jobs))
            connection.execute(delete(RecipientLink).where(links))
        return sorted({key for keys in found if keys for key in keys.values()})
