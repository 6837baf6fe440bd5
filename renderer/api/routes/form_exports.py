"""``GET /campaigns/{id}/forms/{form_id}``: every stored submit of one form, as CSV or JSON.

Scoped like every campaign route: a key sees only its own campaigns (anything else is ``404``).
One-off API renders have no campaign row; their submits belong to the key's API campaign,
``api-<key id>`` (the segment of their storage keys; ``api`` names it too, another key's
``api-<id>`` answers ``404``), which may hold several templates: pass ``?template=`` when more
than one declares the form. ``?format=csv|json`` (or ``Accept:
text/csv``; JSON by default) picks the format; rows are streamed a page at a time
(`renderer.api.form_reports`), formulas neutralised in CSV.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import StreamingResponse

from renderer.api.deps import ApiKey, State, require_api_key
from renderer.api.errors import ApiError
from renderer.api.form_reports import FORMATS, csv_chunks, json_chunks
from renderer.api.models import ErrorOut
from renderer.api.routes.campaigns import api_renders_of, owned_campaign
from renderer.api.state import ApiState
from renderer.jobs.schema import ApiKeyRecord
from renderer.template.models import SLUG, Form

router = APIRouter(
    prefix="/campaigns",
    tags=["campaigns"],
    dependencies=[Depends(require_api_key)],
    responses={401: {"model": ErrorOut}, 404: {"model": ErrorOut}},
)
Format = Annotated[
    Literal["csv", "json"] | None, Query(description="csv or json (default: Accept, else json)")
]
TemplateName = Annotated[
    str | None, Query(pattern=SLUG, max_length=64, description="The template, for the API campaign")
]
_STREAMED = {"content": {media: {"schema": {"type": "string"}} for media in FORMATS}}


def _declared(state: ApiState, template: str, form_id: str) -> Form | None:
    forms = state.template(template).manifest.interactions.forms
    return next((form for form in forms if form.id == form_id), None)


def _api_template(state: ApiState, form_id: str, template: str | None) -> str:
    if template is not None:
        return template
    declaring = [name for name in state.template_names() if _declared_quietly(state, name, form_id)]
    if len(declaring) > 1:
        message = f"templates {', '.join(declaring)} declare form {form_id!r}: pass ?template="
        raise ApiError(422, "template_required", message, field="template")
    if not declaring:
        raise ApiError(404, "form_not_found", f"no template declares form {form_id!r}")
    return declaring[0]


def _declared_quietly(state: ApiState, template: str, form_id: str) -> bool:
    try:
        return _declared(state, template, form_id) is not None
    except ApiError:  # a broken template declares nothing
        return False


def form_scope(
    state: ApiState, campaign_id: str, form_id: str, key: ApiKeyRecord, template: str | None
) -> tuple[str, str, Form]:
    """(template, campaign segment, form) whose submits `key` may read; ApiError 404 otherwise."""
    segment = api_renders_of(campaign_id, key)
    if segment is not None:
        name = _api_template(state, form_id, template)
    else:
        campaign = owned_campaign(state.store(), campaign_id, key)
        name, segment = campaign.template, campaign.id
    form = _declared(state, name, form_id)
    if form is None:
        raise ApiError(404, "form_not_found", f"template {name!r} declares no form {form_id!r}")
    return name, segment, form


@router.get("/{campaign_id}/forms/{form_id}", response_class=StreamingResponse, responses={200: _STREAMED})
def export_form(
    campaign_id: str,
    form_id: str,
    request: Request,
    state: State,
    key: ApiKey,
    format: Format = None,
    template: TemplateName = None,
) -> StreamingResponse:
    """Every submit of the form in the campaign, oldest first: submission id, recipient id,
    submitted_at and each field (a consent as ``.given`` and ``.version``)."""
    name, campaign, form = form_scope(state, campaign_id, form_id, key, template)
    fmt = format or ("csv" if "text/csv" in request.headers.get("accept", "").lower() else "json")
    records = state.store().forms.for_form(name, campaign, form.id)
    chunks = csv_chunks(form, records) if fmt == "csv" else json_chunks(form, records)
    headers = {
        "Content-Disposition": f'attachment; filename="{campaign}-{form.id}.{fmt}"',
        "Cache-Control": "private, no-store",
    }
    return StreamingResponse((chunk.encode() for chunk in chunks), media_type=FORMATS[fmt], headers=headers)
