"""``POST /r/{token}/forms/{form_id}``: a recipient sends one of their page's forms.

The page's ``<form>`` posts here (its action ``../../../forms/{id}`` is relative to the page). The
token is the capability, as for the page itself: unknown ``404``, expired ``410``; an undeclared
form ``404``. Before anything is read the origin is checked (``403``), the token's rate
(``429``) and the body's size (``413``: `renderer.api.form_guard`). The body is what a browser
posts (``application/x-www-form-urlencoded``, no JavaScript) or JSON (the page's script), checked
by the form's `FormValidator`.

A good submit is stored (`FormStore.add`), recorded as a ``form_submit`` engagement event (its
id derived from the submission's, its view the posted ``_view``) and announced to webhooks as
``form.submitted`` with ids only, never answers. The answer: JSON ``201 {"status": "stored",
"submission": id}``, or for a browser post ``303`` to the page's thanks
(``index.html#form-{id}-thanks``). A wrong one stores nothing and answers ``422``: JSON
``{"errors": {field: {"code", "message"}}}`` with the page's own localized messages, or the
recipient's page itself with the messages beside each field and the values put back
(`renderer.api.form_page`). Every answer carries the pages' security headers and ``no-store``.
``GET`` of the same URL (a bookmarked or reloaded answer) redirects to the form on the page.
"""

from __future__ import annotations

import json
import logging
import re
import weakref
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from renderer.api.deps import State
from renderer.api.errors import ApiError
from renderer.api.form_guard import SubmitLimiter, check_origin, check_rate, read_body
from renderer.api.form_page import page_messages, rewrite_page
from renderer.api.links import recipient_folder, token_path
from renderer.api.models import ErrorOut
from renderer.api.routes.pages import PRIVATE, page_headers, resolve_link
from renderer.api.state import ApiState
from renderer.data.forms import FormValidator, issue_codes, stored_answers
from renderer.engagement.events import form_submit_event
from renderer.errors import RowError
from renderer.jobs.events import emit
from renderer.jobs.schema import RecipientLinkRecord
from renderer.outputs.forms_markup import DEFAULT_MESSAGES
from renderer.template.models import Form

log = logging.getLogger("tailor.api")
router = APIRouter(tags=["recipient pages"])
HEADERS = {**PRIVATE, "Cache-Control": "no-store"}
_VIEW = re.compile(r"^[A-Za-z0-9_-]{8,64}$")
_LIMITERS: weakref.WeakKeyDictionary[ApiState, SubmitLimiter] = weakref.WeakKeyDictionary()
_VALIDATORS: dict[int, tuple[Form, FormValidator]] = {}
_ANSWERS: dict[int | str, dict[str, Any]] = {
    201: {"description": "Stored (JSON body)", "content": {"application/json": {}}},
    303: {"description": "Stored (browser post): to the page's thanks"},
    403: {"model": ErrorOut, "description": "Not sent from the recipient's own page"},
    404: {"model": ErrorOut},
    410: {"model": ErrorOut},
    413: {"model": ErrorOut},
    415: {"model": ErrorOut},
    422: {"description": "Wrong values: JSON errors per field, or the page with the errors shown"},
    429: {"model": ErrorOut},
}


def limiter_of(state: ApiState) -> SubmitLimiter:
    """The app's submit limiter (one per app)."""
    return _LIMITERS.setdefault(state, SubmitLimiter())


def validator_of(form: Form) -> FormValidator:
    """A validator for `form`, built once per loaded form."""
    cached = _VALIDATORS.get(id(form))
    if cached is None or cached[0] is not form:
        cached = _VALIDATORS[id(form)] = (form, FormValidator(form))
    return cached[1]


def _form(state: ApiState, link: RecipientLinkRecord, form_id: str) -> Form:
    for form in state.template(link.template).manifest.interactions.forms:
        if form.id == form_id:
            return form
    raise ApiError(404, "form_not_found", "this page has no such form", headers=HEADERS)


def _values(body: bytes, is_json: bool) -> dict[str, Any]:
    """The posted fields (a browser's repeated name: its last value)."""
    try:
        if is_json:
            values = json.loads(body) if body else {}
            if not isinstance(values, dict):
                raise ValueError("not an object")
            return values
        return dict(parse_qsl(body.decode("utf-8"), keep_blank_values=True, max_num_fields=200))
    except (ValueError, UnicodeDecodeError, RecursionError):  # RecursionError: JSON nested too deep
        kind = "a JSON object" if is_json else "a URL-encoded form"
        raise ApiError(400, "invalid_body", f"the body is not {kind}", headers=HEADERS) from None


def _page_path(request: Request, token: str, link: RecipientLinkRecord) -> str:
    folder = recipient_folder(link.template, link.campaign, link.recipient_id)
    root: str = request.scope.get("root_path", "")
    return root + token_path(token, folder + "index.html")


def _page_html(state: ApiState, link: RecipientLinkRecord) -> str | None:
    """The recipient's stored page, or None when it cannot be read."""
    key = recipient_folder(link.template, link.campaign, link.recipient_id) + "index.html"
    try:
        return state.storage().get(key).decode("utf-8")
    except Exception as exc:  # missing or unreadable: the JSON answer falls back to English
        log.info("form answer without its page (%s)", type(exc).__name__)
        return None


