"""Enter/exit animation: for any time in a scene, how a layer's sprite appears.

`layer_state` says whether the sprite is hidden, its opacity, offset and scale, and how far a
content animation (``grow``, ``count-up``) has got (`progress`); frames with equal states are
equal, so the segment renderer reuses them. Once an animation is over the state is the plain
shown state, so the frames after it are the frames of a layer without one.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from renderer.outputs.video.layers.base import CONTENT_ANIMATIONS, Animation, ResolvedLayer


@dataclass(frozen=True)
class LayerState:
    """How a layer appears in one frame; equal states draw equal pixels. `progress` is how far
    (eased, 0..1, 4 places) its content animation has got; None: the finished sprite."""

    visible: bool
    opacity: float = 1.0
    dx: int = 0
    dy: int = 0
    scale: float = 1.0
    progress: float | None = None


HIDDEN = LayerState(False)
SLIDE = {"slide-left": (1, 0), "slide-right": (-1, 0), "slide-up": (0, 1), "slide-down": (0, -1)}


def _ease(progress: float) -> float:
    return 1 - (1 - progress) ** 3  # ease-out cubic


def _animated(animation: Animation, progress: float, width: int, height: int) -> LayerState:
    """State while an animation is `progress` (0..1) of the way from hidden to fully shown."""
    amount = _ease(max(0.0, min(1.0, progress)))
    if animation.kind == "fade":
        return LayerState(True, opacity=round(amount, 3))
    if animation.kind in CONTENT_ANIMATIONS:
        shown = round(amount, 4)
        return LayerState(True) if shown >= 1 else LayerState(True, progress=shown)
    if animation.kind == "scale":
        return LayerState(True, opacity=round(amount, 3), scale=round(0.6 + 0.4 * amount, 3))
    if animation.kind in SLIDE:
        ux, uy = SLIDE[animation.kind]
        offset = 1 - amount
        return LayerState(
            True,
            opacity=round(amount, 3),
            dx=round(ux * offset * width * 0.5),
            dy=round(uy * offset * height * 0.5),
        )
    return LayerState(True)


def layer_state(layer: ResolvedLayer, t: float, scene_seconds: float) -> LayerState:
    """The layer's appearance `t` seconds into a scene of `scene_seconds`."""
    spec = layer.spec
    start = spec.start
    end = min(spec.end if spec.end is not None else scene_seconds, scene_seconds)
    if t < start or t >= end:
        return HIDDEN
    w, h = spec.box.w, spec.box.h
    if spec.enter and spec.enter.kind != "none" and t < start + spec.enter.duration:
        state = _animated(spec.enter, (t - start) / spec.enter.duration, w, h)
    elif spec.exit and spec.exit.kind != "none" and t > end - spec.exit.duration:
        state = _animated(spec.exit, (end - t) / spec.exit.duration, w, h)
    else:
        state = LayerState(True)
    if spec.opacity < 1:
        state = replace(state, opacity=round(state.opacity * spec.opacity, 3))
    return state
