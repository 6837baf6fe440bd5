"""``POST /templates/{name}/renders`` renders one recipient; ``GET /renders/{id}`` polls a render.

Microsite and PDF are rendered at once in one of ``workers`` render processes (WeasyPrint is not
thread-safe; the event loop awaits them and never blocks) and answered ``200`` with a page link
and direct links. Asking for video answers ``202`` with a job to poll; it renders in the API's
video processes, or on Celery workers when a broker is configured. With ``"video": "on-play"``
that job stores the page's tracks, poster and stream plan only (quick): the video's segments are
rendered when it is played.
"""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import Future
from concurrent.futures.process import BrokenProcessPool
from functools import partial
from typing import Any

from fastapi import APIRouter, Depends, Response
from fastapi.concurrency import run_in_threadpool

from renderer.api.deps import ApiKey, ApiKeySecret, State, owned, require_api_key
from renderer.api.egress import require_allowed
from renderer.api.errors import ApiError
from renderer.api.links import RecipientLinks, mint_links, public_base, render_page_token
from renderer.api.models import ErrorOut, RenderOut, RenderRequest
from renderer.api.output_choice import choose_outputs, choose_video_mode
from renderer.api.render_pool import died, render_in_worker
from renderer.api.state import ApiState
from renderer.errors import ServiceUnavailable, StorageError
from renderer.jobs.decided import api_delivery, decision_day, decision_inputs, record_decision
from renderer.jobs.render_jobs import (
    Outcome,
    add_render_hook,
    api_campaign,
    error_message,
    run_background_render_job,
    shows_recipient,
)
from renderer.jobs.schema import ApiKeyRecord, RenderJobRecord
from renderer.jobs.video_mode import shown_video_mode
from renderer.outputs.template import Template
from renderer.storage.deadline import deadline as storage_deadline
from renderer.storage.keys import safe_segment

log = logging.getLogger("tailor.api")
router = APIRouter(
    tags=["renders"],
    dependencies=[Depends(require_api_key)],
    responses={401: {"model": ErrorOut}, 404: {"model": ErrorOut}},
)


def _outcome(state: ApiState) -> Outcome:
    return Outcome(state.store(), state.metrics, state.dispatcher.wake, _describe)


def _describe(exc: BaseException) -> str:
    """A failed render's recorded error: an API error's message too (Tailor's own by `error_message`)."""
    return str(exc) if isinstance(exc, ApiError) else error_message(exc)


def _prepare(
    state: ApiState, name: str, body: RenderRequest, key: ApiKeyRecord
) -> tuple[Template, dict[str, Any], RenderJobRecord, str | None]:
    template = state.template(name)
    outputs = choose_outputs(template, body.outputs)
    video_mode = choose_video_mode(body.video, outputs)
    recipient = template.validator.validate(body.recipient)
    contract = template.manifest.contract
    recipient_id = str(recipient[contract.recipient_id])
    try:
        safe_segment(recipient_id)
    except StorageError as exc:
        raise ApiError(422, "invalid_recipient", str(exc), field=contract.recipient_id) from None
    store, url = state.store(), str(body.webhook_url) if body.webhook_url else None
    if url:
        require_allowed(url, state.settings, "webhook_url")
    secret = add_render_hook(store, url, key.id) if url else None
    job = store.render_jobs.create(template.name, recipient_id, outputs, url, key.id, video_mode)
    return template, recipient, job, secret


async def _render_now(
    state: ApiState, job: RenderJobRecord, template: Template, recipient: dict[str, Any]
) -> dict[str, str]:
    """Render microsite/PDF in a render process, record the outcome; re-raises a failure."""
    outcome, show = await run_in_threadpool(_outcome, state), shows_recipient(template)
    await run_in_threadpool(outcome.store.render_jobs.start, job.id)
    campaign = api_campaign(job.api_key_id)
    day, shown_by = decision_day(job.created_at), api_delivery(campaign, job.id)
    inputs = await run_in_threadpool(
        partial(decision_inputs, shown_by=shown_by), outcome.store, template, campaign, job.recipient_id, day
    )
    args = (state.settings, template.name, recipient, list(job.outputs), campaign, storage_deadline(), inputs)
    try:
        future = await run_in_threadpool(state.pages.submit, render_in_worker, *args)
        keys, durations, decision = await asyncio.wrap_future(future)
    except BrokenProcessPool:
        error = died(state.pages)
        await run_in_threadpool(outcome.failure, job, error, show)
        raise error from None
    except Exception as exc:
        await run_in_threadpool(outcome.failure, job, exc, show)
        raise
    state.metrics.observe_durations(durations)
    seconds = sum(durations.values())
    await run_in_threadpool(
        partial(record_decision, shown_by=shown_by), outcome.store, template, campaign, job.recipient_id,
        decision, seconds,
    )  # fmt: skip
    await run_in_threadpool(outcome.success, job, keys, show)
    return dict(keys)


