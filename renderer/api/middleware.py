"""Small safety nets: unexpected exceptions become a 500 JSON logged by type only, request bodies
have a size limit, requests for a host not allowed are refused (so no redirect or link is built
on a Host header a client made up), and access logs never show a recipient's page token.

Starlette's own handler for ``Exception`` re-raises after answering, so the server would log a
traceback whose message may hold personal data; `CatchAllMiddleware` answers and stops there.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from renderer.api.errors import ApiError, error_response

log = logging.getLogger("tailor.api")
JSON_LIMIT = 1 << 20  # bytes of a request body other than a multipart upload
_TOKEN_PATH = re.compile(r"/r/[A-Za-z0-9_-]+")


class CatchAllMiddleware:
    """Answer ``500 internal_error`` for any exception no handler took; log its type only."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def send_tracked(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, send_tracked)
        except Exception as exc:
            route = getattr(scope.get("route"), "path", "<unmatched>")
            log.error("unexpected %s in %s %s", type(exc).__name__, scope.get("method"), route)
            if started:
                return  # the response is under way: the client sees a cut-off body
            error = ApiError(500, "internal_error", "an unexpected error occurred")
            await error_response(error)(scope, receive, send)


_PROBES = frozenset({"/healthz", "/readyz", "/metrics"})  # build no URL; orchestrators call by IP


def host_name(header: str) -> str:
    """The host of a ``Host`` header without its port, lower-case (``[::1]:80`` -> ``::1``)."""
    header = header.strip().lower()
    if header.startswith("["):
        return header[1 : header.find("]")] if "]" in header else header
    return header.rsplit(":", 1)[0] if header.count(":") == 1 else header


def host_allowed(host: str, allowed: tuple[str, ...]) -> bool:
    """Whether `host` is in `allowed` (``*`` any, ``*.example.com`` its subdomains)."""
    return any(
        pattern == "*"
        or host == pattern
        or (pattern.startswith("*.") and host.endswith(pattern[1:]) and len(host) > len(pattern) - 1)
        for pattern in allowed
    )


class AllowedHostsMiddleware:
    """Answer ``400 invalid_host`` to a request whose ``Host`` is not allowed (the health probes
    excepted), before any route, redirect or link sees it. A request without a Host header
    (HTTP/1.0) passes: URLs are then built from the server's own address."""

    def __init__(self, app: ASGIApp, allowed: tuple[str, ...]) -> None:
        self.app = app
        self.allowed = allowed

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope.get("path") not in _PROBES:
            header = Headers(scope=scope).get("host")
            if header is not None and not host_allowed(host_name(header), self.allowed):
                message = "this host is not served here (set TAILOR_ALLOWED_HOSTS or TAILOR_PUBLIC_URL)"
                await error_response(ApiError(400, "invalid_host", message))(scope, receive, send)
                return
        await self.app(scope, receive, send)


class PayloadTooLarge(HTTPException):
    """A request body past its limit (an HTTPException, so FastAPI's body reader re-raises it)."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"the request body is larger than {limit} bytes")


class BodyLimitMiddleware:
    """Refuse bodies over `limit` bytes with ``413``, declared (Content-Length) or streamed.

    Only the campaign upload (``POST /campaigns`` as multipart) is left to its route, which
    counts the file bytes against ``max_upload_bytes`` as they stream in; a multipart body sent
    anywhere else is held to the same small limit as JSON, before any key is checked.
    """

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = Headers(scope=scope) if scope["type"] == "http" else None
        upload = (
            headers is not None
            and scope.get("method") == "POST"
            and scope.get("path", "").rstrip("/") == "/campaigns"
            and headers.get("content-type", "").lower().startswith("multipart/")
        )
        if headers is None or upload:
            await self.app(scope, receive, send)
            return
        declared = headers.get("content-length", "")
        if declared.isdigit() and int(declared) > self.limit:
            error = ApiError(413, "payload_too_large", PayloadTooLarge(self.limit).detail)
            await error_response(error)(scope, receive, send)
            return
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > self.limit:
                raise PayloadTooLarge(self.limit)
            return message

        await self.app(scope, counted, send)


class RedactTokens(logging.Filter):
    """Replace ``/r/<token>`` in log records (uvicorn's access log) with ``/r/***``."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Redact the record in place; never drops it."""
        if isinstance(record.args, tuple):
            record.args = tuple(_redact(arg) for arg in record.args)
        if isinstance(record.msg, str):
            record.msg = _redact(record.msg)
        return True


def _redact(value: Any) -> Any:
    return _TOKEN_PATH.sub("/r/***", value) if isinstance(value, str) else value


def redact_access_log() -> None:
    """Install `RedactTokens` on uvicorn's access logger once per process."""
    logger = logging.getLogger("uvicorn.access")
    if not any(isinstance(f, RedactTokens) for f in logger.filters):
        logger.addFilter(RedactTokens())
