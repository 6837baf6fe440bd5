"""The unit of work: one recipient row -> validated, resolved, rendered, stored.

`render_row` never raises for a bad row or a failed output: it returns a `RowResult` saying
what happened, so a campaign always goes on. Messages name fields and outputs, never values.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from renderer.errors import FieldIssue, RenderError, RowError, StorageError
from renderer.outputs.microsite import RenderedFile, render_microsite
from renderer.storage.base import Storage
from renderer.storage.keys import output_key, static_key
from renderer.template.load import Template
from renderer.template.resolve import ResolvedSpec, resolve

OUTPUT_KINDS = ("microsite", "pdf")


@dataclass
class RowResult:
    """What happened to one row: ``ok``, ``rejected`` (bad data) or ``failed`` (render/storage)."""

    row: int
    status: str
    recipient_id: str = ""
    outputs: dict[str, str] = field(default_factory=dict)
    issues: list[FieldIssue] = field(default_factory=list)


Renderer = Callable[[Template, ResolvedSpec], RenderedFile]


def _render_pdf(timeout_s: float) -> Renderer:
    # WeasyPrint takes ~0.6 s to import: only processes that render PDFs pay for it.
    from renderer.outputs.document import render_pdf

    return lambda template, spec: render_pdf(template, spec, timeout_s=timeout_s)


def _renderers(outputs: list[str], timeout_s: float) -> dict[str, Renderer]:
    renderers: dict[str, Renderer] = {"microsite": render_microsite}
    if "pdf" in outputs:
        renderers["pdf"] = _render_pdf(timeout_s)
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


_PUBLISHED: set[tuple[int, str]] = set()


def publish_static(template: Template, storage: Storage) -> None:
    """Store the template's content-hashed static files once (create-if-absent, memoised)."""
    for asset in template.static.values():
        key = static_key(template.name, asset.hashed_name)
        if (id(storage), key) not in _PUBLISHED:
            storage.put_if_absent(key, asset.data, asset.content_type)
            _PUBLISHED.add((id(storage), key))


def render_recipient(
    template: Template,
    recipient: dict[str, Any],
    outputs: list[str],
    storage: Storage,
    campaign: str,
    *,
    pdf_timeout_s: float = 60.0,
) -> dict[str, str]:
    """Resolve and render one validated recipient, store each output; returns output -> key."""
    spec = resolve(template, recipient)
    renderers = _renderers(outputs, pdf_timeout_s)
    keys = {}
    if "microsite" in outputs:
        publish_static(template, storage)
    for name in outputs:
        try:
            rendered = renderers[name](template, spec)
        except RenderError as exc:
            raise RenderError(f"{name} output: {exc}") from exc
        except Exception as exc:  # a renderer bug: name the output and the error type only
            raise RenderError(f"{name} output: unexpected {type(exc).__name__}") from exc
        key = output_key(template.name, campaign, spec.recipient_id, rendered.name)
        storage.put(key, rendered.data, rendered.content_type)
        keys[name] = key
    return keys


def render_row(
    template: Template,
    row: int,
    values: dict[str, Any],
    outputs: list[str],
    storage: Storage,
    campaign: str,
    *,
    pdf_timeout_s: float = 60.0,
) -> RowResult:
    """Validate and render one raw row; every failure becomes a RowResult, never an exception."""
    try:
        recipient = template.validator.validate(values, row_number=row)
    except RowError as exc:
        return RowResult(row, "rejected", issues=exc.issues)
    rid = str(recipient[template.manifest.contract.recipient_id])
    try:
        keys = render_recipient(template, recipient, outputs, storage, campaign, pdf_timeout_s=pdf_timeout_s)
    except (RenderError, StorageError) as exc:
        return RowResult(row, "failed", rid, issues=[FieldIssue("(render)", str(exc))])
    return RowResult(row, "ok", rid, keys)
