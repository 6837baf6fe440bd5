"""One router per resource; `ROUTERS` is the order they are mounted (and listed at ``/docs``)."""

from __future__ import annotations

from fastapi import APIRouter

from renderer.api.routes import (
    campaign_files,
    campaigns,
    engagement,
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
    engagement.router,
    campaign_files.router,
    recipients.router,
    webhooks.router,
    pages.router,
    health.router,
)