def _after_video(state: ApiState, job: RenderJobRecord, future: Future[dict[str, float]]) -> None:
    """A video process finished (or died): count it, wake the dispatcher, fail a job left open."""
    if future.cancelled():  # the app is shutting down: the job stays queued
        return
    try:
        outcome, error = _outcome(state), future.exception()
        if isinstance(error, BrokenProcessPool):
            outcome.failure(job, died(state.videos), show_recipient=False)
            return
        if error is None:
            state.metrics.observe_durations(future.result())
        done = outcome.store.render_jobs.get(job.id)
        if done is not None:
            state.metrics.count_renders(list(done.outputs), "ok" if done.status == "done" else "failed")
        state.dispatcher.wake()
    except Exception as exc:  # the store may be down; the job keeps what the render recorded
        log.warning("after a video job: %s", type(exc).__name__)


def _dispatch(state: ApiState, job: RenderJobRecord, raw: dict[str, Any]) -> None:
    settings = state.settings
    if not settings.broker_url:
        future = state.videos.submit(run_background_render_job, settings, job.id, raw)
        future.add_done_callback(partial(_after_video, state, job))
        return
    from renderer.jobs.celery_app import celery_for, publish

    try:
        publish(celery_for(settings), "tailor.render_job", [job.id, raw])
    except ServiceUnavailable as exc:
        state.store().render_jobs.fail(job.id, str(exc))
        raise


def render_out(
    state: ApiState, job: RenderJobRecord, links: RecipientLinks | None = None, secret: str | None = None
) -> RenderOut:
    """The API view of a render job."""
    decided = state.store().decisions.get(job.template, api_campaign(job.api_key_id), job.recipient_id)
    if decided is not None and not job.created_at <= decided.decided_at <= job.updated_at:
        decided = None  # another render of the recipient decided it: not this job's trace
    return RenderOut(
        id=job.id, status=job.status, template=job.template, recipient_id=job.recipient_id,
        variant_key=decided.variant_key if decided else None, decisions=decided.trace if decided else None,
        outputs=list(job.outputs), video=shown_video_mode(job.video_mode), error=job.error,
        created_at=job.created_at, updated_at=job.updated_at,
        status_url=f"{public_base(state.settings)}/renders/{job.id}",
        page_url=links.page_url if links else None, links=links.links if links else None,
        page_expires_at=links.page_expires_at if links else None,
        links_expire_at=links.links_expire_at if links else None, webhook_secret=secret,
    )  # fmt: skip


def _links(state: ApiState, job: RenderJobRecord, keys: dict[str, str], api_key: str) -> RecipientLinks:
    """The render's links, with the page token it has for this period of its life."""
    store, recipient = state.store(), (job.template, api_campaign(job.api_key_id), job.recipient_id)
    page = render_page_token(store, state.settings, recipient, (api_key, job.id, job.created_at))
    return mint_links(store, state.storage(), state.settings, recipient, keys, page)


@router.post(
    "/templates/{name}/renders",
    response_model=RenderOut,
    responses={202: {"model": RenderOut, "description": "Video: a job to poll"}, 422: {"model": ErrorOut}},
)
async def create_render(
    name: str, body: RenderRequest, state: State, key: ApiKey, secret_key: ApiKeySecret, response: Response
) -> RenderOut:
    """Render one recipient: ``200`` with links (microsite, PDF), or ``202`` with a job (video)."""
    template, recipient, job, secret = await run_in_threadpool(_prepare, state, name, body, key)
    if "video" in job.outputs:
        await run_in_threadpool(_dispatch, state, job, body.recipient)
        response.status_code = 202
        response.headers["Location"] = f"/renders/{job.id}"
        return render_out(state, job, secret=secret)
    keys = await _render_now(state, job, template, recipient)
    done = await run_in_threadpool(lambda: state.store().render_jobs.get(job.id))
    links = await run_in_threadpool(_links, state, job, keys, secret_key)
    return render_out(state, done or job, links, secret)


@router.get("/renders/{render_id}", response_model=RenderOut)
def get_render(render_id: str, state: State, key: ApiKey, secret_key: ApiKeySecret) -> RenderOut:
    """A render's status; once done, its page link and direct links: the same page link on every
    call while it has at least a tenth of its lifetime left, then a new one."""
    job = state.store().render_jobs.get(render_id)
    if job is None or not owned(job.api_key_id, key):
        raise ApiError(404, "render_not_found", "no render with this id")
    links = _links(state, job, job.result, secret_key) if job.status == "done" and job.result else None
    return render_out(state, job, links)
