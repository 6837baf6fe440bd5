"""The OpenAPI document says what the server does: every error it may answer, and live examples.

FastAPI documents a ``422`` in its own validation shape and nothing about what middleware and
handlers answer. `install_openapi` post-processes the generated document once:

* every error answer uses the one shape the server sends (`ErrorOut`), ``422`` included;
* operations with a body document ``400`` (malformed JSON or multipart) and ``413`` (too large),
  every operation that reads the job store ``503`` (a dependency is down, with ``Retry-After``),
  and the few operation-specific answers (`EXTRA`: ``409``/``415`` on ``POST /campaigns``,
  ``206``/``416`` for a range of a page file);
* examples: a template name, a sample name and a render request built from that template's own
  first sample (always valid for its current contract), beside the models' static examples.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from renderer.api.state import ApiState
from renderer.outputs.render import offered_outputs

log = logging.getLogger("tailor.api")
ERROR_REF = {"$ref": "#/components/schemas/ErrorOut"}
_ERROR_JSON = {"application/json": {"schema": ERROR_REF}}
RETRY_AFTER = {
    "Retry-After": {"description": "Seconds to wait before trying again", "schema": {"type": "integer"}}
}
BODY_ERRORS = {
    "400": "The body is not valid JSON, or not parseable multipart",
    "413": "The body (or the uploaded file) is over its size limit",
}
UNAVAILABLE = "The job store, broker or storage is unavailable; try again after Retry-After"
NO_STORE = {"/healthz", "/metrics", "/docs", "/openapi.json"}
EXTRA: dict[tuple[str, str], dict[str, str]] = {
    ("post", "/campaigns"): {
        "409": "This Idempotency-Key was used for a different campaign",
        "415": "Neither multipart/form-data nor application/json, or a file that is not .csv or .jsonl",
    },
    ("get", "/r/{token}/{key}"): {"416": "The requested range is outside the file"},
}
PARTIAL = {"description": "A byte range of the file (Range requests)", "content": {"*/*": {}}}


def _error(description: str, headers: dict[str, Any] | None = None) -> dict[str, Any]:
    answer: dict[str, Any] = {"description": description, "content": _ERROR_JSON}
    if headers:
        answer["headers"] = headers
    return answer


def document_errors(schema: dict[str, Any]) -> None:
    """Give every operation of `schema` the error answers the server really sends (in place)."""
    for path, item in schema.get("paths", {}).items():
        for method, operation in item.items():
            responses: dict[str, Any] = operation.setdefault("responses", {})
            if "422" in responses:
                responses["422"] = _error("The request (parameters, body or data) is invalid")
            if "requestBody" in operation:
                for status, description in BODY_ERRORS.items():
                    responses.setdefault(status, _error(description))
            if path not in NO_STORE:
                responses.setdefault("503", _error(UNAVAILABLE, RETRY_AFTER))
            for status, description in EXTRA.get((method, path), {}).items():
                responses.setdefault(status, _error(description))
            if (method, path) == ("get", "/r/{token}/{key}"):
                responses.setdefault("206", PARTIAL)
    components = schema.get("components", {}).get("schemas", {})
    for unused in ("HTTPValidationError", "ValidationError"):
        components.pop(unused, None)


def _parameter(operation: dict[str, Any], name: str) -> dict[str, Any] | None:
    return next((p for p in operation.get("parameters", []) if p.get("name") == name), None)


def add_examples(schema: dict[str, Any], state: ApiState) -> None:
    """Examples from the first template that loads: its name, a sample name, a render request."""
    for name in state.template_names():
        try:
            template = state.template(name)
        except Exception as exc:  # a broken template: no examples from it
            log.warning("openapi examples: template %r: %s", name, type(exc).__name__)
            continue
        if not template.samples:
            continue
        sample_name, sample = next(iter(template.samples.items()))
        paths = schema.get("paths", {})
        for path in ("/templates/{name}", "/templates/{name}/renders"):
            for operation in paths.get(path, {}).values():
                if (parameter := _parameter(operation, "name")) is not None:
                    parameter["example"] = name
        detail = paths.get("/templates/{name}", {}).get("get", {})
        if (parameter := _parameter(detail, "sample")) is not None:
            parameter["example"] = sample_name
        render = paths.get("/templates/{name}/renders", {}).get("post", {})
        body = render.get("requestBody", {}).get("content", {}).get("application/json")
        if body is not None:
            pages = offered_outputs(template, background=False)
            body["example"] = {"recipient": sample, "outputs": pages}
        return


def install_openapi(app: FastAPI, state: ApiState) -> None:
    """Serve `document_errors` + `add_examples` applied to FastAPI's document (built once)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title, version=app.version, description=app.description,
                routes=app.routes, tags=app.openapi_tags,
            )  # fmt: skip
            document_errors(schema)
            add_examples(schema, state)
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
