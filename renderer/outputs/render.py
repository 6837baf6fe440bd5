"""Render one recipient: resolve, render each chosen output through its kind, store the files.

`render_recipient` is the one entry point every front door and job uses; it returns a typed
`RecipientOutputs` (the files stored per output, the shared cache objects holding the recipient's
personal content). `RecipientOutputs.to_record` / `from_record` are the one place that knows how
that is written to the job store (a flat mapping: ``video``, ``video:poster.jpg``, ``cache:…``).
"""

from __future__ import annotations

import threading
import time
import weakref
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from renderer.decisions.decide import NO_DECISION, Decision, DecisionInputs
from renderer.errors import AssetError, RenderError, RenderTimeout, TailorError, TemplateError
from renderer.outputs.decided import default_inputs, resolve_decided
from renderer.outputs.kind import OutputKind, RenderContext, Rendered, RenderOptions
from renderer.outputs.microsite import MICROSITE
from renderer.outputs.registry import OUTPUT_KINDS
from renderer.outputs.template import Template
from renderer.storage.base import Storage
from renderer.storage.keys import output_key, static_href, static_key
from renderer.template.faults import template_fault

P = TypeVar("P")
_CACHE = "cache:"  # the record's prefix of a cache entry (``cache:segment:greeting``)


@dataclass(frozen=True)
class StoredOutput:
    """One output stored for one recipient: its main file's key, its companions' by file name."""

    main: str
    companions: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class RecipientOutputs:
    """What a render stored for one recipient: each output's files, and by entry name
    (``segment:greeting``) the shared cache objects holding its personal content."""

    outputs: Mapping[str, StoredOutput]
    cache: Mapping[str, str] = field(default_factory=dict)
    # the decisions the outputs were rendered with (trace, variant key, triggers shown)
    decision: Decision = NO_DECISION

    def file_keys(self) -> dict[str, str]:
        """Every stored file by the name reports and links show: the output's name for its main
        file (``video``), ``<output>:<file>`` for a companion (``video:poster.jpg``)."""
        keys: dict[str, str] = {}
        for name, stored in self.outputs.items():
            keys[name] = stored.main
            keys.update({f"{name}:{file}": key for file, key in stored.companions.items()})
        return keys

    def to_record(self) -> dict[str, str]:
        """The flat mapping the job store keeps: `file_keys` plus ``cache:<entry>`` entries."""
        return {**self.file_keys(), **{_CACHE + entry: key for entry, key in self.cache.items()}}

    @classmethod
    def from_record(cls, record: Mapping[str, str]) -> RecipientOutputs:
        """Read back what `to_record` wrote (or any earlier version wrote)."""
        outputs: dict[str, dict[str, Any]] = {}
        cache: dict[str, str] = {}
        for name, key in record.items():
            if name.startswith(_CACHE):
                cache[name.removeprefix(_CACHE)] = key
            elif ":" in name:
                output, file = name.split(":", 1)
                outputs.setdefault(output, {"companions": {}})["companions"][file] = key
            else:
                outputs.setdefault(name, {"companions": {}})["main"] = key
        stored = {
            name: StoredOutput(o["main"], o["companions"]) for name, o in outputs.items() if "main" in o
        }
        return cls(stored, cache)


def output_entries(record: Mapping[str, str]) -> dict[str, str]:
    """The output files of a stored record (what reports, links and manifests show): not the
    stream's internal files (its plan and segments), which only its token's routes serve."""
    files = RecipientOutputs.from_record(record).file_keys()
    return {name: key for name, key in files.items() if not _private(name)}


def _private(entry: str) -> bool:
    output, _, file = entry.partition(":")
    kind = OUTPUT_KINDS.get(output)
    return bool(file) and kind is not None and kind.is_private(file)


def offered_outputs(template: Template, *, background: bool = True) -> list[str]:
    """The outputs `template` offers, in registry order; without the background ones (video)
    when `background` is False."""
    offered = template.manifest.outputs.offered()
    return [name for name in offered if background or not OUTPUT_KINDS[name].background]


def check_outputs(template: Template, outputs: Iterable[str]) -> list[str]:
    """The requested outputs, checked against the registry and what the template offers;
    RenderError otherwise."""
    chosen = list(dict.fromkeys(outputs))
    for name in chosen:
        if name not in OUTPUT_KINDS:
            raise RenderError(f"unknown output {name!r}; choose from {', '.join(OUTPUT_KINDS)}")
        if getattr(template.manifest.outputs, name) is None:
            raise RenderError(f"template {template.name!r} has no {name} output")
    if not chosen:
        raise RenderError("no outputs requested")
    return chosen


