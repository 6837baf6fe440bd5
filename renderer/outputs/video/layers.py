"""Layers: a registry keyed by `type`, one small draw function each, plus enter/exit animation.

A draw function turns a `ResolvedLayer` into an RGBA sprite the size of its box, once per scene.
`layer_state` then says, for any time in the scene, how the sprite appears (hidden, opacity,
offset, scale); frames with equal states are equal, so the segment renderer reuses them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from PIL import Image, ImageDraw, ImageOps

from renderer.errors import RenderError
from renderer.outputs.charts import ChartGeometry, chart_geometry
from renderer.outputs.images import IMAGE_ERRORS, UnusableImage
from renderer.outputs.video.scenes import ResolvedLayer
from renderer.outputs.video.text import draw_text, fit_text, font_file, load_font, script_family
from renderer.template import locale as loc
from renderer.template.models import Animation

AssetOpener = Callable[[str], Path]
DrawFunction = Callable[[ResolvedLayer, AssetOpener], Image.Image]


def _box(layer: ResolvedLayer) -> tuple[int, int]:
    return layer.spec.box.w, layer.spec.box.h


def draw_text_layer(layer: ResolvedLayer, assets: AssetOpener) -> Image.Image:
    """Jinja text auto-fitted into the box (wrap, then shrink, never overflow)."""
    spec = layer.spec
    assert spec.type == "text"
    fitted = fit_text(
        layer.content["text"],
        _box(layer),
        family=spec.font,
        bold=spec.weight == "bold",
        max_size=spec.size,
        min_size=spec.min_size,
    )
    return draw_text(fitted, _box(layer), spec.colour, spec.align)


@lru_cache(maxsize=64)
def _open_image(path: Path, box: tuple[int, int], fit: str) -> Image.Image:
    try:
        with Image.open(path) as source:
            image = source.convert("RGBA")
    except IMAGE_ERRORS as exc:
        raise UnusableImage(path, exc) from None
    if fit == "cover":
        return ImageOps.fit(image, box, Image.Resampling.LANCZOS)
    contained = ImageOps.contain(image, box, Image.Resampling.LANCZOS)
    canvas = Image.new("RGBA", box, (0, 0, 0, 0))
    canvas.alpha_composite(contained, ((box[0] - contained.width) // 2, (box[1] - contained.height) // 2))
    return canvas


def draw_image_layer(layer: ResolvedLayer, assets: AssetOpener) -> Image.Image:
    """An image from the template's assets, fitted ('contain') or cropped ('cover') to the box."""
    assert layer.spec.type == "image"
    return _open_image(assets(layer.content["src"]), _box(layer), layer.spec.fit).copy()


def draw_shape_layer(layer: ResolvedLayer, assets: AssetOpener) -> Image.Image:
    """A filled rectangle with optional rounded corners."""
    spec = layer.spec
    assert spec.type == "shape"
    image = Image.new("RGBA", _box(layer), (0, 0, 0, 0))
    ImageDraw.Draw(image).rounded_rectangle(
        (0, 0, spec.box.w - 1, spec.box.h - 1), radius=spec.radius, fill=spec.colour
    )
    return image


def draw_chart_layer(layer: ResolvedLayer, assets: AssetOpener) -> Image.Image:
    """A bar or line chart from the same geometry the microsite's SVG chart uses."""
    spec = layer.spec
    assert spec.type == "chart"
    locale = layer.content["locale"]
    points = layer.content["points"]
    labels = [_label(label, locale) for label, _ in points]
    font_size = _chart_font_size(spec.box.h)
    geometry = chart_geometry(
        [value for _, value in points],
        labels,
        width=spec.box.w,
        height=spec.box.h,
        kind=spec.kind,
        rtl=loc.text_direction(locale) == "rtl",
        format_value=lambda v: loc.format_number(round(v), locale),
        axis_width=font_size * 3.2,
        label_height=font_size * 1.8,
    )
    return paint_chart(geometry, spec.colour)


def _chart_font_size(height: int) -> int:
    return max(12, height // 20)


def _label(value: str, locale: str) -> str:
    try:
        import datetime as dt

        return loc.month_name(dt.date.fromisoformat(value), locale, "abbreviated")
    except ValueError:
        return value


def paint_chart(geometry: ChartGeometry, colour: str) -> Image.Image:
    """Draw a chart geometry with Pillow: gridlines, bars or a line, axis and category labels."""
    g = geometry
    image = Image.new("RGBA", (g.width, g.height), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    sample = "".join(m.label for m in g.marks) or "0"
    font = load_font(font_file(script_family(sample, "Noto Sans"), False), _chart_font_size(g.height))
    faint = colour + "55" if len(colour) == 7 else colour
    axis_right = g.plot_left < 20
    for y, label in g.gridlines:
        draw.line((g.plot_left, y, g.plot_right, y), fill=faint, width=1)
        anchor = "lm" if axis_right else "rm"
        x = g.plot_right + 8 if axis_right else g.plot_left - 8
        draw.text((x, y), label, font=font, fill=colour, anchor=anchor)
    if g.kind == "line":
        draw.line([(m.cx, m.cy) for m in g.marks], fill=colour, width=4, joint="curve")
    for m in g.marks:
        if g.kind == "bar":
            fill = colour if m.highlight else faint
            draw.rounded_rectangle((m.x, m.y, m.x + m.w, g.plot_bottom), radius=4, fill=fill)
        else:
            draw.ellipse((m.cx - 5, m.cy - 5, m.cx + 5, m.cy + 5), fill=colour)
        draw.text((m.cx, g.plot_bottom + 6), m.label, font=font, fill=colour, anchor="ma")
    return image


LAYER_DRAWERS: dict[str, DrawFunction] = {
    "text": draw_text_layer,
    "image": draw_image_layer,
    "shape": draw_shape_layer,
    "chart": draw_chart_layer,
}


def draw_layer(layer: ResolvedLayer, assets: AssetOpener) -> Image.Image:
    """The layer's sprite, drawn by the function registered for its type."""
    try:
        drawer = LAYER_DRAWERS[layer.spec.type]
    except KeyError:
        raise RenderError(f"no drawer for layer type {layer.spec.type!r}") from None
    return drawer(layer, assets)


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
