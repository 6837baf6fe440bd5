"""Pure: which video scenes of a template carry personal data, read off the Jinja it is written in.

A scene is *personal* when anything that decides its segment or its narration (the scene's
`when`, its layers' `when` and Jinja attributes as their `LayerKind` lists them, its narration
text and clip) reads the recipient id or a field the data contract marks ``personal: true``,
directly or through computed values and ``t('key')`` snippets (`renderer.template.refs`). The
analysis is static: a scene that is not personal renders the same for everyone who shares its
non-personal inputs (language, plan...), and one that is personal is treated so for every
recipient. Where a reference cannot be pinned down (a chart field computed at render time) it
assumes the widest reading.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from jinja2.sandbox import ImmutableSandboxedEnvironment

from renderer.outputs.video.layers import layer_kind
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


def _scene_sources(scene: Scene) -> Iterator[tuple[str, str]]:
    """(role, source) of every piece of Jinja that decides the scene: ``expr``, ``text`` or ``field``."""
    if scene.when:
        yield "expr", scene.when
    for layer in scene.layers:
        if layer.when:
            yield "expr", layer.when
        for name, role in layer_kind(layer).jinja_fields.items():
            yield role, str(getattr(layer, name))
    if scene.narration:
        yield "text", scene.narration.text
        if scene.narration.clip:
            yield "text", scene.narration.clip


def scene_fields(manifest: Manifest[Any]) -> dict[str, frozenset[str]]:
    """Scene id -> the contract fields the scene's resolved content depends on (the locale field
    always: it picks the voice, the snippets and the number formats)."""
    video = manifest.outputs.video
    if video is None:
        return {}
    env = expression_environment()
    graph = FieldGraph(manifest, env)
    every_name = frozenset(manifest.contract.fields) | frozenset(manifest.computed)
    always = Refs(frozenset({"locale"}))
    result = {}
    for scene in video.scenes:
        reads = [always]
        for role, source in _scene_sources(scene):
            if role == "expr":
                reads.append(expression_refs(env, source, graph.texts))
            elif role == "field":
                reads.append(_field_refs(env, source, graph.texts, every_name))
            else:
                reads.append(template_refs(env, source, graph.texts))
        result[scene.id] = graph.fields(union_refs(reads))
    return result


def personal_scenes(manifest: Manifest[Any]) -> frozenset[str]:
    """Ids of the video scenes whose content depends on the recipient id or a personal field.

    Every other scene renders identically for all recipients who share the fields it does read,
    none of which is personal: its cached segment and narration hold no personal data.
    """
    personal = personal_fields(manifest.contract)
    return frozenset(scene for scene, fields in scene_fields(manifest).items() if fields & personal)
