"""Reads the API needs that `JobStore` does not offer yet, written against its tables.

Each is a small query in its own transaction, like the store's methods; they belong in
``renderer/jobs/store.py`` (see the API report) and can move there unchanged.
"""

from __future__ import annotations

import hashlib
from typing import Any

from sqlalchemy import func, select

from renderer.jobs.schema import (
    Campaign,
    CampaignRow,
    RecipientLink,
    RenderJob,
    Webhook,
    WebhookDelivery,
    WebhookRecord,
)
from renderer.jobs.store import JobStore


def get_webhook(store: JobStore, webhook_id: str) -> WebhookRecord | None:
    """One webhook by id, or None (JobStore.get_webhook)."""
    columns = [
        Webhook.id,
        Webhook.url,
        Webhook.secret,
        Webhook.events,
        Webhook.created_at,
        Webhook.api_key_id,
    ]
    with store.engine.connect() as connection:
        row = connection.execute(select(*columns).where(Webhook.id == webhook_id)).first()
    if row is None:
        return None
    values: tuple[Any, ...] = tuple(row)
    hook_id, url, secret, events, created_at, api_key_id = values
    return WebhookRecord(str(hook_id), str(url), str(secret), tuple(events or ()), created_at, api_key_id)


def link_exists(store: JobStore, token: str) -> bool:
    """Whether a page token was ever issued, expired or not (resolve_recipient_link says None for
    both, and the API answers 410 rather than 404 for an expired link)."""
    digest = hashlib.sha256(token.encode()).hexdigest()
    with store.engine.connect() as connection:
        found = connection.execute(select(RecipientLink.expires_at).where(RecipientLink.token_hash == digest))
        return found.first() is not None


def status_counts(store: JobStore) -> tuple[dict[str, int], dict[str, int]]:
    """Campaign rows by status and campaigns by status, over the whole store (for /metrics)."""
    with store.engine.connect() as connection:
        rows = connection.execute(select(CampaignRow.status, func.count()).group_by(CampaignRow.status))
        row_counts = {str(status): int(count) for status, count in rows}
        found = connection.execute(select(Campaign.status, func.count()).group_by(Campaign.status))
        campaign_counts = {str(status): int(count) for status, count in found}
    return row_counts, campaign_counts


def queue_counts(store: JobStore) -> tuple[dict[str, int], dict[str, int]]:
    """Render jobs by status and webhook deliveries by status, over the whole store (for
    /metrics: ``queued`` jobs and ``pending`` deliveries are what is waiting)."""
    with store.engine.connect() as connection:
        jobs = connection.execute(select(RenderJob.status, func.count()).group_by(RenderJob.status))
        job_counts = {str(status): int(count) for status, count in jobs}
        found = connection.execute(
            select(WebhookDelivery.status, func.count()).group_by(WebhookDelivery.status)
        )
        delivery_counts = {str(status): int(count) for status, count in found}
    return job_counts, delivery_counts
