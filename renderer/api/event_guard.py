"""`EventFloodGuard`: ``POST /events`` from a client address whose bucket is empty is answered
``429`` before anything else runs, so a flood costs the least it can.

The outermost application middleware: a refused request skips the host check, the request id and
access line, the request metrics, body limits, routing and parsing (its body is never read), and
is counted once in ``tailor_engagement_events_refused{reason="rate_limited"}``. Every other
request, and every batch from an address with room left, goes on unchanged; the route then takes
the batch's events from the token's and the address's buckets as usual.
"""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Receive, Scope, Send

from renderer.api.state import ApiState
from renderer.engagement.limits import retry_after

_BODY = json.dumps(
    {"error": {"code": "rate_limited", "message": "too many events; retry later", "field": None, "row": None}}
).encode()
_HEADERS = [
    (b"content-type", b"application/json"),
    (b"content-length", str(len(_BODY)).encode()),
    (b"cache-control", b"no-store"),
    (b"x-content-type-options", b"nosniff"),
]


class EventFloodGuard:
    """Pure ASGI middleware: ``429`` + ``Retry-After`` for ``POST /events`` from an address whose
    event bucket is empty; everything else passes through."""

    def __init__(self, app: ASGIApp, state: ApiState) -> None:
        self.app = app
        self.state = state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "POST" and scope["path"] == "/events":
            client = scope.get("client")
            wait = self.state.events.limits.address_wait(client[0] if client else "-")
            if wait > 0:
                self.state.metrics.count_refused("rate_limited")
                headers = [*_HEADERS, (b"retry-after", retry_after(wait).encode())]
                await send({"type": "http.response.start", "status": 429, "headers": headers})
                await send({"type": "http.response.body", "body": _BODY})
                return
        await self.app(scope, receive, send)
