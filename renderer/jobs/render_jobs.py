"""Render jobs: one recipient rendered for the API, now (microsite, PDF) or in the background (video).

Every API render is a render job in the store (so ``DELETE /recipients/{id}`` finds its outputs
and ``GET /renders/{id}`` its status); outputs go under the campaign segment `api_campaign`. `Outcome`
records how a render ended, counts it and emits ``render.completed`` / ``render.failed`` (to
subscribed webhooks and the render's own ``webhook_url``). A background job (video) runs
`run_background_render_job`: in the API's video processes without a broker, as the Celery task
``tailor.render_job`` (args ``[job_id, raw_values]``) with one.

Nothing here knows HTTP: the API hands `Outcome` its metrics (anything with `count_renders`), the
dispatcher's wake-up and, for its own error types, how a failure reads (`describe`).
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from renderer.errors import TailorError, TemplateError, template_message
from renderer.jobs.decided import api_delivery, decision_day, decision_inputs, record_decision
from renderer.jobs.events import emit, render_payload
from renderer.jobs.schema import RenderJobRecord
from renderer.jobs.store import JobStore, open_store
from renderer.jobs.video_mode import render_options
from renderer.logs import bind
from renderer.outputs.images import limit_image_size
from renderer.outputs.kind import RenderOptions
from renderer.outputs.load import load_template
from renderer.outputs.render import render_recipient
from renderer.outputs.template import Template
from renderer.settings import Settings
from renderer.storage import open_storage
from renderer.storage.base import Storage

log = logging.getLogger("tailor.api")


class RenderCounter(Protocol):
    """Where finished renders are counted (the API's Prometheus metrics)."""

    def count_renders(self, outputs: list[str], status: str) -> None:
        """Count one render of each of `outputs` that ended with `status` (ok, failed)."""
        ...


def api_campaign(api_key_id: str | None) -> str:
    """The campaign segment of keys rendered one at a time through the API: one per API key, so
    one key's render of a recipient id never overwrites (or serves) another key's."""
    return f"api-{api_key_id}" if api_key_id else "api"


def error_message(exc: BaseException) -> str:
    """What a failed job records: Tailor's own errors by message (a template fault names its file
    relative to the templates folder, never a server path), anything else by type only."""
    if isinstance(exc, TemplateError):
        return template_message(exc)
    if isinstance(exc, TailorError):
        return str(exc)
    return f"unexpected {type(exc).__name__}"


@dataclass(frozen=True)
class Outcome:
    """Records how a render job ended: its status, the render metrics, the event. `describe`
    turns the failure into the recorded error (the API adds its own error types)."""

    store: JobStore
    metrics: RenderCounter | None = None
    wake: Callable[[], None] | None = None
    describe: Callable[[BaseException], str] = error_message

    def success(self, job: RenderJobRecord, keys: dict[str, str], show_recipient: bool) -> None:
        """The job is done with these output keys."""
        self.store.render_jobs.finish(job.id, keys)
        self._count(job, "ok")
        self._notify(job.id, "render.completed", show_recipient)

    def failure(self, job: RenderJobRecord, exc: BaseException, show_recipient: bool) -> None:
        """The job failed with `exc` (its message is recorded only for Tailor's own errors)."""
        error = self.describe(exc)
        if self.store.render_jobs.fail(job.id, error):
            self._count(job, "failed")
            self._notify(job.id, "render.failed", show_recipient)

    def _count(self, job: RenderJobRecord, status: str) -> None:
        if self.metrics:
            self.metrics.count_renders(list(job.outputs), status)

    def _notify(self, job_id: str, event: str, show_recipient: bool) -> None:
        job = self.store.render_jobs.get(job_id)
        if job is None:  # erased meanwhile
            return
        payload = render_payload(job, show_recipient=show_recipient)
        hooks = self.store.webhooks.render_hook_ids(job)
        if emit(self.store, event, payload, api_key_id=job.api_key_id, webhook_ids=hooks) and self.wake:
            self.wake()


def shows_recipient(template: Template) -> bool:
    """Whether events may carry the recipient id (the contract does not mark it personal)."""
    contract = template.manifest.contract
    return not contract.ids_are_personal


def new_secret() -> str:
    """A fresh webhook signing secret."""
    return "whsec_" + secrets.token_urlsafe(32)


def add_render_hook(store: JobStore, url: str, api_key_id: str) -> str:
    """Register a render's own webhook (subscribed to no broadcast event); returns its secret."""
    secret = new_secret()
    store.webhooks.add(url, secret, (), api_key_id=api_key_id)
    return secret


def run_render_job(
    outcome: Outcome, storage: Storage, settings: Settings, job_id: str, raw_values: Mapping[str, Any]
) -> dict[str, float]:
    """Render a queued job in this process, in its video mode (on-play: no MP4, the video is
    rendered when played); never raises (the job records what went wrong). Returns the seconds
    each output took to render (empty when it did not render)."""
    job = outcome.store.render_jobs.get(job_id)
    durations: dict[str, float] = {}
    if job is None or job.status not in ("queued", "rendering"):
        return durations
    show = False
    try:
        template = load_template(job.template, settings)
        show = shows_recipient(template)
        recipient = template.validator.validate(dict(raw_values))
        outcome.store.render_jobs.start(job.id)
        options = render_options(RenderOptions.from_settings(settings), job.video_mode)
        campaign = api_campaign(job.api_key_id)
        shown_by = api_delivery(campaign, job.id)  # each job a showing of its own (caps)
        inputs = decision_inputs(
            outcome.store,
            template,
            campaign,
            job.recipient_id,
            decision_day(job.created_at),
            shown_by=shown_by,
        )
        stored = render_recipient(
            template,
            recipient,
            list(job.outputs),
            storage,
            campaign,
            options,
            durations=durations,
            decisions=inputs,
        )
        keys = stored.to_record()
        seconds = sum(durations.values())
        record_decision(
            outcome.store, template, campaign, job.recipient_id, stored.decision, seconds, shown_by=shown_by
        )
    except Exception as exc:
        outcome.failure(job, exc, show)
        if not isinstance(exc, TailorError):
            log.error("render job %s failed: unexpected %s", job_id, type(exc).__name__)
        return {}
    outcome.success(job, keys, show)
    return durations


def run_background_render_job(
    settings: Settings, job_id: str, raw_values: Mapping[str, Any]
) -> dict[str, float]:
    """A background render job with its own store and storage: the body of the Celery task
    ``tailor.render_job`` and of the API's video processes. Returns `run_render_job`'s durations."""
    limit_image_size(settings.max_image_pixels)
    store = open_store(settings.database_url)
    storage = open_storage(settings.storage_url, settings)
    try:
        with bind(job_id=job_id):  # the job's log lines carry its id
            return run_render_job(Outcome(store), storage, settings, job_id, raw_values)
    finally:
        store.close()
        storage.close()