_PREPARING = threading.RLock()


def prepared_output(template: Template, kind: OutputKind[Any, P]) -> P:
    """`kind.prepare` of `template`, built once per loaded template and process (threads that
    ask at once wait for the one building it) and dropped with the template."""
    value: P
    with _PREPARING:
        if kind.name not in template.prepared:
            template.prepared[kind.name] = kind.prepare(
                template, getattr(template.manifest.outputs, kind.name)
            )
        value = template.prepared[kind.name]
    return value


_PUBLISHED: weakref.WeakKeyDictionary[Storage, set[str]] = weakref.WeakKeyDictionary()


def publish_static(template: Template, storage: Storage) -> None:
    """Store the microsite's content-hashed static files once per storage (create-if-absent)."""
    published = _PUBLISHED.setdefault(storage, set())
    for asset in prepared_output(template, MICROSITE).static.values():
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


def output_links(template: Template, outputs: list[str], options: RenderOptions) -> dict[str, str | None]:
    """Every registered link name -> the file of its output beside the page (the `RenderContext`
    links of a render of `outputs`), None for an output
    not offered or not rendered now (or a file these `options` leave out)."""
    links: dict[str, str | None] = {link: None for kind in OUTPUT_KINDS.values() for link in kind.link_names}
    for name in offered_outputs(template):
        section = getattr(template.manifest.outputs, name)
        for link, file in OUTPUT_KINDS[name].links(template, section, options).items():
            links[link] = file if name in outputs else None
    return links


def _render_in_memory(
    template: Template,
    recipient: Mapping[str, Any],
    outputs: list[str],
    ctx: RenderContext,
    inputs: DecisionInputs,
    durations: dict[str, float] | None = None,
) -> tuple[str, dict[str, Rendered], Decision]:
    """Resolve `recipient` (its decisions taken from `inputs`) and render each of `outputs`
    (checked names) in memory: (recipient id, output -> Rendered, the decision). `durations`,
    when given, receives each output's seconds."""
    spec, decision = resolve_decided(template, recipient, inputs)
    rendered: dict[str, Rendered] = {}
    for name in outputs:
        kind = OUTPUT_KINDS[name]
        started = time.perf_counter()
        try:
            rendered[name] = kind.render(prepared_output(template, kind), spec, ctx)
        except Exception as exc:
            raise output_error(template, name, exc) from exc
        if durations is not None:
            durations[name] = time.perf_counter() - started
    return spec.recipient_id, rendered, decision


def render_recipient(
    template: Template,
    recipient: Mapping[str, Any],
    outputs: list[str],
    storage: Storage,
    campaign: str,
    options: RenderOptions = RenderOptions(),
    *,
    overwrite: bool = True,
    durations: dict[str, float] | None = None,
    decisions: DecisionInputs | None = None,
) -> RecipientOutputs:
    """Resolve and render one validated recipient, then store its outputs.

    Every output is rendered before any is stored, so a failing PDF never leaves a microsite
    behind that links to it. With ``overwrite=False`` each file is written only if absent
    (campaign workers: a redelivered task never rewrites what an earlier delivery stored). When
    `durations` is given, it receives the seconds each output took to render (storing excluded).
    Raises TemplateError (a template fault: file and line), RenderError (RenderTimeout for an
    output past its time limit) or StorageError, naming the output.
    """
    ctx = RenderContext(storage, options, output_links(template, outputs, options), static_href)
    inputs = decisions or default_inputs(campaign)
    recipient_id, rendered, decision = _render_in_memory(template, recipient, outputs, ctx, inputs, durations)
    if "microsite" in outputs:
        publish_static(template, storage)
    stored: dict[str, StoredOutput] = {}
    for name, output in rendered.items():
        if not output.files:
            raise RenderError(f"{name} output: the renderer produced no file")
        keys = []
        for file in output.files:
            key = output_key(template.name, campaign, recipient_id, file.name)
            if overwrite:
                storage.put(key, file.data, file.content_type)
            else:
                storage.put_if_absent(key, file.data, file.content_type)
            keys.append(key)
        companions = {file.name: key for file, key in zip(output.files[1:], keys[1:], strict=True)}
        stored[name] = StoredOutput(keys[0], companions)
    cache = {entry: key for output in rendered.values() for entry, key in output.cache_objects.items()}
    return RecipientOutputs(stored, cache, decision)
