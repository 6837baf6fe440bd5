"""``/campaigns``: start a campaign from an upload or a stored file, watch it, cancel, resume.

``POST /campaigns`` takes ``multipart/form-data`` (``file`` plus ``template``, ``outputs`` and
``video`` fields) or JSON (``{"template", "outputs", "source", "video"}``); ``video: on-play``
renders each recipient's video only when it is played. With an ``Idempotency-Key`` header a
retried request answers ``200`` with the campaign the first one created (keys are scoped to the
API key); the first answer is ``201``. A campaign is visible only to the API key that started it.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Request, Response
from fastapi.concurrency import run_in_threadpool

from renderer.api.deps import ApiKey, State, owned, require_api_key
from renderer.api.errors import ApiError
from renderer.api.links import public_base
from renderer.api.models import VIDEO_DOC, CampaignCreate, CampaignOut, ErrorOut
from renderer.api.sources import Source, from_json, from_upload
from renderer.api.state import ApiState
from renderer.errors import ServiceUnavailable
from renderer.jobs.campaigns import campaign_progress
from renderer.jobs.render_jobs import api_campaign
from renderer.jobs.schema import ApiKeyRecord, CampaignRecord
from renderer.jobs.service import resume_campaign, start_campaign, stop_campaign
from renderer.jobs.store import JobStore
from renderer.jobs.video_mode import VIDEO_MODES, shown_video_mode
from renderer.storage import LocalStorage

router = APIRouter(
    prefix="/campaigns",
    tags=["campaigns"],
    dependencies=[Depends(require_api_key)],
    responses={401: {"model": ErrorOut}, 404: {"model": ErrorOut}},
)
API_RENDERS = "api"  # the campaign id of the caller's one-off renders, as is or with its key id
IdempotencyKey = Annotated[
    str | None, Header(alias="Idempotency-Key", min_length=1, max_length=160, pattern=r"^[!-~]+$")
]
_FORM = {
    "type": "object",
    "required": ["file", "template"],
    "properties": {
        "file": {"type": "string", "format": "binary", "description": ".csv or .jsonl"},
        "template": {"type": "string"},
        "outputs": {"type": "string", "description": "microsite,pdf (default: every output but video)"},
        "video": {"type": "string", "enum": list(VIDEO_MODES), "description": VIDEO_DOC},
        "delimiter": {"type": "string", "description": "CSV delimiter, e.g. ; or tab (default: a comma)"},
        "encoding": {"type": "string", "description": "Text encoding, e.g. cp1252 (default: UTF-8)"},
    },
}
_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {"schema": _FORM},
            "application/json": {"schema": CampaignCreate.model_json_schema()},
        },
    }
}


def owned_campaign(store: JobStore, campaign_id: str, key: ApiKeyRecord) -> CampaignRecord:
    """The campaign if `key` may see it; ApiError 404 otherwise (unknown or someone else's)."""
    campaign = store.campaigns.get(campaign_id) if len(campaign_id) <= 64 else None
    if campaign is None or not owned(campaign.api_key_id, key):
        raise ApiError(404, "campaign_not_found", "no campaign with this id")
    return campaign


def api_renders_of(campaign_id: str, key: ApiKeyRecord) -> str | None:
    """The campaign segment of `key`'s one-off API renders (``api-<key id>``) when `campaign_id`
    names them, spelled ``api`` or ``api-<this key's id>``; None for any other id (another key's
    ``api-<id>`` is then an unknown campaign to `owned_campaign`: ``404``)."""
    own = api_campaign(key.id)
    return own if campaign_id in (API_RENDERS, own) else None


def campaign_out(state: ApiState, campaign: CampaignRecord) -> CampaignOut:
    """A campaign's progress as the API shows it."""
    progress = campaign_progress(state.store(), campaign.id)
    if progress is None:
        raise ApiError(404, "campaign_not_found", "no campaign with this id")
    error = progress.error
    storage = state.storage()
    if error and isinstance(storage, LocalStorage):  # ingest errors name the file by its path
        error = error.replace(f"{storage.root}/", "")
    url = f"{public_base(state.settings)}/campaigns/{campaign.id}"
    return CampaignOut(
        **{**asdict(progress), "error": error}, outputs=list(campaign.outputs),
        video=shown_video_mode(campaign.video_mode),
        created_at=campaign.created_at, finished_at=campaign.finished_at,
        results_url=f"{url}/results", rejects_url=f"{url}/rejects",
    )  # fmt: skip


def _forget_upload(state: ApiState, key: str) -> None:
    state.storage().delete_prefix(key.rsplit("/", 1)[0])  # the upload's own _uploads/{uuid} folder


def _start(
    state: ApiState, source: Source, scoped_key: str | None, key: ApiKeyRecord
) -> tuple[CampaignRecord, bool]:
    template, outputs, source_key, uploaded, source_format, video_mode = source
    try:
        campaign, created = start_campaign(
            state.settings, state.store(), template.name, outputs, source_key,
            idempotency_key=scoped_key, api_key_id=key.id, source_format=source_format,
            video_mode=video_mode,
        )  # fmt: skip
    except ServiceUnavailable:
        raise  # the campaign exists (failed, resumable) and keeps its file
    except BaseException:
        if uploaded:
            _forget_upload(state, uploaded)
        raise
    if not created and uploaded and campaign.source_key != uploaded:
        _forget_upload(state, uploaded)  # a retry: the first request's file is the campaign's
    asked = (template.name, outputs, video_mode)
    if not created and (campaign.template, list(campaign.outputs), campaign.video_mode) != asked:
        message = "this Idempotency-Key was used for a different campaign"
        raise ApiError(409, "idempotency_conflict", message, field="Idempotency-Key")
    return campaign, created


@router.post(
    "",
    status_code=201,
    response_model=CampaignOut,
    openapi_extra=_BODY,
    responses={200: {"model": CampaignOut, "description": "A retry with the same Idempotency-Key"}},
)
async def create_campaign(
    request: Request, state: State, key: ApiKey, response: Response, idempotency_key: IdempotencyKey = None
) -> CampaignOut:
    """Start a campaign: ``201`` (or ``200`` for an idempotent retry); ``413`` past the upload
    limit, ``422`` for a bad template, outputs or header, ``503`` when the broker is down."""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind == "multipart/form-data":
        source = await from_upload(request, state)
    elif kind == "application/json":
        source = await from_json(request, state)
    else:
        raise ApiError(415, "unsupported_media_type", "send multipart/form-data or application/json")
    scoped = f"{key.id}:{idempotency_key}" if idempotency_key else None
    campaign, created = await run_in_threadpool(_start, state, source, scoped, key)
    response.status_code = 201 if created else 200
    response.headers["Location"] = f"/campaigns/{campaign.id}"
    return await run_in_threadpool(campaign_out, state, campaign)


@router.get("/{campaign_id}", response_model=CampaignOut)
def get_campaign(campaign_id: str, state: State, key: ApiKey) -> CampaignOut:
    """Counts by status, rate (rows per second) and ETA."""
    return campaign_out(state, owned_campaign(state.store(), campaign_id, key))


@router.post("/{campaign_id}/cancel", response_model=CampaignOut, responses={409: {"model": ErrorOut}})
def cancel_campaign(campaign_id: str, state: State, key: ApiKey) -> CampaignOut:
    """Stop starting renders (rows not rendered yet stay pending for a resume); ``409`` once finished."""
    campaign = owned_campaign(state.store(), campaign_id, key)
    if not stop_campaign(state.store(), campaign.id):
        raise ApiError(409, "campaign_finished", f"the campaign is already {campaign.status}")
    return campaign_out(state, campaign)


@router.post(
    "/{campaign_id}/resume", status_code=202, response_model=CampaignOut, responses={409: {"model": ErrorOut}}
)
def resume(campaign_id: str, state: State, key: ApiKey) -> CampaignOut:
    """Resume a cancelled or failed campaign: only rows not done are rendered; ``409`` otherwise."""
    campaign = owned_campaign(state.store(), campaign_id, key)
    if campaign.status not in ("cancelled", "failed"):
        raise ApiError(
            409, f"campaign_{campaign.status}", f"the campaign is {campaign.status}: nothing to resume"
        )
    resumed = resume_campaign(state.settings, state.store(), campaign.id)
    return campaign_out(state, resumed)
