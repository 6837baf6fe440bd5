"""The pre-flight checks that look at a recipient's video frames, without encoding anything.

The video is planned at its full size (`plan_video`: scenes resolved, narration spoken, scenes
timed) and each scene's text layers are measured with the code that draws them:

- ``text-fit``: `fit_text` had to cut the text with an ellipsis (error), or it only fits at its
  `min_size` (warning).
- ``glyphs``: characters of the text that the font `fit_text` picked for its script has no glyph
  for (fontTools cmap, read once per font file): error. Only video texts are checked; the
  microsite and PDF fall back through the browser's and WeasyPrint's font lists.
- ``contrast``: the WCAG 2.x contrast ratio of the text's colour (its opacity applied) against
  the median colour behind its glyphs, in the frame at which the layer has fully entered, composed
  by `segments.compose_frames` with the layers below the text only (layers above it cover it).
  Large text (fitted size >= 32 px, or bold >= 24 px, at the video's size) needs 3:1, other text
  4.5:1 (AA); below that is a warning, below 3:1 an error.
- ``narration``: a scene with a fixed `duration` whose narration is longer (the scene grows to
  hold the speech, so the timing the template sets is not kept): error.
- ``link``: a ``qr`` layer's text with a scheme other than http(s), mailto:, tel: (`preflight_links`).

Fallback scenes (served on play instead of a personal scene) are checked like the scenes.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from dataclasses import replace
from functools import lru_cache

import numpy as np
from PIL import Image, ImageColor

from renderer.outputs.kind import RenderOptions
from renderer.outputs.template import Template
from renderer.outputs.video import segments
from renderer.outputs.video.kind import video_options
from renderer.outputs.video.layers import ResolvedLayer, draw_layer
from renderer.outputs.video.layers.base import LayerBase
from renderer.outputs.video.layers.motion import layer_state
from renderer.outputs.video.layers.text import TextLayer
from renderer.outputs.video.plan import PlannedVideo, plan_video
from renderer.outputs.video.scenes import TimedScene
from renderer.outputs.video.spec import VideoOutput
from renderer.outputs.video.text import FittedText, fit_text
from renderer.preview.findings import Finding
from renderer.preview.preflight_links import qr_link_finding
from renderer.storage.base import Storage
from renderer.template.paths import MANIFEST
from renderer.template.resolve import ResolvedSpec

AA_NORMAL = 4.5
AA_LARGE = 3.0
LARGE_PX, LARGE_BOLD_PX = 32, 24


@lru_cache(maxsize=32)
def font_coverage(path: str) -> frozenset[int]:
    """The code points the font file at `path` has a glyph for (its best cmap; the first face
    of a collection)."""
    from fontTools.ttLib import TTFont

    with TTFont(path, lazy=True, fontNumber=0) as font:
        return frozenset(font.getBestCmap() or {})


def relative_luminance(rgb: tuple[float, float, float]) -> float:
    """WCAG 2.x relative luminance of an sRGB colour (channels 0..255)."""

    def linear(channel: float) -> float:
        c = channel / 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (linear(c) for c in rgb)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast_ratio(a: tuple[float, float, float], b: tuple[float, float, float]) -> float:
    """WCAG 2.x contrast ratio of two colours, 1.0 to 21.0."""
    la, lb = sorted((relative_luminance(a), relative_luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def is_large(fitted: FittedText, bold: bool) -> bool:
    """Whether text at its fitted size counts as large (needs 3:1, not 4.5:1)."""
    return fitted.size >= LARGE_PX or (bold and fitted.size >= LARGE_BOLD_PX)


def _fit(layer: TextLayer, text: str) -> FittedText:
    return fit_text(
        text,
        (layer.box.w, layer.box.h),
        family=layer.font,
        bold=layer.weight == "bold",
        max_size=layer.size,
        min_size=layer.min_size,
    )


class _SceneCheck:
    """The checks of one timed scene (or fallback) of one recipient."""

    def __init__(
        self, planned: PlannedVideo, lines: Mapping[str, int], timed: TimedScene, prefix: str, where: str
    ) -> None:
        self.planned, self.settings, self.timed, self.lines = planned, planned.settings, timed, lines
        self.prefix, self.where = prefix, where  # "scene.greeting" / "scene greeting"
        self.frames: dict[tuple[int, int], np.ndarray] = {}

    def place(self, index: int, layers: list[LayerBase], layer: ResolvedLayer) -> tuple[str, str]:
        number = next((n for n, spec in enumerate(layers) if spec is layer.spec), index)
        return f"{self.where}, layer {number} ({layer.spec.type})", f"{self.prefix}.layers.{number}"

    def frame_index(self, layer: ResolvedLayer) -> int:
        """The first frame at which the layer has fully entered (past a scene fade-in), or its
        last visible frame when it leaves before."""
        spec, timed = layer.spec, self.timed
        entered = spec.start + (spec.enter.duration if spec.enter and spec.enter.kind != "none" else 0.0)
        end = min(spec.end if spec.end is not None else timed.duration, timed.duration)
        index = math.ceil(round(entered * timed.fps, 6))
        last = min(math.ceil(round(end * timed.fps, 6)), timed.frames) - 1
        while index < last and segments.fade_level(timed, index) < 1.0:
            index += 1  # past the scene's fade-in: the text as it is seen, not darkened
        return max(0, min(index, last))

    def behind(self, below: int, index: int) -> np.ndarray:
        """Frame `index` of the scene with only its first `below` layers, as an RGB array."""
        if (below, index) not in self.frames:
            scene = replace(self.timed.scene, layers=self.timed.scene.layers[:below])
            timed = TimedScene(scene, self.timed.start, self.timed.frames, self.timed.fps)
            data = next(
                segments.compose_frames(timed, self.settings, self.planned.open_asset, indexes=[index])
            )
            size = (self.settings.width, self.settings.height)
            self.frames[(below, index)] = np.asarray(Image.frombytes("RGB", size, data))
        return self.frames[(below, index)]


def _text_fit(fitted: FittedText, spec: TextLayer) -> tuple[str, str] | None:
    if fitted.truncated:
        return "error", (
            f"the text does not fit its {spec.box.w}x{spec.box.h} box even at min_size {spec.min_size} px:"
            " it is cut with an ellipsis"
        )
    if fitted.size == spec.min_size < spec.size:
        return "warning", f"the text only fits its box at min_size ({spec.min_size} px, size {spec.size})"
    return None


def _glyphs(fitted: FittedText, text: str) -> str | None:
    covered = font_coverage(fitted.font_path)
    missing = sorted({ord(c) for c in text if not c.isspace() and ord(c) not in covered})
    if not missing:
        return None
    shown = ", ".join(f"U+{point:04X}" for point in missing[:5]) + (", ..." if len(missing) > 5 else "")
    font = fitted.font_path.rsplit("/", 1)[-1]
    return f"{len(missing)} character(s) have no glyph in the font {font} (drawn as boxes): {shown}"


def _contrast(
    check: _SceneCheck, position: int, layer: ResolvedLayer, spec: TextLayer, fitted: FittedText
) -> tuple[str, str] | None:
    """The contrast finding of the text layer at `position` in its scene, if any."""
    index = check.frame_index(layer)
    state = layer_state(layer, index / check.timed.fps, check.timed.duration)
    if not state.visible:
        return None
    frame = check.behind(position, index)
    alpha = np.asarray(draw_layer(layer, check.planned.open_asset).getchannel("A"))
    ys, xs = np.nonzero(alpha >= 128)
    ys, xs = ys + spec.box.y, xs + spec.box.x
    inside = (ys >= 0) & (ys < frame.shape[0]) & (xs >= 0) & (xs < frame.shape[1])
    if not inside.any():
        return None
    behind = np.median(frame[ys[inside], xs[inside]], axis=0)
    back = (float(behind[0]), float(behind[1]), float(behind[2]))
    colour = ImageColor.getrgb(spec.colour)[:3]
    shown = tuple(state.opacity * c + (1 - state.opacity) * b for c, b in zip(colour, back, strict=True))
    ratio = contrast_ratio((shown[0], shown[1], shown[2]), back)
    needed = AA_LARGE if is_large(fitted, spec.weight == "bold") else AA_NORMAL
    if ratio >= needed:
        return None
    back_hex = "#{:02x}{:02x}{:02x}".format(*(round(c) for c in back))
    kind = "large" if needed == AA_LARGE else "normal"
    message = (
        f"contrast {ratio:.2f}:1 of {spec.colour} text ({fitted.size} px, {kind}) on {back_hex} behind it"
        f" at {index / check.timed.fps:.2f} s; WCAG AA needs {needed:g}:1"
    )
    return ("error" if ratio < AA_LARGE else "warning"), message


def _layer_findings(
    check: _SceneCheck, position: int, layer: ResolvedLayer, layers: list[LayerBase], recipient: str
) -> Iterator[Finding]:
    where, key = check.place(position, layers, layer)
    line = check.lines.get(key)
    if layer.spec.type == "qr":
        found = qr_link_finding(str(layer.content.get("data", "")), recipient, where, line)
        if found:
            yield found
        return
    if not isinstance(layer.spec, TextLayer):
        return
    text = str(layer.content["text"])
    fitted = _fit(layer.spec, text)
    results = [
        ("text-fit", _text_fit(fitted, layer.spec)),
        ("glyphs", ("error", m) if (m := _glyphs(fitted, text)) else None),
        ("contrast", _contrast(check, position, layer, layer.spec, fitted)),
    ]
    for name, result in results:
        if result is not None:
            yield Finding(name, result[0], recipient, where, result[1], MANIFEST, line)


def narration_findings(planned: PlannedVideo, template: Template, recipient: str) -> list[Finding]:
    """A ``narration`` error for each fixed-length scene whose narration is longer than the
    scene, and a warning when it ends too close to the end (the scene grows by its padding)."""
    findings = []
    for timed in planned.timed:
        spoken = planned.narrations.get(timed.scene.id)
        fixed = timed.scene.duration
        if spoken is None or fixed is None or timed.duration <= fixed + 1 / timed.fps:
            continue
        longer = spoken.seconds > fixed
        message = (
            f"scene {timed.scene.id} lasts {fixed:g} s (its duration) but its narration takes"
            f" {spoken.seconds:.1f} s{'' if longer else ' plus its padding'}: the scene grows to"
            f" {timed.duration:.1f} s; set duration: auto or shorten the narration"
        )
        findings.append(
            Finding(
                "narration",
                "error" if longer else "warning",
                recipient,
                f"scene {timed.scene.id} (narration)",
                message,
                MANIFEST,
                template.lines.get(f"scene.{timed.scene.id}"),
            )
        )
    return findings


def _scenes(
    planned: PlannedVideo, video: VideoOutput
) -> Iterator[tuple[TimedScene, list[LayerBase], str, str]]:
    """(timed scene, its manifest layers, line-key prefix, where) of every scene and fallback."""
    declared = {scene.id: scene for scene in video.scenes}
    for index, timed in enumerate(planned.timed):
        scene = declared[timed.scene.id]
        yield timed, list(scene.layers), f"scene.{scene.id}", f"scene {scene.id}"
        fallback = planned.fallbacks.get(index)
        if fallback is not None and scene.fallback is not None:
            prefix = f"scene.{scene.id}.fallback"
            yield fallback, list(scene.fallback.layers), prefix, f"scene {scene.id} fallback"


def video_findings(
    template: Template, spec: ResolvedSpec, storage: Storage, options: RenderOptions, recipient: str
) -> list[Finding]:
    """Every video finding for one resolved recipient (see the module docstring); none for a
    template without a video. Narration is spoken with `options.tts_engine` and cached in
    `storage` (a render before this one leaves it there); frames are composed, never encoded.
    Raises what planning raises (a TailorError naming the scene)."""
    from renderer.outputs.video.personal import personal_scenes

    video = template.manifest.outputs.video
    if video is None:
        return []
    full = video_options(replace(options, draft=False))  # frames at the template's own size
    planned = plan_video(template, spec, storage, full, frozenset(personal_scenes(template.manifest)))
    findings = narration_findings(planned, template, recipient)
    for timed, layers, prefix, where in _scenes(planned, video):
        check = _SceneCheck(planned, template.lines, timed, prefix, where)
        for position, layer in enumerate(timed.scene.layers):
            findings += _layer_findings(check, position, layer, layers, recipient)
    return findings
