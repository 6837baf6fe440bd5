"""``POST /events``: engagement events from recipients' pages; ``GET /r/{token}/position``: where
the recipient's video last stopped, for the player to resume there.

No API key: the page's link token (in the batch) is the capability. A batch is checked in this
order, each refusal storing nothing: an unsupported media type ``415``; a body over
``event_body_limit`` ``413`` (counted as it streams in, before any parsing); a batch that breaks
the event schema ``422 invalid_events`` naming the event index and field; more events than the
token's or the client address's bucket holds ``429`` with ``Retry-After``; an unknown token
``404``, an expired one ``410``; an event naming what the template does not declare ``422``. A
stored batch answers ``202 {"accepted": n, "duplicates": m}`` only after the store committed it.
No cookie is set, no CORS header is sent, every answer is ``Cache-Control: no-store``.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

import anyio
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from renderer.api.errors import ApiError
from renderer.api.models import ErrorOut
from renderer.api.routes.pages import PRIVATE, resolve_link
from renderer.api.state import ApiState
from renderer.engagement.events import (
    ClientBatch,
    Declared,
    check_batch,
    declared_ids,
    parse_batch,
    to_records,
)
from renderer.engagement.limits import retry_after
from renderer.errors import EventError
from renderer.jobs.schema import RecipientLinkRecord
from renderer.outputs.template import Template

NO_STORE = {**PRIVATE, "Cache-Control": "no-store"}
MEDIA_TYPES = ("application/json", "text/plain")  # text/plain: navigator.sendBeacon of a string
router = APIRouter(tags=["engagement"])


class EventsAccepted(BaseModel):
    """What a stored batch added: new events, and events stored before (a retry)."""

    accepted: int = Field(ge=0, description="Events stored now")
    duplicates: int = Field(ge=0, description="Events of this batch already stored (counted once)")


class PositionOut(BaseModel):
    """The playback position of the recipient's latest event that carried one."""

    position: float | None = Field(description="Seconds into the video, or null before any")


def _refuse(state: ApiState, reason: str, error: ApiError, events: int = 1) -> ApiError:
    """Count the refusal and hand back `error`, answered with no-store."""
    state.metrics.count_refused(reason, events)
    error.headers = {**NO_STORE, **(error.headers or {})}
    return error


async def _body(request: Request, state: ApiState) -> bytes:
    """The request body, refused with 413 once it passes the limit (declared or streamed)."""
    limit = state.settings.event_body_limit
    too_large = ApiError(413, "payload_too_large", f"the request body is larger than {limit} bytes")
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise _refuse(state, "too_large", too_large)
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise _refuse(state, "too_large", too_large)
    return bytes(body)


def _parse(state: ApiState, body: bytes) -> ClientBatch:
    try:
        return parse_batch(body, state.settings.event_batch_max)
    except EventError as exc:
        raise _refuse(state, "malformed", _invalid(exc)) from None


def _invalid(exc: EventError) -> ApiError:
    issues = [{"field": issue.field, "reason": issue.reason} for issue in exc.issues]
    return ApiError(422, "invalid_events", str(exc), field=exc.issues[0].field, issues=issues)


@lru_cache(maxsize=64)
def _declared(template: Template) -> Declared:
    """The ids events may name, once per loaded template (templates are cached for the app's life)."""
    return declared_ids(template.manifest)


def _lookup(state: ApiState, token: str, events: int) -> tuple[RecipientLinkRecord, Declared]:
    """The token's live link and its template's declared ids (blocking: the store, maybe a
    template load); ApiError 404/410 for a token that is unknown or expired."""
    try:
        link = resolve_link(state.store(), token)
    except ApiError as exc:
        reason = "expired_token" if exc.status == 410 else "unknown_token"
        raise _refuse(state, reason, exc, events) from None
    return link, _declared(state.template(link.template))


async def _resolve(state: ApiState, token: str, events: int) -> tuple[RecipientLinkRecord, Declared]:
    """`_lookup`, from the process's link cache when it holds the token (no I/O then: its
    template was loaded when the link was first resolved)."""
    cached = state.events.links.get(token, datetime.now(UTC))
    if cached is not None:
        return cached, _declared(state.template(cached.template))
    link, declared = await anyio.to_thread.run_sync(_lookup, state, token, events)
    state.events.links.put(token, link)
    return link, declared


