"""The job store on real SQLite and (when installed) real PostgreSQL: schema, migrations, the
engine shared by several stores and processes. Each concern store has its own ``test_store_*.py``."""

from __future__ import annotations

import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from fixture_store import new_campaign, race
from sqlalchemy import inspect

from renderer.jobs.schema import Base
from renderer.jobs.store import JobStore, open_store
from renderer.settings import PROJECT_ROOT


def test_alembic_upgrade_head_builds_exactly_the_models(job_store: JobStore) -> None:
    with job_store.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, Base.metadata) == []
        assert context.get_current_revision() == "0007"


def test_event_and_submission_ids_are_64_bit_and_events_are_paged_by_id(job_store: JobStore) -> None:
    inspector = inspect(job_store.engine)
    wide = "INTEGER" if job_store.engine.dialect.name == "sqlite" else "BIGINT"  # SQLite's is 64-bit
    for table in ("engagement_events", "form_submissions"):
        [column] = [column for column in inspector.get_columns(table) if column["name"] == "id"]
        assert str(column["type"]) == wide, table
    indexes = {tuple(index["column_names"]) for index in inspector.get_indexes("engagement_events")}
    assert ("template", "campaign", "id") in indexes  # EventStore.for_campaign's keyset
    assert ("template", "campaign", "kind") not in indexes  # only reach_by_variant reads by kind, covered


def test_open_store_concurrently_on_an_empty_database(job_store_url: str) -> None:
    stores = race(3, lambda _: open_store(job_store_url))
    try:
        campaign = new_campaign(stores[0], rows=3)
        assert stores[2].campaigns.get(campaign) is not None
    finally:
        for store in stores:
            store.close()


def test_timestamps_are_timezone_aware_utc(job_store: JobStore) -> None:
    campaign = job_store.campaigns.get(new_campaign(job_store))
    assert campaign is not None
    assert campaign.created_at.tzinfo is UTC
    assert abs(datetime.now(UTC) - campaign.created_at) < timedelta(minutes=1)


WRITER = """
import sys, time
from renderer.jobs.store import open_store
url, index, start = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
time.sleep(max(0.0, start - time.time()))
store = open_store(url)
campaign, _ = store.campaigns.create("bill-summary", ["pdf"], "k", idempotency_key="shared")
store.rows.add(campaign.id, ((n, f"C{n:06d}") for n in range(400)))
for n in range(index, 400, 2):
    assert store.rows.start(campaign.id, n)
    assert store.rows.finish(campaign.id, n, {"pdf": f"k/{n}"})
    store.campaigns.counts(campaign.id)
print(campaign.id)
"""


def test_two_processes_write_one_sqlite_file(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'jobs.db'}"
    start = time.time() + 1.5  # both open (and migrate) the fresh file at the same moment
    writers = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, url, str(index), str(start)],
            cwd=PROJECT_ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for index in range(2)
    ]
    outputs = [writer.communicate(timeout=120) for writer in writers]
    for writer, (_, stderr) in zip(writers, outputs, strict=True):
        assert writer.returncode == 0, stderr[-2000:]
        assert "locked" not in stderr
    campaign_ids = {stdout.strip() for stdout, _ in outputs}
    assert len(campaign_ids) == 1
    store = open_store(url)
    try:
        counts = store.campaigns.counts(campaign_ids.pop())
        assert counts is not None and (counts["rows"], counts["done"]) == (400, 400)
    finally:
        store.close()
