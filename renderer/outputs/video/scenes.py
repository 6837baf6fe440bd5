"""Pure: a template's video spec + one resolved recipient -> the recipient's scenes, then timing.

`resolve_scenes` evaluates each scene's `when`, renders its Jinja texts, picks its images, and
returns canonical, hashable descriptions (no pixels yet); `resolve_fallback` does the same for a
personal scene's non-personal `fallback`. `time_scenes` turns narration lengths
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
    template: Template, snippet: str, index: int, layer: Layer, spec: ResolvedSpec, where: str
) -> ResolvedLayer:
    key = f"{snippet}.{index}"
    ctx = LayerContext(
        read=lambda attr: render_snippet(template, f"{key}.{attr}", spec.context),
        context=spec.context,
        locale=spec.locale,
        where=f"{where} {index}",
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


def _resolve_layers(
    template: Template,
    spec: ResolvedSpec,
    asset_digest: Callable[[str], str],
    prefix: tuple[str, str, str],
    layers: list[Layer],
) -> tuple[tuple[ResolvedLayer, ...], dict[str, str]]:
    """The layers whose `when` holds, resolved, and the digests of the assets they chose;
    `prefix` is (line key, snippet key, where) of the scene or fallback holding them."""
    line_key, snippet, where = prefix
    resolved, digests = [], {}
    for index, layer in enumerate(layers):
        key = f"{line_key}.layers.{index}"
        if layer.when and not evaluate_condition(template, f"{key}.when", spec):
            continue
        resolved.append(_resolve_layer(template, snippet, index, layer, spec, where))
        for ref, written in layer_kind(layer).chosen_assets(layer, resolved[-1].content):
            digests[ref] = _where(template, key, asset_digest, ref, written)
    return tuple(resolved), digests


def _background_digest(
    template: Template, key: str, background: Background, asset_digest: Callable[[str], str]
) -> str | None:
    media = background.image or background.video
    return _where(template, key, asset_digest, media) if media else None


def _video(template: Template) -> VideoOutput:
    video: VideoOutput | None = template.manifest.outputs.video
    if video is None:
        raise RenderError(f"template {template.name!r} has no video output")
    return video


def _narration(template: Template, key: str, spec: ResolvedSpec) -> str:
    return render_snippet(template, key, spec.context).strip()


def resolve_scenes(
    template: Template, spec: ResolvedSpec, asset_digest: Callable[[str], str]
) -> list[ResolvedScene]:
    """The recipient's scenes in order, skipped ones left out. Pure but for `asset_digest`."""
    scenes = []
    for scene in _video(template).scenes:
        if scene.when and not evaluate_condition(template, f"scene.{scene.id}.when", spec):
            continue
        prefix = (f"scene.{scene.id}", scene.id, f"scene {scene.id} layer")
        layers, digests = _resolve_layers(template, spec, asset_digest, prefix, scene.layers)
        narration = scene.narration
        scenes.append(
            ResolvedScene(
                id=scene.id,
                duration=None if scene.duration == "auto" else float(scene.duration),
                background=scene.background,
                background_digest=_background_digest(
                    template, f"scene.{scene.id}.background", scene.background, asset_digest
                ),
                layers=layers,
                narration_text=_narration(template, f"{scene.id}.narration.text", spec)
                if narration
                else None,
                narration_clip=_narration(template, f"{scene.id}.narration.clip", spec)
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


def fallback_scenes(template: Template) -> frozenset[str]:
    """Ids of the video scenes that declare a `fallback` (each of them personal: checked at load)."""
    video: VideoOutput | None = template.manifest.outputs.video
    return frozenset(s.id for s in (video.scenes if video else ()) if s.fallback is not None)


def resolve_fallback(
    template: Template, spec: ResolvedSpec, scene_id: str, asset_digest: Callable[[str], str]
) -> ResolvedScene:
    """The fallback of scene `scene_id` resolved for the recipient (its language, its
    non-personal data): the scene's id and transition, the fallback's layers (those whose `when`
    holds) over its background (the scene's own when it names none), no narration, `duration`
    None (it is timed to the recipient's scene: give it that scene's frames). It reads no personal
    field (checked at load), so its `canonical()` is the same for every recipient who shares its
    language and the non-personal fields it reads. The scene's own `when` is not evaluated. Pure but
    for `asset_digest`; RenderError when the scene has no fallback."""
    scene = next((s for s in _video(template).scenes if s.id == scene_id), None)
    if scene is None or scene.fallback is None:
        raise RenderError(f"scene {scene_id} of template {template.name!r} has no fallback")
    key = f"scene.{scene_id}.fallback"
    prefix = (key, f"{scene_id}.fallback", f"scene {scene_id} fallback layer")
    layers, digests = _resolve_layers(template, spec, asset_digest, prefix, scene.fallback.layers)
    own = scene.fallback.background
    background = own or scene.background
    background_key = f"{key}.background" if own else f"scene.{scene_id}.background"
    return ResolvedScene(
        id=scene_id,
        duration=None,
        background=background,
        background_digest=_background_digest(template, background_key, background, asset_digest),
        layers=layers,
        narration_text=None,
        narration_clip=None,
        transition=scene.transition,
        locale=spec.locale,
        digests=digests,
    )


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
