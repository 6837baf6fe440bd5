"""One recipient rendered through the API: now (microsite, PDF) or as a background job (video).

Every API render is a render job in the store (so ``DELETE /recipients/{id}`` finds its outputs
and ``GET /renders/{id}`` its status); outputs go under the campaign segment ``api``. Without a
broker a job runs on the app's video threads; with one it is published as the Celery task
``tailor.render_job`` with ``[job_id, raw_values]``, whose body is `render_job_from_settings`.
Events (and the render's own webhook) are emitted when a job finishes either way.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from renderer.api.errors import ApiError
from renderer.api.events import render_payload
from renderer.api.links import API_CAMPAIGN
from renderer.api.metrics import Metrics
from renderer.api.webhooks import emit
from renderer.errors import RenderError, StorageError, TailorError
from renderer.jobs.schema import RenderJobRecord, Webhook
from renderer.jobs.store import JobStore, open_store
from renderer.jobs.work import RenderOptions, render_recipient
from renderer.settings import Settings
from renderer.storage import open_storage
from renderer.storage.base import Storage
from renderer.template.load import Template, load_template

log = logging.getLogger("tailor.api")


@dataclass(frozen=True)
class RenderContext:
    """What rendering one job needs; `wake` nudges the webhook dispatcher after an event."""

    store: JobStore
    storage: Storage
    options: RenderOptions
    template: Callable[[str], Template]
    metrics: Metrics | None = None
    wake: Callable[[], None] | None = None


def new_secret() -> str:
    """A fresh webhook signing secret."""
    return "whsec_" + secrets.token_urlsafe(32)


def add_render_hook(store: JobStore, url: str, api_key_id: str) -> str:
    """Register a render's own webhook (subscribed to no broadcast event); returns its secret."""
    secret = new_secret()
    store.add_webhook(url, secret, (), api_key_id=api_key_id)
    return secret


def render_hook_ids(store: JobStore, job: RenderJobRecord) -> tuple[str, ...]:
    """The id of the webhook registered with `job`'s webhook_url (workaround: render jobs do not
    record their webhook id yet, so the newest matching registration up to the job's creation)."""
    if not job.webhook_url:
        return ()
    query = (
        select(Webhook.id, Webhook.events)
        .where(Webhook.url == job.webhook_url, Webhook.created_at <= job.created_at)
        .where(
            Webhook.api_key_id.is_(None) if job.api_key_id is None else Webhook.api_key_id == job.api_key_id
        )
        .order_by(Webhook.created_at.desc())
    )
    with store.engine.connect() as connection:
        for webhook_id, events in connection.execute(query):
            if not events:
                return (str(webhook_id),)
    return ()


def _notify(context: RenderContext, job_id: str, event: str, show_recipient: bool) -> None:
    job = context.store.get_render_job(job_id)
    if job is None:  # erased meanwhile
        return
    payload = render_payload(job, show_recipient=show_recipient)
    hooks = render_hook_ids(context.store, job)
    if emit(context.store, event, payload, api_key_id=job.api_key_id, webhook_ids=hooks) and context.wake:
        context.wake()


def execute_render(
    context: RenderContext, job: RenderJobRecord, template: Template, recipient: dict[str, Any]
) -> dict[str, str]:
    """Render and store a validated recipient for `job`, record the result, emit the event.
    Returns output -> storage key; re-raises the render's error after recording it."""
    store, outputs = context.store, list(job.outputs)
    contract = template.manifest.contract
    show = not contract.fields[contract.recipient_id].personal
    store.start_render_job(job.id)
    try:
        keys = render_recipient(template, recipient, outputs, context.storage, API_CAMPAIGN, context.options)
    except Exception as exc:
        error = (
            str(exc) if isinstance(exc, RenderError | StorageError) else f"unexpected {type(exc).__name__}"
        )
        store.fail_render_job(job.id, error)
        if context.metrics:
            context.metrics.count_renders(outputs, "failed")
        _notify(context, job.id, "render.failed", show)
        raise
    store.finish_render_job(job.id, keys)
    if context.metrics:
        context.metrics.count_renders(outputs, "ok")
    _notify(context, job.id, "render.completed", show)
    return keys


def run_render_job(context: RenderContext, job_id: str, raw_values: Mapping[str, Any]) -> None:
    """A background render job; never raises (the job records what went wrong)."""
    job = context.store.get_render_job(job_id)
    if job is None or job.status not in ("queued", "rendering"):
        return
    try:
        template = context.template(job.template)
        recipient = template.validator.validate(dict(raw_values))
        execute_render(context, job, template, recipient)
    except (TailorError, ApiError) as exc:
        if context.store.fail_render_job(job_id, str(exc)):  # failed before rendering started
            _notify(context, job_id, "render.failed", show_recipient=False)
    except Exception as exc:  # a bug: the job says which kind, the log too; never a value
        log.error("render job %s failed: unexpected %s", job_id, type(exc).__name__)


def render_job_from_settings(settings: Settings, job_id: str, raw_values: Mapping[str, Any]) -> None:
    """The body of the Celery task ``tailor.render_job``: opens its own store and storage."""
    store = open_store(settings.database_url)
    storage = open_storage(settings.storage_url, settings)
    try:
        context = RenderContext(
            store, storage, RenderOptions.from_settings(settings), lambda name: load_template(name, settings)
        )
        run_render_job(context, job_id, raw_values)
    finally:
        store.close()
        storage.close()
