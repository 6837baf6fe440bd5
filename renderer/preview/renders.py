"""Render a preview with the production renderer: the page outputs (microsite, PDF and its pages
as images) or the draft video (with its scene timeline), each output on its own so one failing
never hides the others, into a `Shelf`; answers are JSON-ready dicts for the studio.

The page is rendered with the links a render of every output it offers would give it (its
player, its PDF link), exactly as a campaign renders it; the draft video lands under the same
render id when it is ready, so the page's player plays it.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from renderer.decisions.decide import Decision
from renderer.errors import TailorError
from renderer.outputs.decided import default_inputs, resolve_decided
from renderer.outputs.kind import RenderContext, Rendered, RenderedFile, RenderOptions
from renderer.outputs.registry import OUTPUT_KINDS
from renderer.outputs.render import offered_outputs, output_error, output_links, prepared_output
from renderer.outputs.template import Template
from renderer.outputs.video.personal import personal_scenes
from renderer.preview.draft_storage import DraftStorage
from renderer.preview.pages import pdf_page_images
from renderer.preview.problems import problem
from renderer.preview.scenes import plan_draft, scene_still, scene_timeline
from renderer.preview.shelf import Shelf
from renderer.storage.keys import static_href
from renderer.template.resolve import ResolvedSpec

PAGE_OUTPUTS = ("microsite", "pdf")
PREVIEW_CAMPAIGN = "preview"
PDF_PAGE_WIDTH = 820


@dataclass(frozen=True)
class Preview:
    """What one preview renders with: the template, the validated recipient, forced variants,
    the storage of the shared caches and the render options (draft video)."""

    template: Template
    recipient: Mapping[str, Any]
    forced: Mapping[str, str]
    storage: DraftStorage
    options: RenderOptions

    def resolve(self) -> tuple[ResolvedSpec, Decision]:
        """The resolved spec and decision, as a campaign's render would take them today."""
        inputs = replace(default_inputs(PREVIEW_CAMPAIGN), forced=dict(self.forced))
        return resolve_decided(self.template, self.recipient, inputs)

    def context(self) -> RenderContext:
        """The render context of a render of every offered output."""
        links = output_links(self.template, offered_outputs(self.template), self.options)
        return RenderContext(self.storage, self.options, links, static_href)


def named(template: Template, output: str, exc: Exception) -> TailorError:
    """`exc` as the error the studio lists: itself when a TailorError, else as a campaign names
    it (`output_error`: the template's file and line, or the error type only)."""
    return exc if isinstance(exc, TailorError) else output_error(template, output, exc)


def failure(preview: Preview, output: str, exc: TailorError) -> dict[str, Any]:
    """A failed output as the studio lists it, its file named from the template's folder."""
    template = preview.template
    return problem(output, exc, {"": template.root, "assets": template.assets_dir})


def _render_one(preview: Preview, name: str, spec: ResolvedSpec, ctx: RenderContext) -> Rendered:
    kind = OUTPUT_KINDS[name]
    try:
        return kind.render(prepared_output(preview.template, kind), spec, ctx)
    except Exception as exc:  # named as a campaign names it: the template's file and line
        raise output_error(preview.template, name, exc) from exc


def decision_view(decision: Decision) -> dict[str, Any]:
    """The sample's variants, slot winners, variant key and the decision trace (no personal values)."""
    context = decision.context()
    return {
        "variant_key": decision.variant_key,
        "variants": dict(context.get("variants", {})),
        "slots": {slot: list(ids) for slot, ids in context.get("slots", {}).items()},
        "trace": decision.trace(),
    }


def render_page(
    preview: Preview, shelf: Shelf, render_id: str, outputs: tuple[str, ...] = PAGE_OUTPUTS
) -> dict[str, Any]:
    """The page `outputs` (microsite, and PDF with its pages as PNGs) of the preview the
    template offers, stored on the shelf under `render_id`; each one's URL and seconds, or its
    problem."""
    spec, decision = preview.resolve()
    ctx = preview.context()
    answer: dict[str, Any] = {
        "id": render_id,
        "outputs": {},
        "problems": [],
        "decision": decision_view(decision),
    }
    for name in (n for n in outputs if n in offered_outputs(preview.template)):
        started = time.perf_counter()
        try:
            rendered = _render_one(preview, name, spec, ctx)
        except TailorError as exc:
            answer["problems"].append(failure(preview, name, exc))
            continue
        files = list(rendered.files)
        view: dict[str, Any] = {"url": f"/out/{render_id}/{files[0].name}"}
        if name == "pdf":
            pages = pdf_page_images(files[0].data, width=PDF_PAGE_WIDTH)
            images = [RenderedFile(f"pdf-page-{n}.png", png, "image/png") for n, png in enumerate(pages, 1)]
            files += images
            view["pages"] = [f"/out/{render_id}/{image.name}" for image in images]
        view["seconds"] = round(time.perf_counter() - started, 4)
        shelf.add(render_id, files)
        answer["outputs"][name] = view
    return answer


def render_draft(preview: Preview, shelf: Shelf, render_id: str) -> dict[str, Any]:
    """The draft video of the preview (half size, fastest preset; the same scene cache as final
    renders), stored under `render_id`, with its scene timeline: which scenes are personal and
    which came from the cache (only scenes whose resolved content changed are encoded)."""
    spec, decision = preview.resolve()
    answer: dict[str, Any] = {
        "id": render_id,
        "outputs": {},
        "problems": [],
        "decision": decision_view(decision),
    }
    started = time.perf_counter()
    try:
        planned, cached = plan_draft(preview.template, spec, preview.storage, preview.options)
        rendered = _render_one(preview, "video", spec, preview.context())
        preview.storage.settle(rendered.cache_objects.values())  # the personal ones stay in memory
        rows = scene_timeline(planned, personal_scenes(preview.template.manifest), cached)
        # the player's poster: the first scene this render encoded (what the edit changed), settled
        shown = next((row.index for row in rows if not row.cached), 0)
        poster = RenderedFile("draft-poster.png", scene_still(planned, shown), "image/png")
    except Exception as exc:
        answer["problems"].append(failure(preview, "video", named(preview.template, "video", exc)))
        return answer
    shelf.add(render_id, [*rendered.files, poster])
    names = {file.name for file in rendered.files}
    answer["outputs"]["video"] = {
        "url": f"/out/{render_id}/{rendered.files[0].name}",
        "captions": f"/out/{render_id}/captions.vtt" if "captions.vtt" in names else None,
        "poster": f"/out/{render_id}/{poster.name}",
        "poster_scene": rows[shown].id if rows else None,
        "seconds": round(time.perf_counter() - started, 4),
        "length": round(planned.seconds, 3),
        "encoded": sum(1 for row in rows if not row.cached),
        "timeline": [row.to_json() for row in rows],
    }
    return answer
