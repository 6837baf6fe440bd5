"""`create_preview_app(studio)`: the studio as a Starlette app — its page, JSON endpoints,
server-sent change events, rendered files — watching the template's files while it runs.

Only requests naming a loopback host (or the host it was told to serve) are answered, so a web
page elsewhere cannot reach the studio through DNS rebinding.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio
from sse_starlette.sse import EventSourceResponse
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import Route

from renderer.outputs.kind import RenderOptions
from renderer.preview import files, overview, routes
from renderer.preview.preflight_job import PreflightRunner
from renderer.preview.serve import served_hosts
from renderer.preview.shelf import Shelf
from renderer.preview.studio import Change, Studio
from renderer.preview.watch import watch_studio

LOOPBACK_HOSTS = served_hosts("127.0.0.1")
PING_S = 10


async def changes(request: Request) -> EventSourceResponse:
    """Server-sent events: ``hello`` with the current generation and problems, then ``change``
    after every reload (see `Change.to_json`)."""
    studio = routes.studio_of(request)
    closing = anyio.Event()  # set by sse-starlette when the server stops: the stream ends cleanly

    async def stream() -> AsyncIterator[dict[str, Any]]:
        queue = studio.subscribe(asyncio.get_running_loop())  # here: a client gone first never subscribes
        try:
            hello = {"generation": studio.generation, "problems": list(studio.problems)}
            yield {"event": "hello", "data": json.dumps(hello)}
            while not closing.is_set():
                change = await _next_change(queue, closing)
                if change is not None:
                    yield {"event": "change", "data": json.dumps(change.to_json())}
        finally:
            studio.unsubscribe(queue)

    return EventSourceResponse(
        stream(),
        ping=PING_S,
        headers={"Cache-Control": "no-store"},
        shutdown_event=closing,
        shutdown_grace_period=1,
    )


async def _next_change(queue: asyncio.Queue[Change], closing: anyio.Event) -> Change | None:
    """The next change, or None once `closing` is set."""
    async with anyio.create_task_group() as group:
        got: list[Change] = []

        async def take() -> None:
            got.append(await queue.get())
            group.cancel_scope.cancel()

        async def stop() -> None:
            await closing.wait()
            group.cancel_scope.cancel()

        group.start_soon(take)
        group.start_soon(stop)
    return got[0] if got else None


def _page(name: str) -> Any:
    def page(request: Request) -> Response:
        headers = {**files.NO_STORE, "Content-Security-Policy": files.frame_csp()}
        return FileResponse(files.STUDIO_FILES[name], media_type="text/html", headers=headers)

    return page


def create_preview_app(
    studio: Studio, options: RenderOptions, *, hosts: list[str] | None = None, watch: bool = True
) -> Starlette:
    """The studio app for `studio`, rendering with `options` (draft video). `hosts` are the Host
    names it answers (loopback by default). With `watch`, saves under the template, the shared
    assets and triggers reload it while the app runs."""

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        studio.bind(asyncio.get_running_loop())
        stop = asyncio.Event()
        task = asyncio.create_task(watch_studio(studio, stop)) if watch else None
        try:
            yield
        finally:
            stop.set()
            app.state.preflight.close()
            if task is not None:
                await task

    app = Starlette(
        routes=[
            Route("/", _page("studio.html")),
            Route("/locales", _page("locales.html")),
            Route("/studio/{name}", files.studio_file),
            Route("/events", changes),
            Route("/api/template", routes.template_info),
            Route("/api/check", routes.check_fields, methods=["POST"]),
            Route("/api/render", routes.render, methods=["POST"]),
            Route("/api/locales", overview.locales, methods=["POST"]),
            Route("/api/preflight", overview.preflight_check, methods=["POST"]),
            Route("/out/{render}/{name}", files.rendered_file),
            Route("/_static/{name}", files.microsite_static),
            Route("/source/{root}/{path:path}", files.source_file),
        ],
        middleware=[Middleware(TrustedHostMiddleware, allowed_hosts=hosts or LOOPBACK_HOSTS)],
        lifespan=lifespan,
    )
    app.state.studio, app.state.options, app.state.shelf = studio, options, Shelf()
    app.state.preflight = PreflightRunner()
    return app
