"""`create_app(settings)`: the FastAPI application, its middleware, handlers and lifespan.

The lifespan starts the webhook dispatcher and the render processes (``workers`` of them); on
shutdown it stops both and closes the store and storage. Nothing touches the database at start:
the store opens on first use, so an unreachable database shows in ``/readyz`` and ``503``s.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib.metadata import PackageNotFoundError, version

import anyio
from fastapi import FastAPI

from renderer.api.deadline import RequestDeadlineMiddleware
from renderer.api.docs import install_docs
from renderer.api.errors import install_error_handlers
from renderer.api.event_guard import EventFloodGuard
from renderer.api.metrics import MetricsMiddleware
from renderer.api.middleware import (
    JSON_LIMIT,
    AllowedHostsMiddleware,
    BodyLimitMiddleware,
    CatchAllMiddleware,
    redact_access_log,
)
from renderer.api.openapi import install_openapi
from renderer.api.request_id import RequestIdMiddleware
from renderer.api.routes import ROUTERS
from renderer.api.state import ApiState
from renderer.settings import Settings, load_settings

DESCRIPTION = """Personalized microsites, bill PDFs and videos, one recipient or a whole campaign.

Authenticate with `Authorization: Bearer <API key>` (create one with `tailor api-key create NAME`
or `renderer.api.keys.create_key`). Recipient pages under `/r/{token}` need no key: the token is
the capability. Errors are `{"error": {"code", "message", "field", "row"}}` and never contain
personal values."""

TAGS = [
    {"name": "templates", "description": "What can be rendered and the data it needs"},
    {"name": "renders", "description": "One recipient at a time"},
    {"name": "campaigns", "description": "A data file rendered in bulk"},
    {"name": "recipients", "description": "Erasure"},
    {"name": "webhooks", "description": "Signed event deliveries"},
    {"name": "recipient pages", "description": "What recipients open (no API key)"},
    {"name": "engagement", "description": "Events recipients' pages send (no API key: the page token)"},
    {"name": "health", "description": "Liveness, readiness, metrics"},
]


def _version() -> str:
    try:
        return version("tailor")
    except PackageNotFoundError:
        return "0.0.0"


def create_app(settings: Settings | None = None) -> FastAPI:
    """The Tailor API for `settings` (read from the environment when not given)."""
    settings = settings or load_settings()
    state = ApiState(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        state.dispatcher.start()
        await anyio.to_thread.run_sync(state.pages.warm, settings, state.template_names())
        try:
            yield
        finally:
            await anyio.to_thread.run_sync(state.close)

    app = FastAPI(
        title="Tailor",
        version=_version(),
        description=DESCRIPTION,
        openapi_tags=TAGS,
        lifespan=lifespan,
        docs_url=None,  # install_docs serves /docs offline; /redoc (CDN only) is off
        redoc_url=None,
        swagger_ui_oauth2_redirect_url=None,
    )
    app.state.tailor = state
    install_error_handlers(app)
    app.add_middleware(RequestDeadlineMiddleware, seconds=settings.request_deadline_s)
    app.add_middleware(BodyLimitMiddleware, limit=JSON_LIMIT)
    app.add_middleware(CatchAllMiddleware)  # turns stray exceptions into a 500 JSON
    app.add_middleware(AllowedHostsMiddleware, allowed=settings.host_allowlist())  # before redirects
    app.add_middleware(MetricsMiddleware, metrics=state.metrics)  # outer: counts that 500 too
    app.add_middleware(RequestIdMiddleware)  # every log line of a request has its id
    app.add_middleware(EventFloodGuard, state=state)  # outermost: a flood of events costs least
    for router in ROUTERS:
        app.include_router(router)
    install_docs(app)
    install_openapi(app, state)
    redact_access_log()
    return app
