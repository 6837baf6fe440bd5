"""The events the API emits, and a watcher that turns finished campaigns into events.

Payloads carry ids, statuses and counts, never personal values: a recipient id is included only
when the template's contract does not mark it personal. Links are not sent either (a receiver
asks ``GET /renders/{id}`` for fresh ones), so no page token ever sits in the outbox.

Campaigns finish in worker processes (a local pool or Celery), which do not emit events yet;
until they do, `CampaignWatcher` polls the campaigns this API process started or resumed and
emits ``campaign.completed`` / ``campaign.failed`` once when it sees one finish. A campaign still
running when the API restarts gets no event (see the API report: the jobs layer should emit).
"""

from __future__ import annotations

import threading
from typing import Any

from renderer.api.webhooks import emit
from renderer.jobs.campaigns import campaign_progress
from renderer.jobs.schema import RenderJobRecord
from renderer.jobs.store import JobStore


def render_payload(job: RenderJobRecord, *, show_recipient: bool) -> dict[str, Any]:
    """The data of a render.completed / render.failed event."""
    payload: dict[str, Any] = {
        "render_id": job.id,
        "template": job.template,
        "status": job.status,
        "outputs": list(job.outputs),
        "error": job.error,
    }
    if show_recipient:
        payload["recipient_id"] = job.recipient_id
    return payload


def campaign_payload(store: JobStore, campaign_id: str) -> dict[str, Any] | None:
    """The data of a campaign.completed / campaign.failed event; None for an unknown campaign."""
    progress = campaign_progress(store, campaign_id)
    if progress is None:
        return None
    return {
        "campaign_id": progress.id,
        "template": progress.template,
        "status": progress.status,
        "total": progress.total,
        "done": progress.done,
        "rejected": progress.rejected,
        "failed": progress.failed,
        "quarantined": progress.quarantined,
        "error": progress.error,
    }


class CampaignWatcher:
    """Campaigns to report on when they finish (campaign id -> the API key that started them)."""

    def __init__(self) -> None:
        self._watched: dict[str, str | None] = {}
        self._lock = threading.Lock()

    def watch(self, campaign_id: str, api_key_id: str | None) -> None:
        """Emit an event when `campaign_id` is done or failed."""
        with self._lock:
            self._watched[campaign_id] = api_key_id

    def __call__(self, store: JobStore) -> int:
        """Emit for every watched campaign that has finished; returns how many finished."""
        with self._lock:
            watched = list(self._watched.items())
        finished = 0
        for campaign_id, api_key_id in watched:
            campaign = store.get_campaign(campaign_id)
            if campaign is not None and campaign.status in ("pending", "running"):
                continue
            if campaign is not None and campaign.status in ("done", "failed"):
                payload = campaign_payload(store, campaign_id)
                event = "campaign.completed" if campaign.status == "done" else "campaign.failed"
                emit(store, event, payload or {"campaign_id": campaign_id}, api_key_id=api_key_id)
                finished += 1
            with self._lock:  # cancelled or gone: nothing to say until it is resumed
                self._watched.pop(campaign_id, None)
        return finished