async def _store(state: ApiState, batch: ClientBatch) -> EventsAccepted:
    """Check the batch against its token's template and hand it to the writer; returns once
    the writer's transaction holding it committed."""
    events = len(batch.events)
    link, declared = await _resolve(state, batch.token, events)
    try:
        check_batch(batch, declared)
    except EventError as exc:
        raise _refuse(state, "undeclared", _invalid(exc), events) from None
    records = to_records(batch, link, datetime.now(UTC))
    new = await asyncio.wrap_future(state.events.writer.submit(batch.token, records))
    if new is None:  # erased or expired since it was cached: answer as a fresh lookup does
        state.events.links.forget(batch.token)
        await anyio.to_thread.run_sync(_lookup, state, batch.token, events)
        raise _refuse(state, "unknown_token", ApiError(404, "link_not_found", "no such link"), events)
    state.metrics.count_events(new, events - new)
    return EventsAccepted(accepted=new, duplicates=events - new)


def _batch_schema() -> dict[str, Any]:
    """The JSON Schema of a batch with the event schema inlined (the body is read by hand, with a
    cap, so FastAPI does not register the model itself)."""
    schema = ClientBatch.model_json_schema()
    event = schema.pop("$defs")["ClientEvent"]
    schema["properties"]["events"]["items"] = event
    return schema


_BATCH_BODY = {"required": True, "content": {"application/json": {"schema": _batch_schema()}}}


@router.post(
    "/events",
    status_code=202,
    response_model=EventsAccepted,
    responses={
        404: {"model": ErrorOut, "description": "No such page token"},
        410: {"model": ErrorOut, "description": "The page link has expired"},
        413: {"model": ErrorOut, "description": "The body is over the event body limit"},
        415: {"model": ErrorOut, "description": "Neither application/json nor text/plain"},
        422: {
            "model": ErrorOut,
            "description": "An event breaks the schema or names what the template lacks",
        },
        429: {
            "model": ErrorOut,
            "description": "Too many events from this token or address; see Retry-After",
        },
    },
    openapi_extra={"requestBody": _BATCH_BODY},
)
async def post_events(request: Request) -> JSONResponse:
    """Store a page's batch of engagement events (JSON, or text/plain from ``sendBeacon``), each
    once per client event id; ``202`` only after the batch is committed."""
    state: ApiState = request.app.state.tailor  # not the State dependency: a sync one costs a thread hop
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media not in MEDIA_TYPES:
        message = "send the batch as application/json or text/plain"
        raise _refuse(state, "media_type", ApiError(415, "unsupported_media_type", message))
    batch = _parse(state, await _body(request, state))
    address = request.client.host if request.client else "-"
    wait = state.events.limits.take(batch.token, address, len(batch.events))
    if wait > 0:
        limited = ApiError(
            429, "rate_limited", "too many events; retry later", headers={"Retry-After": retry_after(wait)}
        )
        raise _refuse(state, "rate_limited", limited, len(batch.events))
    accepted = await _store(state, batch)
    return JSONResponse(accepted.model_dump(), status_code=202, headers=NO_STORE)


@router.get(
    "/r/{token}/position",
    response_model=PositionOut,
    responses={404: {"model": ErrorOut}, 410: {"model": ErrorOut}},
)
async def last_position(token: str, request: Request) -> JSONResponse:
    """Where the recipient's video last stopped (the position of their latest event that carried
    one, by the page's clock), so the player resumes there; no cookie or local storage needed."""
    state: ApiState = request.app.state.tailor
    found = await anyio.to_thread.run_sync(_position, state, token)  # one thread hop
    return JSONResponse(PositionOut(position=found).model_dump(), headers=NO_STORE)


def _position(state: ApiState, token: str) -> float | None:
    store = state.store()  # opened (and migrated) on first use: off the event loop
    link = resolve_link(store, token)
    return store.events.last_position(link.template, link.campaign, link.recipient_id)
