"""Campaign operations the front doors call: start, resume, cancel, each on the configured executor.

With `TAILOR_BROKER_URL` the ingest runs as a Celery task and chunks go to Celery workers;
without it, the ingest and a local process pool run on a background thread of the calling
process (the API), so `make demo`-style setups need no server. Either way the job store is the
single source of truth for progress.
"""

from __future__ import annotations

import threading
import time

from renderer.data.dialect import SourceFormat
from renderer.errors import ServiceUnavailable
from renderer.jobs.campaigns import (
    cancel_campaign,
    complete_if_finished,
    create_campaign,
    fail_campaign,
    prepare_resume,
)
from renderer.jobs.ingest import ingest_stored_campaign
from renderer.jobs.local import LocalPoolExecutor
from renderer.jobs.schema import CampaignRecord
from renderer.jobs.store import JobStore, open_store
from renderer.outputs.load import load_template
from renderer.settings import Settings

_BACKGROUND: dict[str, threading.Thread] = {}
# running background ingests: campaign id -> (job store URL, stop signal, local pool)
_RUNNING: dict[str, tuple[str, threading.Event, LocalPoolExecutor]] = {}
STOPPED_REASON = "the server stopped before the campaign finished; resume it"


def start_campaign(
    settings: Settings,
    store: JobStore,
    template_name: str,
    outputs: list[str],
    source_key: str,
    *,
    idempotency_key: str | None = None,
    api_key_id: str | None = None,
    source_format: SourceFormat | None = None,
    video_mode: str | None = None,
) -> tuple[CampaignRecord, bool]:
    """Create the campaign (or return the one with this idempotency key, not started again) and
    start its ingest (reading the file as `source_format` says; videos rendered when played when
    `video_mode` is ``on-play``). ServiceUnavailable when the
    broker is down: the campaign is then marked failed with that reason, and `resume` starts it
    later."""
    template = load_template(template_name, settings)
    campaign, created = create_campaign(
        store,
        template,
        outputs,
        source_key,
        idempotency_key=idempotency_key,
        api_key_id=api_key_id,
        source_format=source_format,
        video_mode=video_mode,
    )
    if created:
        _dispatch_ingest(settings, store, campaign.id)
    return campaign, created


def resume_campaign(settings: Settings, store: JobStore, campaign_id: str) -> CampaignRecord:
    """Reopen a cancelled or failed campaign and ingest again: only rows not done are rendered.
    KeyError for an unknown id; ServiceUnavailable while this process is still stopping the
    campaign's previous run (retry shortly), so two ingests never run side by side."""
    earlier = _BACKGROUND.get(campaign_id)
    if earlier is not None and earlier.is_alive():
        raise ServiceUnavailable(
            "the campaign's previous run is still stopping; retry in a few seconds", service="campaign"
        )
    campaign, reopened = prepare_resume(store, campaign_id, settings)
    if reopened:  # of two concurrent resumes, only the one that reopened it ingests
        _dispatch_ingest(settings, store, campaign.id)
    return campaign


def stop_campaign(store: JobStore, campaign_id: str) -> bool:
    """Cancel: no new renders start; True when the campaign was running or pending."""
    return cancel_campaign(store, campaign_id)


def _dispatch_ingest(settings: Settings, store: JobStore, campaign_id: str) -> None:
    if settings.broker_url:
        from renderer.jobs.celery_app import celery_for, publish

        try:
            publish(celery_for(settings), "tailor.ingest", [campaign_id])
        except ServiceUnavailable as exc:
            fail_campaign(store, campaign_id, str(exc))
            raise
        return

    executor, stopping = LocalPoolExecutor(settings), threading.Event()
    _RUNNING[campaign_id] = (settings.database_url, stopping, executor)

    def run() -> None:
        background_store = open_store(settings.database_url)
        try:
            ingest_stored_campaign(settings, campaign_id, executor, stop=stopping.is_set)
            if stopping.is_set():
                executor.stop()
                fail_campaign(background_store, campaign_id, STOPPED_REASON)  # resumable
                return
            executor.drain()
            complete_if_finished(background_store, campaign_id)
        except Exception as exc:  # a database or pool failure: the campaign becomes resumable
            fail_campaign(background_store, campaign_id, f"the campaign stopped: {type(exc).__name__}")
        finally:
            _RUNNING.pop(campaign_id, None)
            executor.close()
            background_store.close()

    thread = threading.Thread(target=run, name=f"tailor-campaign-{campaign_id[:8]}", daemon=True)
    _BACKGROUND[campaign_id] = thread
    thread.start()


def stop_background(settings: Settings, timeout_s: float = 30.0) -> None:
    """A graceful shutdown: every broker-less campaign this process runs on the job store of
    `settings` stops ingesting within a batch, its pool workers are stopped (their rows stay
    open), it is marked failed with `STOPPED_REASON` (``/resume`` continues it), and its
    temporary folder is removed; waits at most `timeout_s` in all."""
    mine = [cid for cid, (url, _, _) in list(_RUNNING.items()) if url == settings.database_url]
    for campaign_id in mine:
        _, stopping, executor = _RUNNING.get(campaign_id) or (None, threading.Event(), None)
        stopping.set()
        if executor is not None:
            executor.stop()  # unblocks an ingest waiting on its chunks in flight
    deadline = time.monotonic() + timeout_s
    for campaign_id in mine:
        thread = _BACKGROUND.get(campaign_id)
        if thread is not None:
            thread.join(max(0.0, deadline - time.monotonic()))


def wait_for_background(campaign_id: str, timeout_s: float | None = None) -> None:
    """Join the background thread of a broker-less campaign (tests, graceful shutdown)."""
    thread = _BACKGROUND.get(campaign_id)
    if thread is not None:
        thread.join(timeout_s)
