"""Alembic environment of the job store.

`renderer.jobs.store.upgrade_store` runs it with an open connection in
``config.attributes["connection"]`` (inside its own locked transaction); the ``alembic`` command
line works too, given ``sqlalchemy.url``. SQLite migrations run in batch mode (table copies).
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection, create_engine, pool

from renderer.jobs.schema import Base


def run_migrations(connection: Connection) -> None:
    """Apply the pending revisions on one connection."""
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def main() -> None:
    """Run online with the caller's connection, or one made from ``sqlalchemy.url``."""
    config = context.config
    connection = config.attributes.get("connection")
    if connection is not None:
        run_migrations(connection)
        return
    url = config.get_main_option("sqlalchemy.url")
    if context.is_offline_mode() or not url:
        raise SystemExit("job store migrations run online: set sqlalchemy.url")
    engine = create_engine(url, poolclass=pool.NullPool)
    with engine.connect() as connection:
        run_migrations(connection)


main()
