"""Enter/exit animation: for any time in a scene, how a layer's sprite appears.

`layer_state` says whether the sprite is hidden, its opacity, offset and scale; frames with equal
states are equal, so the segment renderer reuses them.
"""

from __future__ import annotations

from dataclasses import dataclass

from renderer.outputs.video.layers.base import Animation, ResolvedLayer


@dataclass(frozen=True)
class LayerState:
    """How a layer appears in one frame; equal states draw equal pixels."""

    visible: bool
    opacity: float = 1.0
    dx: int = 0
    dy: int = 0
    scale: float = 1.0


HIDDEN = LayerState(False)
SLIDE = {"slide-left": (1, 0), "slide-right": (-1, 0), "slide-up": (0, 1), "slide-down": (0, -1)}


def _ease(progress: float) -> float:
    return 1 - (1 - progress) ** 3  # ease-out cubic


def _animated(animation: Animation, progress: float, width: int, height: int) -> LayerState:
    """State while an animation is `progress` (0..1) of the way from hidden to fully shown."""
    amount = _ease(max(0.0, min(1.0, progress)))
    if animation.kind == "fade":
        return LayerState(True, opacity=round(amount, 3))
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
        state = LayerState(True, round(state.opacity * spec.opacity, 3), state.dx, state.dy, state.scale)
    return state
