"""What every concern store shares: its engine, short transactions, dialect inserts, paging.

Each concern store (`campaigns`, `rows`, ...) is a `ConcernStore` on the one engine that
`JobStore` owns. Every public method of a concern store runs in its own short transaction
(`write` or `read`) and returns plain frozen records (``schema.py``), never ORM objects; long
listings are read in keyset pages (`ConcernStore._pages`), so neither memory nor an open
transaction grows with a campaign. The helpers here are for the store package (and for modules
such as retention that write the store's tables in its own transactions), not for callers.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from itertools import islice
from typing import Any, TypeVar

from sqlalchemy import (
    ColumnElement,
    Connection,
    CursorResult,
    Engine,
    Executable,
    Row,
    Select,
    func,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite

from renderer.jobs.schema import Base

R = TypeVar("R")
BATCH_SIZE = 1000


@dataclass(frozen=True)
class Write:
    """A statement built once and the parameters of one use of it (a list: one execution per
    item), for a caller that commits several writes in one transaction (a campaign row's finish
    with its decision). Building a statement costs far more than running it on SQLite."""

    statement: Executable
    params: Mapping[str, Any] | Sequence[Mapping[str, Any]]

    def run(self, connection: Connection) -> CursorResult[Any]:
        """Execute it on `connection`, inside the caller's transaction."""
        return connection.execute(self.statement, self.params)


def utc_now() -> datetime:
    """The current time, timezone-aware UTC (every timestamp the store writes)."""
    return datetime.now(UTC)


def sha256_hex(text: str) -> str:
    """The hex SHA-256 of `text`: what the store keeps instead of a secret or a token."""
    return hashlib.sha256(text.encode()).hexdigest()


def columns_of(record: type[Any], model: type[Base]) -> list[Any]:
    """The columns of `model` named by the fields of `record`, in the record's field order."""
    return [getattr(model, f.name) for f in fields(record)]


def to_record(make: Callable[..., R], row: Row[Any]) -> R:
    """`make(*row)`, with JSON lists turned into tuples (records are frozen)."""
    return make(*(tuple(value) if isinstance(value, list) else value for value in row))


def batched(items: Iterable[R], size: int) -> Iterator[list[R]]:
    """`items` in lists of `size` (the last one shorter), read lazily."""
    iterator = iter(items)
    while batch := list(islice(iterator, size)):
        yield batch


@contextmanager
def write(engine: Engine) -> Iterator[Connection]:
    """One write transaction, committed on exit and rolled back on an exception. On SQLite it
    takes the write lock up front (``BEGIN IMMEDIATE``), so busy_timeout applies."""
    with engine.connect() as connection:
        connection.execution_options(tailor_write=True)
        with connection.begin():
            yield connection


@contextmanager
def durable_write(engine: Engine) -> Iterator[Connection]:
    """`write`, but on SQLite committed with ``synchronous = FULL`` (the WAL is synced to disk
    before the commit returns), so what the caller acknowledges after it survives a power cut,
    not only a process crash; the connection goes back to the pool at ``NORMAL``. PostgreSQL
    commits durably already."""
    with engine.connect() as connection:
        raw = connection.connection.driver_connection if engine.dialect.name == "sqlite" else None
        if raw is not None:  # outside any transaction: SQLite refuses it inside one
            raw.execute("PRAGMA synchronous = FULL")
        try:
            connection.execution_options(tailor_write=True)
            with connection.begin():
                yield connection
        finally:
            if raw is not None:
                raw.execute("PRAGMA synchronous = NORMAL")


@contextmanager
def read(engine: Engine) -> Iterator[Connection]:
    """One read transaction (SQLite: a plain ``BEGIN``, no write lock)."""
    with engine.connect() as connection, connection.begin():
        yield connection


class ConcernStore:
    """The base of each concern store: the shared engine and the session helpers on it."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def _write(self) -> AbstractContextManager[Connection]:
        return write(self.engine)

    def _read(self) -> AbstractContextManager[Connection]:
        return read(self.engine)

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
        return None if row is None else to_record(make, row)

    def _count_by(self, column: Any) -> dict[str, int]:
        with self._read() as connection:
            found = connection.execute(select(column, func.count()).group_by(column))
            return {str(value): int(count) for value, count in found}

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
