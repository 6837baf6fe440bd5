"""Pure: which video scenes of a template carry personal data, read off the Jinja it is written in.

A scene is *personal* when anything that decides its segment or its narration (the scene's
`when`, its layers' `when` and Jinja attributes as their `LayerKind` lists them, its narration
text and clip) reads the recipient id or a field the data contract marks ``personal: true``,
directly or through computed values and ``t('key')`` snippets (`renderer.template.refs`). The
analysis is static: a scene that is not personal renders the same for everyone who shares its
non-personal inputs (language, plan...), and one that is personal is treated so for every
recipient. Where a reference cannot be pinned down (a chart field computed at render time) it
assumes the widest reading. A scene's `fallback` is read the same way (`fallback_leaks`): it must
read nothing personal.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from jinja2.sandbox import ImmutableSandboxedEnvironment

from renderer.outputs.video.layers import Layer, layer_kind
from renderer.outputs.video.spec import Scene
from renderer.template.jinja import expression_environment
from renderer.template.models import Manifest
from renderer.template.refs import (
    JINJA_MARKERS,
    FieldGraph,
    Refs,
    expression_refs,
    personal_fields,
    template_refs,
    union_refs,
)


def _field_refs(
    env: ImmutableSandboxedEnvironment, source: str, all_texts: frozenset[str], every_name: frozenset[str]
) -> Refs:
    """Jinja that renders to the name of a field (a chart's `data`): plain text names it; Jinja
    may name any."""
    if not any(marker in source for marker in JINJA_MARKERS):
        return Refs(frozenset({source.strip()}))
    return Refs(every_name) | template_refs(env, source, all_texts)


def _layer_sources(layers: list[Layer]) -> Iterator[tuple[str, str]]:
    """(role, source) of every piece of Jinja in `layers`: their `when`s and Jinja attributes."""
    for layer in layers:
        if layer.when:
            yield "expr", layer.when
        for name, role in layer_kind(layer).jinja_fields.items():
            yield role, str(getattr(layer, name))


def _scene_sources(scene: Scene) -> Iterator[tuple[str, str]]:
    """(role, source) of every piece of Jinja that decides the scene: ``expr``, ``text`` or ``field``."""
    if scene.when:
        yield "expr", scene.when
    yield from _layer_sources(scene.layers)
    if scene.narration:
        yield "text", scene.narration.text
        if scene.narration.clip:
            yield "text", scene.narration.clip


class _Reader:
    """The contract fields behind pieces of a manifest's Jinja (the locale field always)."""

    def __init__(self, manifest: Manifest[Any]) -> None:
        self.env = expression_environment()
        self.graph = FieldGraph(manifest, self.env)
        self.every_name = frozenset(manifest.contract.fields) | frozenset(manifest.computed)

    def fields(self, sources: Iterable[tuple[str, str]]) -> frozenset[str]:
        reads = [Refs(frozenset({"locale"}))]
        for role, source in sources:
            if role == "expr":
                reads.append(expression_refs(self.env, source, self.graph.texts))
            elif role == "field":
                reads.append(_field_refs(self.env, source, self.graph.texts, self.every_name))
            else:
                reads.append(template_refs(self.env, source, self.graph.texts))
        return frozenset(self.graph.fields(union_refs(reads)))


def scene_fields(manifest: Manifest[Any]) -> dict[str, frozenset[str]]:
    """Scene id -> the contract fields the scene's resolved content depends on (the locale field
    always: it picks the voice, the snippets and the number formats)."""
    video = manifest.outputs.video
    if video is None:
        return {}
    reader = _Reader(manifest)
    return {scene.id: reader.fields(_scene_sources(scene)) for scene in video.scenes}


def personal_scenes(manifest: Manifest[Any]) -> frozenset[str]:
    """Ids of the video scenes whose content depends on the recipient id or a personal field.

    Every other scene renders identically for all recipients who share the fields it does read,
    none of which is personal: its cached segment and narration hold no personal data.
    """
    personal = personal_fields(manifest.contract)
    return frozenset(scene for scene, fields in scene_fields(manifest).items() if fields & personal)


def fallback_leaks(manifest: Manifest[Any]) -> Iterator[tuple[str, int, frozenset[str]]]:
    """(scene id, fallback layer index, the personal fields it reads) of every layer of a scene's
    `fallback` that reads the recipient id or a personal field, by the same analysis as the
    scenes'; none for a template whose fallbacks are shared by all who share their language."""
    video = manifest.outputs.video
    if video is None:
        return
    reader = _Reader(manifest)
    personal = personal_fields(manifest.contract)
    for scene in video.scenes:
        for index, layer in enumerate(scene.fallback.layers if scene.fallback else ()):
            if read := reader.fields(_layer_sources([layer])) & personal:
                yield scene.id, index, read
