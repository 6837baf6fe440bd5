"""Request ids: every request runs with one, bound to its log records and sent back.

A client's ``X-Request-ID`` header is kept when it is a plain token (1-128 characters of
letters, digits and ``._:-``); otherwise, or without one, the server makes one (32 hex). It is
bound with `renderer.logs.bind` for the request's whole life (handlers, thread pool calls and
their log lines), echoed in the response's ``X-Request-ID``, and ends in one access line per
request: method, route template (never the raw path, which may hold a page token), status and
duration.
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from typing import Any

from renderer.logs import bind

HEADER = b"x-request-id"
_TOKEN = re.compile(rb"^[A-Za-z0-9._:-]{1,128}$")
log = logging.getLogger("tailor.api.access")


def request_id_from(headers: list[tuple[bytes, bytes]]) -> str:
    """The client's request id when it is a plain token, else a new one."""
    for name, value in headers:
        if name.lower() == HEADER and _TOKEN.match(value):
            return value.decode("ascii")
    return uuid.uuid4().hex


class RequestIdMiddleware:
    """Pure ASGI middleware: binds the request id, echoes it, logs the access line."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        """Run the request under its id (HTTP only; lifespan and others pass through)."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = request_id_from(scope.get("headers", []))
        started, status = time.perf_counter(), [500]

        async def send_with_id(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != HEADER]
                message = {**message, "headers": [*headers, (HEADER, request_id.encode("ascii"))]}
            await send(message)

        with bind(request_id=request_id):
            try:
                await self.app(scope, receive, send_with_id)
            finally:
                route = getattr(scope.get("route"), "path", "(no route)")
                elapsed_ms = (time.perf_counter() - started) * 1000
                log.info("%s %s %d in %.0f ms", scope["method"], route, status[0], elapsed_ms)
