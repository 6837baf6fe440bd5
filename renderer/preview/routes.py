"""The studio's JSON endpoints: the template's facts, field checks as the designer types, renders
of the page and the draft video, every locale side by side, and the pre-flight check.

Every POST takes a JSON body (``Content-Type: application/json``, which a page of another origin
cannot send without asking first) and answers JSON. Renders run in worker threads: one page-side
render (WeasyPrint and PDFium are not thread-safe) and one draft video at a time.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import anyio
from starlette.requests import Request
from starlette.responses import JSONResponse

from renderer.data.schema import contract_schema
from renderer.errors import TailorError
from renderer.outputs.render import offered_outputs
from renderer.outputs.template import Template
from renderer.preview.renders import Preview, render_draft, render_page
from renderer.preview.state import PreviewState, checked_forced, field_errors, recipient_data
from renderer.preview.studio import Studio

MAX_BODY = 512 * 1024
# WeasyPrint and PDFium must not run in two threads at once (both crash): one page-side render
# at a time, and one draft video beside it
PAGE_RENDERS = anyio.CapacityLimiter(1)
VIDEO_RENDERS = anyio.CapacityLimiter(1)


def error_response(status: int, message: str, **extra: Any) -> JSONResponse:
    """``{"error": message, **extra}`` with `status`; `message` must name no personal value."""
    return JSONResponse({"error": message, **extra}, status_code=status)


def studio_of(request: Request) -> Studio:
    """The studio the app serves."""
    studio: Studio = request.app.state.studio
    return studio


def template_info(request: Request) -> JSONResponse:
    """The template's name, samples, contract (as JSON Schema), experiments and outputs, the
    generation and the current problems; ``template`` is null while it has never loaded."""
    studio = studio_of(request)
    template = studio.template
    info: dict[str, Any] = {"generation": studio.generation, "problems": list(studio.problems)}
    if template is None:
        return JSONResponse({**info, "template": None})
    manifest = template.manifest
    info["template"] = {
        "name": template.name,
        "title": manifest.title,
        "version": manifest.version,
        "samples": {name: _sample_facts(template, raw) for name, raw in template.samples.items()},
        "schema": contract_schema(manifest.contract, manifest.title or template.name),
        "experiments": {exp: list(spec.variants) for exp, spec in manifest.decisions.experiments.items()},
        "outputs": offered_outputs(template),
    }
    return JSONResponse(info)


def _sample_facts(template: Template, raw: dict[str, Any]) -> dict[str, Any]:
    field = template.manifest.contract.locale_field
    return {"data": raw, "locale": str(raw.get(field)) if field else None}


async def json_body(request: Request) -> dict[str, Any] | JSONResponse:
    """The request's JSON object body (an empty body: ``{}``), or the error to answer: 415
    unless it is sent as ``application/json`` (what keeps other sites' forms out), 413 over
    `MAX_BODY`, 400 when it is not a JSON object."""
    if request.headers.get("content-type", "").split(";")[0].strip() != "application/json":
        return error_response(415, "send a JSON body (Content-Type: application/json)")
    raw = await request.body()
    if len(raw) > MAX_BODY:
        return error_response(413, f"body over {MAX_BODY // 1024} KiB")
    try:
        body = json.loads(raw or b"{}")
    except ValueError:
        return error_response(400, "body is not JSON")
    return body if isinstance(body, dict) else error_response(400, "body must be a JSON object")


def _state(template: Template, body: dict[str, Any]) -> PreviewState:
    default = next(iter(template.samples), "")
    return PreviewState.from_query(body, default)


async def check_fields(request: Request) -> JSONResponse:
    """Field -> problem of the sample with the edits, by the contract's validator."""
    body, template = await json_body(request), studio_of(request).template
    if isinstance(body, JSONResponse):
        return body
    if template is None:
        return error_response(409, "the template does not load", problems=list(studio_of(request).problems))
    try:
        raw = recipient_data(template, _state(template, body))
    except TailorError as exc:
        return error_response(400, str(exc))
    return JSONResponse({"errors": field_errors(template, raw)})


OUTPUT_PARTS = ("microsite", "pdf", "video")


def _preview(
    request: Request, template: Template, body: dict[str, Any]
) -> tuple[Preview, str] | JSONResponse:
    """The preview the body names, and its query string; 400 for a bad state, 422 with the
    field errors when the data breaks the contract."""
    try:
        state = _state(template, body)
        raw = recipient_data(template, state)
        forced = checked_forced(template, state.forced)
    except TailorError as exc:
        return error_response(400, str(exc))
    errors = field_errors(template, raw)
    if errors:
        return error_response(422, "the data breaks the contract", errors=errors)
    recipient = template.validator.validate(raw)
    options = request.app.state.options
    return Preview(template, recipient, forced, studio_of(request).storage, options), state.to_query()


async def render(request: Request) -> JSONResponse:
    """Render one output (``output``: microsite, pdf or video — a draft) of the state in the
    body, into the render ``into`` names (so a page's PDF link and player find their files)
    or a new one; 422 with the field errors when the data breaks the contract."""
    studio = studio_of(request)
    body, template, generation = await json_body(request), studio.template, studio.generation
    if isinstance(body, JSONResponse):
        return body
    if template is None:
        return error_response(409, "the template does not load", problems=list(studio.problems))
    output = body.get("output")
    if output not in OUTPUT_PARTS or output not in offered_outputs(template):
        return error_response(400, f"output must be one of {', '.join(offered_outputs(template))}")
    found = _preview(request, template, body)
    if isinstance(found, JSONResponse):
        return found
    preview, query = found
    shelf = request.app.state.shelf
    render_id = str(body.get("into") or "")
    if not (render_id and shelf.add(render_id, [])):  # unless it was dropped since
        render_id = shelf.new()
    work: Callable[[], dict[str, Any]] = (
        (lambda: render_draft(preview, shelf, render_id))
        if output == "video"
        else (lambda: render_page(preview, shelf, render_id, (output,)))
    )
    limiter = VIDEO_RENDERS if output == "video" else PAGE_RENDERS
    answer = await anyio.to_thread.run_sync(work, limiter=limiter)
    return JSONResponse({**answer, "generation": generation, "query": query})
