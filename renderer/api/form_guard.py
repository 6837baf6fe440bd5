"""What a form submit must pass before it is read: its origin, a per-token rate and a body limit.

* Origin (cross-site request forgery): the ``Origin`` header must be the origin of
  ``public_url`` or the request's own ``scheme://host``; absent or any other value is refused,
  and so is ``Sec-Fetch-Site: cross-site``. One exception, because recipients' pages are sent
  with ``Referrer-Policy: no-referrer``: a browser then posts a plain form with ``Origin: null``
  (the Fetch standard), so ``null`` is accepted only together with ``Sec-Fetch-Site:
  same-origin``, a header no page can set and a sandboxed or foreign page never gets.
* Rate: `SubmitLimiter` allows `SUBMITS_PER_MINUTE` submits per page token in any minute (in
  this process), then ``429`` with ``Retry-After``.
* Body: `read_body` refuses more than `FORM_BODY_LIMIT` bytes (``413``), declared or streamed.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections import deque
from urllib.parse import urlsplit

from starlette.requests import Request

from renderer.api.errors import ApiError
from renderer.settings import Settings

SUBMITS_PER_MINUTE = 6
WINDOW_S = 60.0
FORM_BODY_LIMIT = 64 * 1024
_DEFAULT_PORTS = {"http": 80, "https": 443}
_MAX_TRACKED = 10_000


def origin_of(url: str) -> str:
    """``scheme://host[:port]`` of `url` as a browser writes an Origin (lower case, no default
    port); ValueError when `url` cannot be read (a port that is no number, a broken IPv6 host)."""
    parts = urlsplit(url.strip())
    scheme, host = parts.scheme.lower(), (parts.hostname or "").lower()
    if ":" in host:
        host = f"[{host}]"
    port = parts.port
    return f"{scheme}://{host}" if port in (None, _DEFAULT_PORTS.get(scheme)) else f"{scheme}://{host}:{port}"


def origin_allowed(request: Request, settings: Settings) -> bool:
    """Whether the submit comes from this service's own pages (see the module docstring)."""
    site = request.headers.get("sec-fetch-site", "").lower()
    if site == "cross-site":
        return False
    origin = request.headers.get("origin")
    if origin is None:
        return False
    if origin.strip().lower() == "null":
        return site == "same-origin"
    own = {origin_of(settings.public_url)}
    host = request.headers.get("host")
    if host:
        own.add(_readable_origin(f"{request.url.scheme}://{host}"))
    return _readable_origin(origin) in own - {""}


def _readable_origin(url: str) -> str:
    """`origin_of`, or "" (never an allowed origin) when `url` is malformed."""
    try:
        return origin_of(url)
    except ValueError:
        return ""


def check_origin(request: Request, settings: Settings, headers: dict[str, str]) -> None:
    """ApiError 403 ``origin_refused`` unless `origin_allowed`."""
    if not origin_allowed(request, settings):
        message = "this form can only be sent from its own page"
        raise ApiError(403, "origin_refused", message, headers=headers)


class SubmitLimiter:
    """At most `limit` submits per page token in any `window_s` (thread-safe; tokens are kept
    only as hashes)."""

    def __init__(self, limit: int = SUBMITS_PER_MINUTE, window_s: float = WINDOW_S) -> None:
        self.limit, self.window_s = limit, window_s
        self._seen: dict[bytes, deque[float]] = {}
        self._lock = threading.Lock()

    def allow(self, token: str, now: float | None = None) -> float:
        """0 when this submit may go ahead (and is counted), else seconds until one may."""
        now = time.monotonic() if now is None else now
        key = hashlib.sha256(token.encode()).digest()
        with self._lock:
            if len(self._seen) > _MAX_TRACKED:
                self._forget(now)
            times = self._seen.setdefault(key, deque())
            while times and now - times[0] >= self.window_s:
                times.popleft()
            if len(times) >= self.limit:
                return max(self.window_s - (now - times[0]), 0.001)
            times.append(now)
            return 0.0

    def _forget(self, now: float) -> None:
        for key in [
            key for key, times in self._seen.items() if not times or now - times[-1] >= self.window_s
        ]:
            del self._seen[key]


def check_rate(limiter: SubmitLimiter, token: str, headers: dict[str, str]) -> None:
    """ApiError 429 ``too_many_submits`` (with ``Retry-After``) past the limiter's rate."""
    wait_s = limiter.allow(token)
    if wait_s:
        retry = {**headers, "Retry-After": str(max(1, round(wait_s)))}
        raise ApiError(
            429, "too_many_submits", "too many submits from this page; try again soon", headers=retry
        )


async def read_body(request: Request, headers: dict[str, str], limit: int = FORM_BODY_LIMIT) -> bytes:
    """The request body; ApiError 413 past `limit` bytes (declared or as it streams in)."""
    too_large = ApiError(413, "payload_too_large", f"a form submit is at most {limit} bytes", headers=headers)
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise too_large
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise too_large
        chunks.append(chunk)
    return b"".join(chunks)
