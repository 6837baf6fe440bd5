"""The store's engine: SQLite (WAL, pragmas, write-lock-up-front transactions) or PostgreSQL
(psycopg 3), and the Alembic upgrade that brings a database to the newest schema."""

from __future__ import annotations

import functools
import sqlite3
import time
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Engine, create_engine, event, func, select
from sqlalchemy.engine import make_url
from sqlalchemy.pool import StaticPool

MIGRATIONS = Path(__file__).parent.with_name("migrations")
_MIGRATION_LOCK = 0x7A11_0001  # PostgreSQL advisory lock held while migrating


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
    """An engine for a SQLite or PostgreSQL URL (``postgresql://`` uses psycopg 3).

    SQLite files get WAL, a 30 s busy timeout and foreign keys, and write transactions take the
    write lock up front; an in-memory database is one shared connection. PostgreSQL errors never
    show bound parameters (no ids in logs). Any other backend is a ValueError.
    """
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
