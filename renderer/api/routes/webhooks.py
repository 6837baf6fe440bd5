"""``POST /webhooks`` registers a URL to be told about renders and campaigns (signed deliveries);
``GET /webhooks`` lists the caller's, ``DELETE /webhooks/{id}`` removes one with its outbox.

Only public addresses are accepted unless ``webhook_allow_private`` is on (``egress.py``). The
answer shows the signing secret once; store it, and check each delivery's
``Tailor-Signature`` with it (`renderer.api.webhooks.verify` does it in Python). A webhook hears
about the renders and campaigns of the API key that registered it, and only that key can list
or delete it. The hooks of a render's own ``webhook_url`` (subscribed to no event) are not listed.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Response

from renderer.api.deps import ApiKey, State, require_api_key
from renderer.api.egress import require_allowed
from renderer.api.errors import ApiError
from renderer.api.models import ErrorOut, WebhookCreate, WebhookListed, WebhookOut
from renderer.jobs.events import EVENTS
from renderer.jobs.render_jobs import new_secret

router = APIRouter(
    prefix="/webhooks",
    tags=["webhooks"],
    dependencies=[Depends(require_api_key)],
    responses={401: {"model": ErrorOut}, 422: {"model": ErrorOut}},
)


@router.post("", response_model=WebhookOut, status_code=201)
def register_webhook(body: WebhookCreate, state: State, key: ApiKey, response: Response) -> WebhookOut:
    """Subscribe an http(s) URL to events (all of them by default); the secret is generated
    when not given and returned only here. A URL with credentials, or whose host is not a public
    address (unless ``webhook_allow_private``), is refused: 422 ``webhook_url_not_allowed``."""
    require_allowed(str(body.url), state.settings, "url")
    secret = body.secret or new_secret()
    events = sorted(set(body.events)) if body.events else list(EVENTS)
    hook = state.store().webhooks.add(str(body.url), secret, events, api_key_id=key.id)
    response.headers["Location"] = f"/webhooks/{hook.id}"
    return WebhookOut(
        id=hook.id, url=hook.url, events=list(hook.events), created_at=hook.created_at, secret=secret
    )


@router.get("", response_model=list[WebhookListed])
def list_webhooks(state: State, key: ApiKey) -> list[WebhookListed]:
    """The webhooks this API key registered (``POST /webhooks``), oldest first, without secrets."""
    return [
        WebhookListed(id=hook.id, url=hook.url, events=list(hook.events), created_at=hook.created_at)
        for hook in state.store().webhooks.of_key(key.id)
        if hook.events
    ]


@router.delete("/{webhook_id}", status_code=204, responses={404: {"model": ErrorOut}})
def delete_webhook(webhook_id: str, state: State, key: ApiKey) -> Response:
    """Delete one of this API key's webhooks; deliveries still waiting for it are dropped.
    404 ``webhook_not_found`` for an unknown id or another key's webhook."""
    if len(webhook_id) > 64 or not state.store().webhooks.delete(webhook_id, key.id):
        raise ApiError(404, "webhook_not_found", "no webhook with this id")
    return Response(status_code=204)
