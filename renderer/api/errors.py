"""Every API error as one JSON shape, and the handlers that map Tailor's error tree onto HTTP.

``{"error": {"code": "stable_code", "message": "...", "field": ..., "row": ..., "issues": [...]}}``

Messages name fields, rows, templates and outputs, never a personal value: validation errors drop
pydantic's ``input``, and unexpected exceptions are logged by type only (``unhandled.py``).
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import InterfaceError, OperationalError
from starlette.exceptions import HTTPException
from starlette.routing import Match

from renderer.errors import (
    RenderError,
    RenderTimeout,
    RowError,
    ServiceUnavailable,
    SourceError,
    StorageError,
    TemplateError,
    template_message,
)

log = logging.getLogger("tailor.api")

_STATUS_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    409: "conflict",
    410: "gone",
    413: "payload_too_large",
    415: "unsupported_media_type",
    416: "range_not_satisfiable",
    422: "invalid_request",
    503: "service_unavailable",
}
STORAGE_RETRY_AFTER_S = 5


class ApiError(Exception):
    """An error the API answers on purpose, with a stable `code` clients can branch on."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        field: str | None = None,
        row: int | None = None,
        issues: list[dict[str, str]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
        self.field, self.row, self.issues, self.headers = field, row, issues, headers


def error_response(error: ApiError) -> JSONResponse:
    """The JSON response of `error`."""
    body: dict[str, Any] = {"code": error.code, "message": error.message}
    body["field"] = error.field
    body["row"] = error.row
    if error.issues is not None:
        body["issues"] = error.issues
    return JSONResponse({"error": body}, status_code=error.status, headers=error.headers)


def _from_validation(exc: RequestValidationError) -> ApiError:
    errors = exc.errors()
    if any(error.get("type") == "json_invalid" for error in errors):
        return ApiError(400, "malformed_json", "the request body is not valid JSON")
    issues = []
    for error in errors:
        loc = [str(part) for part in error.get("loc", ()) if part not in ("body", "query", "path", "header")]
        message = str(error.get("msg", "is invalid")).removeprefix("Value error, ")
        issues.append({"field": ".".join(loc) or "(body)", "reason": message})
    first = issues[0] if issues else {"field": "(body)", "reason": "is invalid"}
    message = "; ".join(f"{issue['field']}: {issue['reason']}" for issue in issues)
    return ApiError(422, "invalid_request", message, field=first["field"], issues=issues)


def _from_tailor(exc: Exception) -> ApiError:
    if isinstance(exc, RowError):
        issues = [{"field": issue.field, "reason": issue.reason} for issue in exc.issues]
        field = issues[0]["field"] if issues else None
        return ApiError(422, "invalid_recipient", str(exc), field=field, row=exc.row, issues=issues)
    if isinstance(exc, SourceError):
        return ApiError(422, "invalid_source", str(exc), row=exc.row)
    if isinstance(exc, ServiceUnavailable):
        headers = {"Retry-After": str(exc.retry_after_s)}
        return ApiError(503, f"{exc.service}_unavailable", str(exc), headers=headers)
    if isinstance(exc, StorageError):
        headers = {"Retry-After": str(STORAGE_RETRY_AFTER_S)}
        return ApiError(503, "storage_unavailable", str(exc), headers=headers)
    if isinstance(exc, RenderTimeout):
        return ApiError(504, "render_timeout", str(exc))
    if isinstance(exc, RenderError):
        return ApiError(500, "render_failed", str(exc))
    if isinstance(exc, TemplateError):
        return ApiError(422, "template_error", template_message(exc))
    return ApiError(500, "internal_error", "an unexpected error occurred")


_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")


def allowed_methods(request: Request) -> str:
    """Every method some route of the app serves on the request's path (GET and POST on
    ``/webhooks``, say), for a 405's ``Allow`` header: each method is matched against the routes
    as the router itself would (Starlette names only the first matching route's methods)."""
    routes = request.app.router.routes
    served = [
        method
        for method in _METHODS
        if any(route.matches({**request.scope, "method": method})[0] is Match.FULL for route in routes)
    ]
    return ", ".join(served)


def install_error_handlers(app: FastAPI) -> None:
    """Answer every known error in the JSON shape above."""

    async def api_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, ApiError)
        return error_response(exc)

    async def http_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, HTTPException)
        code = _STATUS_CODES.get(exc.status_code, f"http_{exc.status_code}")
        message = exc.detail if isinstance(exc.detail, str) else code.replace("_", " ")
        headers = dict(exc.headers) if exc.headers else None
        if exc.status_code == 405:  # Starlette names only the first matching route's methods
            headers = {**(headers or {}), "Allow": allowed_methods(request)}
        return error_response(ApiError(exc.status_code, code, message, headers=headers))

    async def validation_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        return error_response(_from_validation(exc))

    async def tailor_error(request: Request, exc: Exception) -> JSONResponse:
        error = _from_tailor(exc)
        if error.status >= 500 and error.status != 503:
            route = getattr(request.scope.get("route"), "path", "?")
            log.warning("%s %s answered %d %s", request.method, route, error.status, error.code)
        return error_response(error)

    async def database_error(request: Request, exc: Exception) -> JSONResponse:
        log.warning("job store error: %s", type(exc).__name__)
        message = f"the job store cannot be reached ({type(exc).__name__})"
        return error_response(ApiError(503, "database_unavailable", message, headers={"Retry-After": "5"}))

    app.add_exception_handler(ApiError, api_error)
    app.add_exception_handler(HTTPException, http_error)
    app.add_exception_handler(RequestValidationError, validation_error)
    for kind in (RowError, SourceError, ServiceUnavailable, StorageError, RenderError, TemplateError):
        app.add_exception_handler(kind, tailor_error)
    app.add_exception_handler(OperationalError, database_error)
    app.add_exception_handler(InterfaceError, database_error)
