"""Pure: the load-time checks of the layers' animations that the manifest's types cannot say.

``grow`` and ``count-up`` change what a sprite shows, so only the layer kinds that draw them play
them (`LayerKind.content_animations`: a chart grows, a text counts up), and only as an enter
animation; a kind may add its own rule (`LayerKind.animation_problem`: a count-up text without
Jinja must hold a number). `check_animations` raises the first problem as a TemplateError naming
``template.yaml``, the line and the layer (``scene.<id>.layers.<n>``).
"""

from __future__ import annotations

from collections.abc import Iterator

from renderer.errors import TemplateError
from renderer.outputs.template import Template
from renderer.outputs.video.layers import Layer, layer_kind
from renderer.outputs.video.layers.base import CONTENT_ANIMATIONS
from renderer.outputs.video.spec import VideoOutput

__all__ = ["animation_problems", "check_animations"]


def _layer_problems(key: str, layers: list[Layer]) -> Iterator[tuple[str, str]]:
    for index, layer in enumerate(layers):
        where = f"{key}.{index}"
        if layer.exit is not None and layer.exit.kind in CONTENT_ANIMATIONS:
            yield where, f"{layer.exit.kind} is an enter animation only: use it as the layer's enter"
        if layer.enter is not None:
            problem = layer_kind(layer).animation_problem(layer, layer.enter.kind)
            if problem:
                yield where, problem


def animation_problems(section: VideoOutput) -> Iterator[tuple[str, str]]:
    """(line key, problem) of every animation a layer cannot play, in scene order; the key is
    ``scene.<id>.layers.<n>`` or ``scene.<id>.fallback.layers.<n>``; a problem names no value."""
    for scene in section.scenes:
        yield from _layer_problems(f"scene.{scene.id}.layers", scene.layers)
        if scene.fallback is not None:
            yield from _layer_problems(f"scene.{scene.id}.fallback.layers", scene.fallback.layers)


def check_animations(template: Template, section: VideoOutput) -> None:
    """Every layer can play its animations; otherwise TemplateError naming ``template.yaml`` and
    the line of the first problem (`animation_problems`), its message starting with the key."""
    for key, problem in animation_problems(section):
        raise TemplateError(f"{key}: {problem}", file=template.manifest_path, line=template.lines.get(key))
