"""The unit of work: one validated recipient -> resolved, rendered, stored.

`render_row` never raises for a failed output: it returns a `RowResult` saying what happened,
so a campaign always goes on. Messages name fields and outputs, never values.
"""

from __future__ import annotations

import time
import weakref
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from renderer.errors import (
    AssetError,
    FieldIssue,
    RenderError,
    RenderTimeout,
    StorageError,
    TailorError,
    TemplateError,
)
from renderer.outputs.microsite import RenderedFile, render_microsite
from renderer.settings import Settings
from renderer.storage.base import Storage
from renderer.storage.keys import output_key, static_key
from renderer.template.faults import template_fault
from renderer.template.load import Template
from renderer.template.resolve import ResolvedSpec, resolve

OUTPUT_KINDS = ("microsite", "pdf", "video")


@dataclass(frozen=True)
class RenderOptions:
    """Per-render limits and engines, taken from `Settings` once per process."""

    pdf_timeout_s: float = 60.0
    video_timeout_s: float = 300.0
    tts_engine: str = "espeak"
    video_preset: str = "veryfast"
    draft: bool = False
    encoder_threads: int = 0

    @classmethod
    def from_settings(
        cls, settings: Settings, *, draft: bool = False, encoder_threads: int = 0
    ) -> RenderOptions:
        """The options a worker or CLI process renders with."""
        return cls(
            settings.pdf_timeout_s,
            settings.video_timeout_s,
            settings.tts_engine,
            settings.video_preset,
            draft,
            encoder_threads,
        )


@dataclass
class RowResult:
    """What happened to one validated row: ``ok``, or ``failed`` (render or storage)."""

    row: int
    status: str
    recipient_id: str = ""
    outputs: dict[str, str] = field(default_factory=dict)
    issues: list[FieldIssue] = field(default_factory=list)


@dataclass(frozen=True)
class Rendered:
    """One output for one recipient: its files, and the cache objects that hold its personal
    content (entry name -> storage key, see `CACHE_ENTRY`)."""

    files: list[RenderedFile]
    personal_cache: Mapping[str, str] = field(default_factory=dict)


Renderer = Callable[[Template, ResolvedSpec], Rendered]
VIDEO_LINKS = {"video": "video.mp4", "poster": "poster.jpg", "captions": "captions.vtt"}
CACHE_ENTRY = "cache:"


def output_entries(keys: Mapping[str, str]) -> dict[str, str]:
    """The output files of a stored keys mapping (what reports, links and manifests show): the
    ``cache:`` entries, which only erasure reads, left out."""
    return {name: key for name, key in keys.items() if not name.startswith(CACHE_ENTRY)}


def _render_pdf(timeout_s: float) -> Renderer:
    # WeasyPrint takes ~0.6 s to import: only processes that render PDFs pay for it.
    from renderer.outputs.document import layout_fault, render_pdf

    def render(template: Template, spec: ResolvedSpec) -> Rendered:
        try:
            return Rendered([render_pdf(template, spec, timeout_s=timeout_s)])
        except Exception as exc:
            fault = layout_fault(template, exc)
            if fault is None:
                raise
            raise fault from exc

    return render


def _render_video(storage: Storage, options: RenderOptions) -> Renderer:
    from renderer.outputs.video.render import VideoOptions, render_video
    from renderer.outputs.video.scratch import scratch_space
    from renderer.outputs.video.tts import open_tts

    video = VideoOptions(
        open_tts(options.tts_engine),
        options.video_timeout_s,
        options.video_preset,
        options.draft,
        options.encoder_threads,
    )

    def render(template: Template, spec: ResolvedSpec) -> Rendered:
        with scratch_space():  # a full TMPDIR: one clear error naming it
            result = render_video(template, spec, storage, video)
        return Rendered(result.files, result.personal_cache)

    return render


def _renderers(
    template: Template, outputs: list[str], storage: Storage, options: RenderOptions
) -> dict[str, Renderer]:
    pdf = template.manifest.outputs.pdf
    links = {"pdf": pdf.filename if pdf and "pdf" in outputs else None}  # link only what is rendered
    links.update({k: (v if "video" in outputs else None) for k, v in VIDEO_LINKS.items()})
    renderers: dict[str, Renderer] = {
        "microsite": lambda template, spec: Rendered([render_microsite(template, spec, links=links)])
    }
    if "pdf" in outputs:
        renderers["pdf"] = _render_pdf(options.pdf_timeout_s)
    if "video" in outputs:
        renderers["video"] = _render_video(storage, options)
    return renderers


