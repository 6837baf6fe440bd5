"""``/r/{token}``: a recipient's own page and its files, reachable only through its link token.

``GET /r/{token}`` answers ``307`` to ``/r/{token}/{template}/{campaign}/{recipient}/index.html``,
so the page's relative links work unchanged: its own files (``bill.pdf``, ``video.mp4`` ...) sit
beside it and its static files at ``../../_static/<hashed name>``, i.e.
``/r/{token}/{template}/_static/...``. ``GET /r/{token}/{key}`` serves a key only inside that
recipient's folder or its template's ``_static`` folder; anything else (other recipients, ``..``
segments, reports) is ``404``. Unknown tokens are ``404``, expired ones ``410`` (for a day: then
the webhook dispatcher purges them and they are unknown). No API key is needed: the token is the
capability. Every answer is private, unindexed and sends no referrer.
"""

from __future__ import annotations

import re

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException
from starlette.types import Receive, Scope, Send

from renderer.api.compress import gzipped_response
from renderer.api.deps import State, StorageDep, Store
from renderer.api.errors import ApiError
from renderer.api.links import recipient_folder, static_folder, token_path
from renderer.api.models import ErrorOut
from renderer.api.objects import serve_object
from renderer.api.state import ApiState
from renderer.errors import StorageError
from renderer.jobs.schema import RecipientLinkRecord
from renderer.jobs.store import JobStore
from renderer.outputs.player import page_csp
from renderer.outputs.video.streaming import PLAN_FILE
from renderer.storage.keys import check_key
from renderer.template.models import Interactions


class PageRoute(APIRoute):
    """A route of these pages: each path serves GET and HEAD (two routes, one documented), so
    any other method answers ``405`` with ``Allow: GET, HEAD`` (Starlette would name only the
    first route's method)."""

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Refuse other methods naming both; otherwise handle as usual."""
        if scope["type"] == "http" and scope["method"] not in PAGE_METHODS:
            raise HTTPException(405, headers={"Allow": ", ".join(PAGE_METHODS)})
        await super().handle(scope, receive, send)


PAGE_METHODS = ("GET", "HEAD")
router = APIRouter(
    tags=["recipient pages"],
    responses={404: {"model": ErrorOut}, 410: {"model": ErrorOut}},
    route_class=PageRoute,
)
# the player fetches the stream and sends events to this origin (connect-src) and plays through
# Media Source Extensions (blob: media); forms post to this origin only; a template's chat
# widget origin is added for its own pages (`page_headers`)
CSP = page_csp(Interactions()) + "; frame-ancestors 'none'"
PRIVATE = {
    "X-Robots-Tag": "noindex, nofollow",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": CSP,
}
PAGE_CACHE = "private, no-cache"
STATIC_CACHE = "private, max-age=31536000, immutable"
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{16,64}$")


def page_headers(state: ApiState, template: str) -> dict[str, str]:
    """`PRIVATE` with the CSP of `template`'s pages (its chat widget's origin allowed, when it
    loads one); the default CSP when the template no longer loads."""
    try:
        interactions = state.template(template).manifest.interactions
    except ApiError:
        return dict(PRIVATE)
    if interactions.chat is None or interactions.chat.script is None:
        return dict(PRIVATE)
    return {**PRIVATE, "Content-Security-Policy": page_csp(interactions) + "; frame-ancestors 'none'"}


def resolve_link(store: JobStore, token: str) -> RecipientLinkRecord:
    """What a live token points at; ApiError 404 (unknown) or 410 (expired) otherwise."""
    link = store.links.resolve(token) if _TOKEN.match(token) else None
    if link is not None:
        return link
    if _TOKEN.match(token) and store.links.exists(token):  # known, so expired
        raise ApiError(
            410, "link_expired", "this link has expired", headers={**PRIVATE, "Cache-Control": "no-store"}
        )
    raise ApiError(404, "link_not_found", "no such link", headers={**PRIVATE, "Cache-Control": "no-store"})


def _folder(link: RecipientLinkRecord) -> str:
    try:
        return recipient_folder(link.template, link.campaign, link.recipient_id)
    except StorageError:
        raise ApiError(404, "not_found", "no such file") from None


@router.get("/r/{token}", status_code=307, response_class=RedirectResponse)
@router.head("/r/{token}", include_in_schema=False)
def open_page(token: str, request: Request, store: Store, state: State) -> RedirectResponse:
    """Redirect to the recipient's page (so its relative links resolve under the token)."""
    link = resolve_link(store, token)
    state.streams.warm()  # a page view comes seconds before a play
    target = request.scope.get("root_path", "") + token_path(token, _folder(link) + "index.html")
    return RedirectResponse(target, status_code=307, headers={**PRIVATE, "Cache-Control": "no-store"})


@router.get("/r/{token}/{key:path}", response_class=Response)
@router.head("/r/{token}/{key:path}", include_in_schema=False)
def page_file(
    token: str, key: str, request: Request, store: Store, storage: StorageDep, state: State
) -> Response:
    """One file of the recipient's page: its own outputs or its template's static files."""
    link = resolve_link(store, token)
    try:
        check_key(key)
    except StorageError:
        raise ApiError(404, "not_found", "no such file") from None
    if key.startswith(static_folder(link.template)):
        cache = STATIC_CACHE
    elif key.startswith(_folder(link)) and key != _folder(link) + PLAN_FILE:  # the plan stays inside
        cache = PAGE_CACHE
    else:
        raise ApiError(404, "not_found", "no such file")
    if key.endswith("/index.html"):
        state.streams.warm()
    headers = {**page_headers(state, link.template), "Cache-Control": cache}
    gzipped = gzipped_response(storage, key, request, headers, immutable=cache == STATIC_CACHE)
    return gzipped or serve_object(storage, key, request, {**headers, "Vary": "Accept-Encoding"})