@router.get(
    "/r/{token}/forms/{form_id}",
    status_code=303,
    response_class=RedirectResponse,
    responses={404: {"model": ErrorOut}, 410: {"model": ErrorOut}},
)
@router.head("/r/{token}/forms/{form_id}", include_in_schema=False)
def open_form(token: str, form_id: str, request: Request, state: State) -> RedirectResponse:
    """Redirect to the form on the recipient's page (``404`` unknown, ``410`` expired)."""
    link = resolve_link(state.store(), token)
    form = _form(state, link, form_id)
    target = f"{_page_path(request, token, link)}#form-{form.id}"
    return RedirectResponse(target, status_code=303, headers=HEADERS)


@router.post("/r/{token}/forms/{form_id}", status_code=201, response_class=JSONResponse, responses=_ANSWERS)
async def submit_form(token: str, form_id: str, request: Request, state: State) -> Response:
    """Validate and store one submit of the page's form (see the module docstring)."""
    link = await run_in_threadpool(resolve_link, state.store(), token)
    form = await run_in_threadpool(_form, state, link, form_id)
    check_origin(request, state.settings, HEADERS)
    check_rate(limiter_of(state), token, HEADERS)
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind not in ("application/json", "application/x-www-form-urlencoded"):
        message = "send application/x-www-form-urlencoded or application/json"
        raise ApiError(415, "unsupported_media_type", message, headers=HEADERS)
    is_json = kind == "application/json"
    values = _values(await read_body(request, HEADERS), is_json)
    try:
        answers = validator_of(form).validate(values)
    except RowError as exc:
        return await run_in_threadpool(_refused, state, request, (token, link, form), values, exc, is_json)
    view = values.get("_view")
    submission = await run_in_threadpool(
        _store, state, link, form, (answers, view if isinstance(view, str) and _VIEW.match(view) else None)
    )
    if is_json:
        return JSONResponse({"status": "stored", "submission": submission}, status_code=201, headers=HEADERS)
    thanks = f"{_page_path(request, token, link)}#form-{form.id}-thanks"
    return RedirectResponse(thanks, status_code=303, headers=HEADERS)


def _refused(
    state: ApiState,
    request: Request,
    where: tuple[str, RecipientLinkRecord, Form],
    values: dict[str, Any],
    error: RowError,
    is_json: bool,
) -> Response:
    """The 422 answer: JSON messages per field, or the page with its errors shown."""
    token, link, form = where
    codes = {name: code for name, code in issue_codes(error).items() if name in form.fields}
    html = _page_html(state, link)
    if is_json:
        messages = page_messages(html, form.id) if html is not None else DEFAULT_MESSAGES
        errors = {name: {"code": code, "message": messages[code]} for name, code in codes.items()}
        return JSONResponse({"errors": errors}, status_code=422, headers=HEADERS)
    if html is None:
        raise ApiError(404, "not_found", "this page is no longer stored", headers=HEADERS)
    posted = {name: value for name, value in values.items() if isinstance(value, str)}
    page = rewrite_page(
        html, page_url=_page_path(request, token, link), form_id=form.id, errors=codes, values=posted
    )
    headers = {**page_headers(state, link.template), "Cache-Control": "no-store"}  # its chat widget
    return HTMLResponse(page, status_code=422, headers=headers)


def _store(
    state: ApiState, link: RecipientLinkRecord, form: Form, submitted: tuple[dict[str, Any], str | None]
) -> int:
    """Store the answers, then record the engagement event and enqueue the webhook; returns the
    submission id. Both carry the recipient's variant key from the store (never from the page).
    The event and webhook are best effort once the answers are stored (a retry of the submit
    would store them twice)."""
    answers, view = submitted
    store, now = state.store(), datetime.now(UTC)
    recipient = (link.template, link.campaign, link.recipient_id)
    variant = store.decisions.variant_key(*recipient)
    submission = store.forms.add(recipient, form.id, stored_answers(answers), variant=variant, now=now)
    try:
        event = form_submit_event(recipient, form.id, submission, view=view, now=now, variant=variant)
        store.events.add([event])
        _announce(state, link, form, (submission, now))
    except Exception as exc:  # the database went away after the commit: the answers are kept
        log.warning("form submit %d stored, event or webhook not: %s", submission, type(exc).__name__)
    return submission


def _announce(state: ApiState, link: RecipientLinkRecord, form: Form, stored: tuple[int, datetime]) -> None:
    """``form.submitted`` to the webhooks of the key that owns the campaign (ids only; the
    recipient id only where the contract does not mark ids personal)."""
    submission, now = stored
    store = state.store()
    campaign = store.campaigns.get(link.campaign)
    if campaign is not None:
        owner = campaign.api_key_id
    else:  # an API render: its campaign segment is api-<key id>
        owner = link.campaign.removeprefix("api-") if link.campaign.startswith("api-") else None
    payload: dict[str, Any] = {
        "template": link.template,
        "campaign_id": link.campaign,
        "form_id": form.id,
        "submission_id": submission,
        "submitted_at": now.isoformat(),
    }
    if not state.template(link.template).manifest.contract.ids_are_personal:
        payload["recipient_id"] = link.recipient_id
    if emit(store, "form.submitted", payload, api_key_id=owner):
        state.dispatcher.wake()
