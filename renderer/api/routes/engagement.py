"""``GET /campaigns/{id}/engagement``: a campaign's engagement metrics as JSON, or as CSV (one row
per metric) with ``?format=csv`` or ``Accept: text/csv``.

A key reads only its own campaigns (others answer ``404`` like unknown ones). The campaign id
``api`` (or ``api-<the caller's key id>``, the segment of their storage keys; another key's
answers ``404``) with ``?template=NAME`` reads the calling key's one-off renders of that
template (their pages delivered are the key's done render jobs with a microsite). The formulas
are the README's ("Engagement metrics"); `renderer.engagement` computes them.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from renderer.api.deps import ApiKey, State, require_api_key
from renderer.api.errors import ApiError
from renderer.api.models import ErrorOut
from renderer.api.routes.campaigns import api_renders_of, owned_campaign
from renderer.api.state import ApiState
from renderer.engagement.export import report_csv
from renderer.engagement.metrics import EngagementReport, Layout
from renderer.engagement.report import campaign_report, template_layout

router = APIRouter(
    prefix="/campaigns",
    tags=["campaigns"],
    dependencies=[Depends(require_api_key)],
    responses={401: {"model": ErrorOut}, 404: {"model": ErrorOut}},
)
CSV_MEDIA = "text/csv; charset=utf-8"
_CSV = {"content": {CSV_MEDIA: {"schema": {"type": "string"}}}}


def _layout(state: ApiState, template: str) -> Layout:
    """The template's layout; an empty one when it is gone or broken (the counts still stand)."""
    try:
        return template_layout(state.template(template))
    except ApiError:
        return Layout()


def scope(state: ApiState, campaign_id: str, template: str | None, key: ApiKey) -> tuple[str, str, Layout]:
    """(template, campaign, layout) the caller may read; ApiError 404 or 422 otherwise."""
    segment = api_renders_of(campaign_id, key)
    if segment is not None:
        if template is None:
            message = "the API's one-off renders are read per template: add ?template=NAME"
            raise ApiError(422, "invalid_request", message, field="template")
        layout = template_layout(state.template(template))  # 404 for an unknown template
        return template, segment, layout
    campaign = owned_campaign(state.store(), campaign_id, key)
    return campaign.template, campaign.id, _layout(state, campaign.template)


def _wants_csv(request: Request, fmt: str | None) -> bool:
    if fmt is not None:
        return fmt == "csv"
    return "text/csv" in request.headers.get("accept", "").lower()


@router.get(
    "/{campaign_id}/engagement",
    response_model=EngagementReport,
    responses={200: _CSV, 422: {"model": ErrorOut}},
)
def campaign_engagement(
    campaign_id: str,
    request: Request,
    state: State,
    key: ApiKey,
    format: Annotated[Literal["json", "csv"] | None, Query(description="json (default) or csv")] = None,
    template: Annotated[
        str | None,
        Query(max_length=64, description="With campaign id `api` (or `api-<key id>`): the template rendered"),
    ] = None,
) -> EngagementReport | Response:
    """Pages delivered, page view, video play, completion, CTA and form rates, average percentage
    viewed, drop-off per scene and chapter jumps: overall and per variant, each rate with its
    numerator and denominator (a zero denominator gives null). CSV: one row per metric (metric,
    variant, target, numerator, denominator, value), formulas neutralised."""
    name, campaign, layout = scope(state, campaign_id, template, key)
    report = campaign_report(state.store(), name, campaign, layout)
    if not _wants_csv(request, format):
        return report
    headers = {
        "Content-Disposition": f'attachment; filename="{campaign}-engagement.csv"',
        "Cache-Control": "private, no-store",
    }
    return Response(report_csv(report), media_type=CSV_MEDIA, headers=headers)
