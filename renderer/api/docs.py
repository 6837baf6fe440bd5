"""``/docs``: Swagger UI served from the package, offline, under a strict Content-Security-Policy.

FastAPI's own ``/docs`` and ``/redoc`` load their scripts from a CDN (blank offline) and start
Swagger UI from an inline script. Here the page loads npm's ``swagger-ui-dist`` (the exact
version in ``package.json``, copied into ``static/swagger-ui/`` by
``scripts/vendor-swagger-ui.sh``) and a small starter file from ``/docs-assets/``, with
relative URLs (so a proxy's path prefix keeps working) and a CSP that allows only this origin:
no inline script, no eval, no third-party host. ``/redoc`` is off.
"""

from __future__ import annotations

import html
from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import HTMLResponse
from starlette.staticfiles import StaticFiles

ASSETS = Path(__file__).parent / "static" / "swagger-ui"
ASSETS_PATH = "/docs-assets"
DOCS_CSP = "; ".join(
    [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'none'",
    ]
)
DOCS_HEADERS = {
    "Content-Security-Policy": DOCS_CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}


def swagger_ui_version() -> str:
    """The swagger-ui-dist version whose files the package holds."""
    return (ASSETS / "VERSION").read_text(encoding="utf-8").strip()


def docs_page(title: str, openapi_url: str) -> str:
    """The ``/docs`` HTML: the vendored Swagger UI on `openapi_url`, every URL relative to /docs."""
    assets = "." + ASSETS_PATH
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>{html.escape(title)} - API docs</title>
<link rel="icon" type="image/png" href="{assets}/favicon-32x32.png">
<link rel="stylesheet" href="{assets}/swagger-ui.css">
</head>
<body>
<div id="swagger-ui" data-openapi-url="{html.escape("." + openapi_url)}"></div>
<script src="{assets}/swagger-ui-bundle.js"></script>
<script src="{assets}/tailor-init.js"></script>
</body>
</html>
"""


def install_docs(app: FastAPI) -> None:
    """Serve ``/docs`` and its assets from the package (`app` built with ``docs_url=None``)."""
    page = docs_page(app.title, app.openapi_url or "/openapi.json")

    @app.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        return HTMLResponse(page, headers=DOCS_HEADERS)

    # check_dir=False: a package built without its static files still serves the API
    app.mount(ASSETS_PATH, StaticFiles(directory=ASSETS, check_dir=False), name="docs-assets")
