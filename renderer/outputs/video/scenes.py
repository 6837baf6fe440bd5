"""Pure: a template's video spec + one resolved recipient -> the recipient's scenes, then timing.

`resolve_scenes` evaluates each scene's `when`, renders its Jinja texts, picks its images, and
returns canonical, hashable descriptions (no pixels yet). `time_scenes` turns narration lengths
into frame-exact durations and start times. Neither touches files except through the injected
`asset_digest` (so the pure core stays testable).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from jinja2 import Template as JinjaTemplate
from jinja2 import TemplateError as JinjaError

from renderer.errors import AssetError, RenderError
from renderer.outputs.template import Template
from renderer.outputs.video.layers import Layer, layer_kind
from renderer.outputs.video.layers.base import LayerContext, ResolvedLayer
from renderer.outputs.video.spec import Background, VideoOutput
from renderer.template.faults import template_fault
from renderer.template.paths import MANIFEST
from renderer.template.resolve import ResolvedSpec, evaluate_condition

AUTO_PADDING_S = 0.6
MIN_SCENE_S = 1.0
MAX_SCENE_S = 600.0


@dataclass(frozen=True)
class ResolvedScene:
    """One scene for one recipient, before timing: background, layers, narration."""

    id: str
    duration: float | None  # None: 'auto', decided by the narration's length
    background: Background
    background_digest: str | None
    layers: tuple[ResolvedLayer, ...]
    narration_text: str | None
    narration_clip: str | None
    transition: str
    locale: str
    digests: Mapping[str, str] = field(default_factory=dict)

    def canonical(self) -> dict[str, Any]:
        """The scene's visual content as JSON-able data: the input of its segment cache key."""
        return {
            "id": self.id,
            "background": self.background.model_dump(mode="json"),
            "background_digest": self.background_digest,
            "layers": [layer.canonical() for layer in self.layers],
            "transition": self.transition,
            "asset_digests": dict(sorted(self.digests.items())),
        }


@dataclass(frozen=True)
class TimedScene:
    """A scene placed on the timeline, in whole frames."""

    scene: ResolvedScene
    start: float
    frames: int
    fps: int

    @property
    def duration(self) -> float:
        """Length in seconds (a whole number of frames)."""
        return self.frames / self.fps


def render_snippet(template: Template, key: str, context: Mapping[str, Any]) -> str:
    """Render a compiled video text snippet (``<scene>.<layer>.text``) with the recipient's data."""
    snippet = template.texts.get("_video", {}).get(key)
    if snippet is None:
        raise RenderError(f"video text {key!r} is missing")
    if isinstance(snippet, str):
        return snippet
    try:
        return str(snippet.render(context)) if isinstance(snippet, JinjaTemplate) else str(snippet)
    except (JinjaError, ArithmeticError, TypeError, ValueError) as exc:
        fault = template_fault(template, exc)
        raise fault or RenderError(f"video text {key} failed: {type(exc).__name__}") from None


def _resolve_layer(
    template: Template, scene_id: str, index: int, layer: Layer, spec: ResolvedSpec
) -> ResolvedLayer:
    key = f"{scene_id}.{index}"
    ctx = LayerContext(
        read=lambda attr: render_snippet(template, f"{key}.{attr}", spec.context),
        context=spec.context,
        locale=spec.locale,
        where=f"scene {scene_id} layer {index}",
    )
    return ResolvedLayer(layer, layer_kind(layer).content(layer, ctx))


def _where(
    template: Template, key: str, asset_digest: Callable[[str], str], ref: str, source: str | None = None
) -> str:
    """`asset_digest(ref)`; an AssetError names ``template.yaml`` and the line of `key`
    (``scene.<id>.layers.<n>``, ``scene.<id>.background``) and shows the reference as written
    (`source`, before Jinja chose it from data), never the data-chosen one."""
    try:
        return asset_digest(ref)
    except AssetError as exc:
        detail = exc.detail.replace(repr(ref), repr(source)) if source else exc.detail
        line = template.lines.get(key)
        raise AssetError(f"{key}: {detail}", file=f"{template.name}/{MANIFEST}", line=line) from None


def resolve_scenes(
    template: Template, spec: ResolvedSpec, asset_digest: Callable[[str], str]
) -> list[ResolvedScene]:
    """The recipient's scenes in order, skipped ones left out. Pure but for `asset_digest`."""
    video: VideoOutput | None = template.manifest.outputs.video
    if video is None:
        raise RenderError(f"template {template.name!r} has no video output")
    scenes = []
    for scene in video.scenes:
        if scene.when and not evaluate_condition(template, f"scene.{scene.id}.when", spec):
            continue
        layers, digests = [], {}
        for index, layer in enumerate(scene.layers):
            key = f"scene.{scene.id}.layers.{index}"
            if layer.when and not evaluate_condition(template, f"{key}.when", spec):
                continue
            layers.append(_resolve_layer(template, scene.id, index, layer, spec))
            for ref, written in layer_kind(layer).chosen_assets(layer, layers[-1].content):
                digests[ref] = _where(template, key, asset_digest, ref, written)
        media = scene.background.image or scene.background.video
        narration = scene.narration
        scenes.append(
            ResolvedScene(
                id=scene.id,
                duration=None if scene.duration == "auto" else float(scene.duration),
                background=scene.background,
                background_digest=_where(template, f"scene.{scene.id}.background", asset_digest, media)
                if media
                else None,
                layers=tuple(layers),
                narration_text=render_snippet(template, f"{scene.id}.narration.text", spec.context).strip()
                if narration
                else None,
                narration_clip=render_snippet(template, f"{scene.id}.narration.clip", spec.context).strip()
                if narration and narration.clip
                else None,
                transition=scene.transition,
                locale=spec.locale,
                digests=digests,
            )
        )
    if not scenes:
        raise RenderError("every scene was skipped for this recipient: the video would be empty")
    return scenes


def time_scenes(
    scenes: list[ResolvedScene], narration_seconds: Mapping[str, float], fps: int
) -> list[TimedScene]:
    """Place scenes back to back in whole frames; an 'auto' scene lasts its narration plus padding.

    A fixed-length scene still grows to hold its narration, so speech is never cut off.
    """
    timed = []
    frame = 0
    for scene in scenes:
        spoken = narration_seconds.get(scene.id, 0.0)
        seconds = max(scene.duration or 0.0, spoken + AUTO_PADDING_S if spoken else 0.0, MIN_SCENE_S)
        if seconds > MAX_SCENE_S:
            raise RenderError(f"scene {scene.id} would last {seconds:.0f} s (over {MAX_SCENE_S:.0f} s)")
        frames = math.ceil(round(seconds * fps, 6))
        timed.append(TimedScene(scene, frame / fps, frames, fps))
        frame += frames
    return timed