def check_outputs(template: Template, outputs: Iterable[str]) -> list[str]:
    """The requested outputs, checked against what the template offers; RenderError otherwise."""
    chosen = list(dict.fromkeys(outputs))
    offered = template.manifest.outputs
    for name in chosen:
        if name not in OUTPUT_KINDS:
            raise RenderError(f"unknown output {name!r}; choose from {', '.join(OUTPUT_KINDS)}")
        if getattr(offered, name) is None:
            raise RenderError(f"template {template.name!r} has no {name} output")
    if not chosen:
        raise RenderError("no outputs requested")
    return chosen


_PUBLISHED: weakref.WeakKeyDictionary[Storage, set[str]] = weakref.WeakKeyDictionary()


def publish_static(template: Template, storage: Storage) -> None:
    """Store the template's content-hashed static files once per storage (create-if-absent)."""
    published = _PUBLISHED.setdefault(storage, set())
    for asset in template.static.values():
        key = static_key(template.name, asset.hashed_name)
        if key not in published:
            storage.put_if_absent(key, asset.data, asset.content_type)
            published.add(key)


def output_error(template: Template, output: str, exc: Exception) -> TailorError:
    """What a failed output raises, prefixed with the output's name: a TemplateError naming the
    template's file and line when template code failed (a Jinja or sandbox error, a fault in a
    filter, a layout the template's CSS makes impossible), else a RenderError (the error type
    only for an unexpected error: its message may hold a value)."""
    if isinstance(exc, RenderTimeout):  # stays a timeout: the API answers 504 render_timeout
        return RenderTimeout(f"{output} output: {exc}")
    if isinstance(exc, AssetError):
        return RenderError(f"{output} output: {exc}")
    fault = template_fault(template, exc)
    if fault is not None:
        return TemplateError(f"{output} output: {fault.detail}", fault.file, fault.line)
    if isinstance(exc, RenderError):
        return RenderError(f"{output} output: {exc}")
    return RenderError(f"{output} output: unexpected {type(exc).__name__}")


def render_recipient(
    template: Template,
    recipient: dict[str, Any],
    outputs: list[str],
    storage: Storage,
    campaign: str,
    options: RenderOptions = RenderOptions(),
    *,
    overwrite: bool = True,
    durations: dict[str, float] | None = None,
) -> dict[str, str]:
    """Resolve and render one validated recipient, then store its outputs.

    Returns output -> key of its main file (``video`` -> ``…/video.mp4``), plus
    ``output:file`` -> key for companions (``video:poster.jpg``), plus ``cache:<entry>`` -> key of
    each shared cache object holding the recipient's personal content (``cache:segment:greeting``
    -> ``cache/segments/<sha256>.mp4``), so that erasing the recipient deletes those too; callers
    that show or link outputs take `output_entries`. Every output is rendered before
    any is stored, so a failing PDF never leaves a microsite behind that links to it. With
    ``overwrite=False`` each file is written only if absent (campaign workers: a redelivered task
    never rewrites what an earlier delivery stored). When `durations` is given, it receives the
    seconds each output took to render (storing excluded). Raises TemplateError (a template fault:
    file and line), RenderError (RenderTimeout for an output past its time limit) or StorageError,
    naming the output.
    """
    spec = resolve(template, recipient)
    renderers = _renderers(template, outputs, storage, options)
    rendered: dict[str, Rendered] = {}
    for name in outputs:
        started = time.perf_counter()
        try:
            rendered[name] = renderers[name](template, spec)
        except Exception as exc:
            raise output_error(template, name, exc) from exc
        if durations is not None:
            durations[name] = time.perf_counter() - started
    if "microsite" in outputs:
        publish_static(template, storage)
    keys = {}
    for name, output in rendered.items():
        for index, file in enumerate(output.files):
            key = output_key(template.name, campaign, spec.recipient_id, file.name)
            if overwrite:
                storage.put(key, file.data, file.content_type)
            else:
                storage.put_if_absent(key, file.data, file.content_type)
            keys[name if index == 0 else f"{name}:{file.name}"] = key
    for output in rendered.values():
        keys.update({CACHE_ENTRY + entry: key for entry, key in output.personal_cache.items()})
    return keys


def render_row(
    template: Template,
    row: int,
    recipient: dict[str, Any],
    outputs: list[str],
    storage: Storage,
    campaign: str,
    options: RenderOptions = RenderOptions(),
) -> RowResult:
    """Render one validated row; every failure becomes a RowResult, never an exception."""
    rid = str(recipient[template.manifest.contract.recipient_id])
    try:
        keys = render_recipient(template, recipient, outputs, storage, campaign, options)
    except (RenderError, StorageError, TemplateError) as exc:
        return RowResult(row, "failed", rid, issues=[FieldIssue("(render)", str(exc))])
    except Exception as exc:  # never let one recipient stop a campaign; the type names the bug
        issue = FieldIssue("(render)", f"unexpected {type(exc).__name__}")
        return RowResult(row, "failed", rid, issues=[issue])
    return RowResult(row, "ok", rid, keys)
