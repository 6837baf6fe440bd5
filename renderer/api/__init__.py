"""The HTTP API (FastAPI): templates, one-off renders, campaigns, recipient pages, webhooks.

    app.py               create_app(settings): middleware, error handlers, lifespan
    state.py             what one app holds: settings, lazy job store and storage, templates
    deps.py              Annotated dependencies (state, store, storage, API key)
    errors.py            one JSON error shape; Tailor's error tree -> HTTP statuses
    routes/              one router per resource: templates, renders, campaigns (+ files),
                         recipients, webhooks, forms (+ exports), pages (/r/{token}), health
    form_guard.py, form_page.py, form_reports.py   form submits: origin/rate/size checks, the
                         no-JS answer page, the CSV/JSON export
    uploads.py, sources.py   campaign data: streamed multipart uploads, stored files
    reports.py           results and rejects as JSON Lines / CSV (formula-safe)
    links.py, objects.py     page tokens and direct links; serving stored files
    webhooks.py          signed deliveries from the outbox (what is emitted: renderer/jobs/events.py)
    metrics.py, middleware.py, contract_schema.py, keys.py

Render jobs (one recipient now or in the background) run in ``renderer/jobs/render_jobs.py``; the
routes hand them the app's metrics and the dispatcher's wake-up.

Run it with ``uvicorn --factory renderer.api:create_app`` (or ``tailor serve``).
"""

from __future__ import annotations

from renderer.api.app import create_app

__all__ = ["create_app"]
