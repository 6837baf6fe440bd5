"""The events Tailor emits: `emit` puts one in the webhook outbox for every webhook that
subscribed to it (the API's ``webhooks.py`` delivers them). Campaign events are emitted where a
campaign finishes (`renderer.jobs.campaigns.complete_if_finished` / `fail_campaign`), and render
events where a render job ends (`renderer.jobs.render_jobs.Outcome`), in whichever process, and
``form.submitted`` where a recipient's form submit is stored (the API's ``routes/forms.py``).

Payloads carry ids, statuses and counts, never personal values: a recipient id is included only
when the template's contract does not mark it personal. Links are not sent either (a receiver
asks ``GET /renders/{id}`` for fresh ones), so no page token ever sits in the outbox.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from renderer.jobs.progress import campaign_progress
from renderer.jobs.schema import RenderJobRecord
from renderer.jobs.store import JobStore

EVENTS = ("render.completed", "render.failed", "campaign.completed", "campaign.failed", "form.submitted")


def emit(
    store: JobStore,
    event: str,
    payload: Mapping[str, Any],
    *,
    api_key_id: str | None = None,
    webhook_ids: tuple[str, ...] = (),
) -> int:
    """Enqueue `event` for every webhook subscribed to it that may see it (registered by the same
    API key, or outside the API), plus `webhook_ids`; returns how many deliveries were enqueued.
    `payload` must hold no personal values."""
    if event not in EVENTS:
        raise ValueError(f"unknown webhook event {event!r}")
    targets = {
        hook.id for hook in store.webhooks.subscribed_to(event) if hook.api_key_id in (None, api_key_id)
    }
    targets.update(webhook_ids)
    for webhook_id in sorted(targets):
        store.webhooks.enqueue_delivery(webhook_id, event, payload)
    return len(targets)


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


def emit_campaign_event(store: JobStore, campaign_id: str) -> bool:
    """Emit ``campaign.completed`` or ``campaign.failed`` for a finished campaign, to the webhooks of
    the key that started it; False (nothing emitted) while it runs or when cancelled. Call it once
    per finish (e.g. where `complete_if_finished` returns True)."""
    campaign = store.campaigns.get(campaign_id)
    if campaign is None or campaign.status not in ("done", "failed"):
        return False
    event = "campaign.completed" if campaign.status == "done" else "campaign.failed"
    payload = campaign_payload(store, campaign_id) or {"campaign_id": campaign_id}
    emit(store, event, payload, api_key_id=campaign.api_key_id)
    return True
