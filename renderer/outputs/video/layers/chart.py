"""The ``chart`` layer: a bar or line chart of a list field, from the same geometry as the
microsite's SVG chart (`renderer.outputs.charts`), painted with Pillow.

Its ``grow`` enter animation raises the marks (bars, or the line and its points) from the
baseline to their values; gridlines, axis values and month labels are there from the start.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Hashable
from dataclasses import replace
from typing import Any, ClassVar, Literal

from PIL import Image, ImageDraw
from pydantic import Field

from renderer.errors import RenderError
from renderer.outputs.charts import ChartGeometry, chart_geometry
from renderer.outputs.video.layers.base import (
    AssetOpener,
    JinjaRole,
    LayerBase,
    LayerContext,
    LayerKind,
    ResolvedLayer,
)
from renderer.outputs.video.text import font_file, load_font, script_family
from renderer.template import locale as loc
from renderer.template.models import HEX_COLOUR


class ChartLayer(LayerBase):
    """A bar or line chart of a list field, drawn by the shared chart module."""

    type: Literal["chart"]
    kind: Literal["bar", "line"] = "bar"
    data: str
    label: str
    value: str
    colour: str = Field(default="#ffffff", pattern=HEX_COLOUR)


def _chart_font_size(height: int) -> int:
    return max(12, height // 20)


def _label(value: str, locale: str) -> str:
    try:
        return loc.month_name(dt.date.fromisoformat(value), locale, "abbreviated")
    except ValueError:
        return value


def paint_chart(geometry: ChartGeometry, colour: str, *, hairlines: bool = True) -> Image.Image:
    """Draw a chart geometry with Pillow: gridlines, bars or a line, axis and category labels;
    a bar under a pixel high is a hairline on the baseline, or left out without `hairlines`."""
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
            if hairlines or m.h >= 1:
                fill = colour if m.highlight else faint
                draw.rounded_rectangle((m.x, m.y, m.x + m.w, g.plot_bottom), radius=4, fill=fill)
        else:
            draw.ellipse((m.cx - 5, m.cy - 5, m.cx + 5, m.cy + 5), fill=colour)
        draw.text((m.cx, g.plot_bottom + 6), m.label, font=font, fill=colour, anchor="ma")
    return image


def grown(geometry: ChartGeometry, fraction: float) -> ChartGeometry:
    """The geometry with every mark at `fraction` (0..1) of its height above the baseline."""
    bottom = geometry.plot_bottom
    marks = tuple(
        replace(m, y=bottom - m.h * fraction, h=m.h * fraction, cy=bottom - (bottom - m.cy) * fraction)
        for m in geometry.marks
    )
    return replace(geometry, marks=marks)


class ChartKind(LayerKind):
    """A chart of the list field `data` names: one mark per row, `label` and `value` per row."""

    type = "chart"
    model = ChartLayer
    jinja_fields: ClassVar[dict[str, JinjaRole]] = {"data": "field"}
    content_animations = frozenset({"grow"})

    def content(self, layer: Any, ctx: LayerContext) -> dict[str, Any]:
        """The (label, value) points of the recipient's rows, and the locale to label them in."""
        rows = ctx.context.get(ctx.read("data").strip())
        if not isinstance(rows, list):
            raise RenderError(f"{ctx.where}: chart data is not a list field")
        try:
            points = [(row[layer.label], float(row[layer.value])) for row in rows]
        except (KeyError, TypeError, ValueError):
            raise RenderError(f"{ctx.where}: chart rows lack {layer.label!r}/{layer.value!r}") from None
        return {"points": [(str(label), value) for label, value in points], "locale": ctx.locale}

    def shown_at(self, layer: ResolvedLayer, progress: float) -> Hashable | None:
        """The marks' height as a fraction in steps of one pixel of the box; None at full height."""
        steps = layer.spec.box.h
        fraction = round(progress * steps) / steps
        return None if fraction >= 1 else fraction

    def draw_at(self, layer: ResolvedLayer, assets: AssetOpener, shown: Hashable) -> Image.Image:
        """The chart with its marks at the fraction `shown` of their height."""
        assert isinstance(shown, float)
        spec = layer.spec
        assert isinstance(spec, ChartLayer)
        return paint_chart(grown(self._geometry(layer), shown), spec.colour, hairlines=False)

    def draw(self, layer: ResolvedLayer, assets: AssetOpener) -> Image.Image:
        """The chart, with numbers and month names in the recipient's locale and direction."""
        spec = layer.spec
        assert isinstance(spec, ChartLayer)
        return paint_chart(self._geometry(layer), spec.colour)

    def _geometry(self, layer: ResolvedLayer) -> ChartGeometry:
        spec = layer.spec
        assert isinstance(spec, ChartLayer)
        locale = layer.content["locale"]
        points = layer.content["points"]
        font_size = _chart_font_size(spec.box.h)
        return chart_geometry(
            [value for _, value in points],
            [_label(label, locale) for label, _ in points],
            width=spec.box.w,
            height=spec.box.h,
            kind=spec.kind,
            rtl=loc.text_direction(locale) == "rtl",
            format_value=lambda v: loc.format_number(round(v), locale),
            axis_width=font_size * 3.2,
            label_height=font_size * 1.8,
        )
