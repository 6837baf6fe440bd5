"""The ingest task's body: stream a stored campaign's data file into an executor.

The same code runs as the Celery task ``tailor.ingest`` (`celery_app`) and on the background
thread of a broker-less process (`service`); it opens its own job store and storage, so it
imports neither of them.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path

from renderer.errors import TailorError
from renderer.jobs.campaigns import (
    Executor,
    IngestStats,
    complete_if_finished,
    fail_campaign,
    ingest,
    source_path,
)
from renderer.jobs.store import JobStore, open_store
from renderer.logs import bind
from renderer.outputs.load import load_template
from renderer.settings import Settings
from renderer.storage import open_storage
from renderer.storage.base import Storage


def ingest_stored_campaign(
    settings: Settings, campaign_id: str, executor: Executor, stop: Callable[[], bool] | None = None
) -> IngestStats:
    """Stream a stored campaign's data file into `executor` (the body of the ingest task); it
    stops early on a cancel or when `stop` answers True. A file or header that cannot be read
    fails the campaign with the reason."""
    store = open_store(settings.database_url)
    storage = open_storage(settings.storage_url, settings)
    with bind(campaign_id=campaign_id):
        return _ingest_stored(settings, store, storage, campaign_id, executor, stop)


def _ingest_stored(
    settings: Settings,
    store: JobStore,
    storage: Storage,
    campaign_id: str,
    executor: Executor,
    stop: Callable[[], bool] | None,
) -> IngestStats:
    try:
        campaign = store.campaigns.get(campaign_id)
        if campaign is None:
            raise KeyError(campaign_id)
        template = load_template(campaign.template, settings)
        with tempfile.TemporaryDirectory(prefix="tailor-ingest-") as scratch:
            try:
                data = source_path(storage, campaign.source_key, Path(scratch))
                stats = ingest(store, campaign, template, data, executor, settings, stop=stop)
            except TailorError as exc:
                fail_campaign(store, campaign_id, str(exc))
                return IngestStats()
        complete_if_finished(store, campaign_id)
        return stats
    finally:
        store.close()
        storage.close()
