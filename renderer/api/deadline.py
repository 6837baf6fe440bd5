"""Every HTTP request gets a storage deadline ``request_deadline_s`` after it arrives.

Storage calls made while answering it (in the event loop, in Starlette's threads, and in the
render process a one-off render runs in, which is handed the same deadline) retry only while a
retry can end before it (`renderer.storage.deadline`). So a request facing a storage backend
that keeps failing answers ``503 storage_unavailable`` with ``Retry-After`` before its client
gives up, instead of after a minute of backoff.
"""

from __future__ import annotations

import time

from starlette.types import ASGIApp, Receive, Scope, Send

from renderer.storage.deadline import storage_deadline


class RequestDeadlineMiddleware:
    """Pure ASGI middleware: runs each HTTP request inside ``storage_deadline(now + seconds)``."""

    def __init__(self, app: ASGIApp, seconds: float) -> None:
        self.app = app
        self.seconds = seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        with storage_deadline(time.time() + self.seconds):
            await self.app(scope, receive, send)
