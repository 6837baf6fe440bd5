"""The studio's whole-template views: every sample's locale side by side (its microsite and the
first settled frame of every scene) and the pre-flight check of every sample and synthetic
recipients."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from typing import Any

import anyio
from starlette.requests import Request
from starlette.responses import JSONResponse

from renderer.errors import TailorError
from renderer.outputs.kind import RenderedFile
from renderer.outputs.render import offered_outputs
from renderer.outputs.template import Template
from renderer.preview.draft_storage import DraftStorage
from renderer.preview.preflight_job import PreflightRunner
from renderer.preview.problems import problem
from renderer.preview.renders import Preview, failure, named, render_page
from renderer.preview.routes import PAGE_RENDERS, error_response, json_body, studio_of
from renderer.preview.scenes import plan_draft, scene_stills
from renderer.preview.shelf import Shelf

STILL_WIDTH = 320
LOCALE_THREADS = 3
MAX_SYNTHETIC = 200
MAX_CAMPAIGN = 100_000_000


def _sample_view(preview: Preview, sample: str, shelf: Shelf) -> dict[str, Any]:
    render_id = shelf.new()
    answer = render_page(preview, shelf, render_id, ("microsite",))
    view: dict[str, Any] = {
        "sample": sample,
        "page": answer["outputs"].get("microsite", {}).get("url"),
        "stills": [],
        "problems": answer["problems"],
    }
    if "video" not in offered_outputs(preview.template):
        return view
    try:
        planned, _ = plan_draft(preview.template, preview.resolve()[0], preview.storage, preview.options)
        stills = scene_stills(planned, width=STILL_WIDTH)
    except Exception as exc:
        view["problems"].append(failure(preview, "video", named(preview.template, "video", exc)))
        return view
    files = [RenderedFile(f"still-{n}.png", png, "image/png") for n, (_, png) in enumerate(stills)]
    shelf.add(render_id, files)
    view["stills"] = [
        {"scene": scene, "url": f"/out/{render_id}/{file.name}"}
        for (scene, _), file in zip(stills, files, strict=True)
    ]
    return view


def _locale_view(template: Template, sample: str, request: Request) -> dict[str, Any]:
    try:
        recipient = template.validator.validate(dict(template.samples[sample]))
    except TailorError as exc:
        broken = [problem("data", exc, {})]  # a RowError names fields and rules only
        return {"sample": sample, "page": None, "stills": [], "problems": broken}
    # its narrations are held for this view only: a sample's personal ones never reach the cache
    storage = DraftStorage(studio_of(request).storage)
    preview = Preview(template, recipient, {}, storage, request.app.state.options)
    return _sample_view(preview, sample, request.app.state.shelf)


def locale_views(template: Template, request: Request) -> list[dict[str, Any]]:
    """Each sample's microsite and scene stills (a sample that breaks the contract shows why),
    in sample order; samples run side by side (narration is a subprocess, drawing releases the GIL)."""
    samples = list(template.samples)
    with ThreadPoolExecutor(LOCALE_THREADS, thread_name_prefix="tailor-locales") as pool:
        return list(pool.map(lambda sample: _locale_view(template, sample, request), samples))


async def locales(request: Request) -> JSONResponse:
    """Every sample side by side: ``{"samples": [{sample, page, stills: [{scene, url}], problems}]}``."""
    template = studio_of(request).template
    if template is None:
        return error_response(409, "the template does not load", problems=list(studio_of(request).problems))
    started = time.perf_counter()
    views = await anyio.to_thread.run_sync(locale_views, template, request, limiter=PAGE_RENDERS)
    return JSONResponse({"samples": views, "seconds": round(time.perf_counter() - started, 3)})


def _bounded(body: dict[str, Any], key: str, default: int, high: int) -> int:
    value = body.get(key, default)
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= high:
        raise ValueError(f"{key} must be a whole number from 0 to {high}")
    return value


async def preflight_check(request: Request) -> JSONResponse:
    """The pre-flight report of every sample and ``synthetic`` generated recipients, with the
    cost of a campaign of ``campaign_size``: rendered at full quality (not as drafts) into memory,
    so the first recipient is measured on a cold cache, in the studio's pre-flight process (the
    live preview goes on rendering meanwhile)."""
    studio, body = studio_of(request), await json_body(request)
    if isinstance(body, JSONResponse):
        return body
    template = studio.template
    if template is None:
        return error_response(409, "the template does not load", problems=list(studio.problems))
    try:
        synthetic = _bounded(body, "synthetic", 0, MAX_SYNTHETIC)
        size = _bounded(body, "campaign_size", 10_000, MAX_CAMPAIGN)
    except ValueError as exc:
        return error_response(400, str(exc))
    options = replace(request.app.state.options, draft=False)  # the cost of the campaign's own renders
    runner: PreflightRunner = request.app.state.preflight
    answer = await runner.run(template.root, studio.settings, options, synthetic, size)
    if "error" in answer:
        return error_response(409, answer["error"], problems=answer["problems"])
    return JSONResponse(answer)
