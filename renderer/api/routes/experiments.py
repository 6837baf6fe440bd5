"""``GET /campaigns/{id}/report``: a campaign's test-and-learn report (JSON), ``/report.html``
the same as a page (its stylesheet at ``/report-assets/experiments.css``, under a strict CSP).

Per experiment and arm: recipients assigned and rendered, page views, video plays and
completions, CTA clicks and form submits; each variant against the default with absolute and
relative lifts (95% intervals), a two-proportion z test, an always-valid sequential p-value,
Holm-adjusted p-values, the minimum detectable effect, the sample-ratio check, the holdout's and
the global control group's lift, render seconds per arm. `renderer.engagement` computes them.
A key reads only its own campaigns; the API's one-off renders use ``api`` with ``?template=``.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from fastapi.responses import FileResponse, HTMLResponse, Response

from renderer.api.deps import ApiKey, State, require_api_key
from renderer.api.models import ErrorOut
from renderer.api.routes.engagement import scope
from renderer.engagement.campaign_experiments import campaign_experiments
from renderer.engagement.experiment_page import PAGE_CSP, REPORT_STYLESHEET, report_html
from renderer.engagement.experiments import ExperimentReport

router = APIRouter(
    prefix="/campaigns",
    tags=["campaigns"],
    dependencies=[Depends(require_api_key)],
    responses={401: {"model": ErrorOut}, 404: {"model": ErrorOut}},
)
assets = APIRouter(tags=["campaigns"])
STYLESHEET_PATH = "/report-assets/experiments.css"
TemplateQuery = Annotated[
    str | None, Query(max_length=64, description="With campaign id `api` (or `api-<key id>`): the template")
]


def _report(state: State, campaign_id: str, template: str | None, key: ApiKey) -> ExperimentReport:
    name, campaign, _ = scope(state, campaign_id, template, key)
    return campaign_experiments(state.store(), state.template(name), campaign)


@router.get("/{campaign_id}/report", response_model=ExperimentReport, responses={422: {"model": ErrorOut}})
def campaign_experiment_report(
    campaign_id: str, state: State, key: ApiKey, template: TemplateQuery = None
) -> ExperimentReport:
    """Per experiment and variant: counts, rates, lifts with 95% intervals, z and sequential
    tests (Holm-adjusted), minimum detectable effect, sample-ratio check, holdout and global
    control lifts, render seconds."""
    return _report(state, campaign_id, template, key)


_PAGE = {"content": {"text/html": {"schema": {"type": "string"}}}, "description": "The report page"}


@router.get(
    "/{campaign_id}/report.html",
    response_class=Response,  # errors stay JSON (ErrorOut); only the page itself is HTML
    responses={200: _PAGE, 422: {"model": ErrorOut}},
)
def campaign_experiment_page(
    campaign_id: str, state: State, key: ApiKey, template: TemplateQuery = None
) -> Response:
    """The report as a page (a red banner on a sample-ratio mismatch)."""
    page = report_html(_report(state, campaign_id, template, key), stylesheet_href=STYLESHEET_PATH)
    headers = {"Content-Security-Policy": PAGE_CSP, "Cache-Control": "private, no-store"}
    return HTMLResponse(page, headers=headers)


@assets.get(STYLESHEET_PATH, include_in_schema=False)
def report_stylesheet() -> FileResponse:
    """The report page's stylesheet (no personal data: served without a key)."""
    return FileResponse(
        REPORT_STYLESHEET, media_type="text/css", headers={"Cache-Control": "public, max-age=3600"}
    )
