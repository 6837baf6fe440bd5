"""One router per resource; `ROUTERS` is the order they are mounted (and listed at ``/docs``)."""

from __future__ import annotations

from fastapi import APIRouter

from renderer.api.routes import (
    campaign_files,
    campaigns,
    events,
    health,
    pages,
    recipients,
    renders,
    templates,
    webhooks,
)

ROUTERS: tuple[APIRouter, ...] = (
    templates.router,
    renders.router,
    campaigns.router,
    campaign_files.router,
    recipients.router,
    webhooks.router,
    events.router,  # before pages: its /r/{token}/{key:path} would take /r/{token}/position
    pages.router,
    health.router,
)
