"""One router per resource; `ROUTERS` is the order they are mounted (and listed at ``/docs``)."""

from __future__ import annotations

from fastapi import APIRouter

from renderer.api.routes import (
    campaign_files,
    campaigns,
    engagement,
    events,
    experiments,
    form_exports,
    forms,
    health,
    pages,
    recipients,
    renders,
    streams,
    templates,
    webhooks,
)

ROUTERS: tuple[APIRouter, ...] = (
    templates.router,
    renders.router,
    campaigns.router,
    engagement.router,
    experiments.router,
    experiments.assets,
    campaign_files.router,
    recipients.router,
    webhooks.router,
    form_exports.router,
    forms.router,  # before pages: its POST /r/{token}/forms/{id} sits under the pages' GET paths
    events.router,  # before pages: its /r/{token}/{key:path} would take /r/{token}/position
    streams.router,  # before pages: its paths sit under the pages' /r/{token}/{key:path}
    pages.router,
    health.router,
)
