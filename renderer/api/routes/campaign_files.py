"""``GET /campaigns/{id}/results`` and ``/rejects``: streamed JSON Lines (default) or CSV."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query
from fastapi.responses import StreamingResponse

from renderer.api.deps import ApiKey, State, require_api_key
from renderer.api.links import mint_links
from renderer.api.models import ErrorOut
from renderer.api.reports import FORMATS, PageLink, rejects_lines, results_lines
from renderer.api.routes.campaigns import owned_campaign
from renderer.api.state import ApiState
from renderer.errors import TailorError
from renderer.jobs.schema import CampaignRecord, RowRecord

router = APIRouter(
    prefix="/campaigns",
    tags=["campaigns"],
    dependencies=[Depends(require_api_key)],
    responses={401: {"model": ErrorOut}, 404: {"model": ErrorOut}},
)
Format = Annotated[Literal["jsonl", "csv"], Query(description="jsonl (default) or csv")]
_STREAMED = {"content": {media: {"schema": {"type": "string"}} for media in FORMATS}}


def _page_link(state: ApiState, campaign: CampaignRecord) -> PageLink:
    store, storage, settings = state.store(), state.storage(), state.settings

    def page(row: RowRecord) -> str:
        recipient = (campaign.template, campaign.id, row.recipient_id)
        return mint_links(store, storage, settings, recipient, {}).page_url

    return page


def _streamed(lines: Iterator[str], fmt: str, name: str) -> StreamingResponse:
    headers = {
        "Content-Disposition": f'attachment; filename="{name}.{fmt}"',
        "Cache-Control": "private, no-store",
    }
    return StreamingResponse((line.encode() for line in lines), media_type=FORMATS[fmt], headers=headers)


@router.get("/{campaign_id}/results", response_class=StreamingResponse, responses={200: _STREAMED})
def campaign_results(
    campaign_id: str,
    state: State,
    key: ApiKey,
    format: Format = "jsonl",
    links: Annotated[bool, Query(description="Add a fresh page link to each rendered row")] = False,
    explain: Annotated[
        bool,
        Query(
            description="Add each row's variant key and (JSON Lines) decision trace: why it got what it got"
        ),
    ] = False,
) -> StreamingResponse:
    """Every row: number, recipient id, status, output keys, error (and a page link, the variant
    key and decision trace on request)."""
    campaign = owned_campaign(state.store(), campaign_id, key)
    page_link = _page_link(state, campaign) if links else None
    lines = results_lines(state.store(), campaign, format, page_link, explain)
    return _streamed(lines, format, f"{campaign.id}-results")


@router.get("/{campaign_id}/rejects", response_class=StreamingResponse, responses={200: _STREAMED})
def campaign_rejects(
    campaign_id: str, state: State, key: ApiKey, format: Format = "jsonl"
) -> StreamingResponse:
    """Rows refused by validation or failed in rendering: row number, field, reason, and the
    recipient id where the template's contract does not mark ids personal."""
    campaign = owned_campaign(state.store(), campaign_id, key)
    lines = rejects_lines(state.store(), campaign.id, format, _ids_are_personal(state, campaign))
    return _streamed(lines, format, f"{campaign.id}-rejects")


def _ids_are_personal(state: ApiState, campaign: CampaignRecord) -> bool:
    try:
        contract = state.template(campaign.template).manifest.contract
    except TailorError:  # the template is gone or broken: show no id
        return True
    return contract.ids_are_personal
