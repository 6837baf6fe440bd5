"""Server-side charts shared by microsites, PDFs and (later) video frames.

`chart_geometry` is pure layout: values in, rectangles / points / gridlines out, in pixels.
`chart_svg` draws a geometry as accessible inline SVG; the video renderer draws the same
geometry with Pillow, so every output shows the same chart.
"""

from __future__ import annotations

import datetime as dt
import math
import zlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal

from jinja2 import pass_context
from jinja2.runtime import Context
from markupsafe import Markup, escape

from renderer.template import locale as loc

ChartKind = Literal["bar", "line"]


@dataclass(frozen=True)
class Mark:
    """One data point: its bar rectangle (x, y, w, h), its line point (cx, cy) and its labels."""

    x: float
    y: float
    w: float
    h: float
    cx: float
    cy: float
    label: str
    value_label: str
    highlight: bool


@dataclass(frozen=True)
class ChartGeometry:
    """A laid-out chart in pixel coordinates (origin top-left)."""

    kind: ChartKind
    width: int
    height: int
    plot_top: float
    plot_bottom: float
    plot_left: float
    plot_right: float
    marks: tuple[Mark, ...]
    gridlines: tuple[tuple[float, str], ...]


def nice_ceiling(value: float, min_ticks: int = 3, max_ticks: int = 5) -> tuple[float, float]:
    """The smallest round axis maximum >= value and its step (1, 2, 2.5 or 5 x 10^k).

    The axis gets between `min_ticks` and `max_ticks` intervals; ties go to fewer intervals.
    """
    if value <= 0:
        return 1.0, 0.25
    magnitude = 10 ** math.floor(math.log10(value / max_ticks))
    best: tuple[float, int, float] | None = None
    for scale in (0.1, 1, 10):
        for mantissa in (1, 2, 2.5, 5):
            step = mantissa * magnitude * scale
            ticks = math.ceil(value / step - 1e-9)
            if min_ticks <= ticks <= max_ticks and (best is None or (step * ticks, ticks) < best[:2]):
                best = (step * ticks, ticks, step)
    assert best is not None
    return best[0], best[2]


def chart_geometry(
    values: Sequence[float],
    labels: Sequence[str],
    *,
    width: int,
    height: int,
    kind: ChartKind = "bar",
    format_value: Callable[[float], str] = lambda v: f"{v:g}",
    rtl: bool = False,
    highlight_last: bool = True,
) -> ChartGeometry:
    """Lay out a bar or line chart; right-to-left charts run their time axis from the right."""
    if len(values) != len(labels):
        raise ValueError("values and labels must have the same length")
    top, bottom, axis_w = 12.0, height - 28.0, 44.0
    left, right = (12.0, width - axis_w) if rtl else (axis_w, width - 12.0)
    top_value, step = nice_ceiling(max(values, default=0.0))
    scale = (bottom - top) / top_value
    count = max(len(values), 1)
    slot = (right - left) / count
    bar_w = slot * 0.62
    marks = []
    for i, (value, label) in enumerate(zip(values, labels, strict=True)):
        position = count - 1 - i if rtl else i
        cx = left + slot * position + slot / 2
        h = max(value, 0.0) * scale
        highlight = highlight_last and i == len(values) - 1
        marks.append(
            Mark(
                cx - bar_w / 2,
                bottom - h,
                bar_w,
                h,
                cx,
                bottom - h,
                label,
                format_value(value),
                highlight,
            )
        )
    ticks = round(top_value / step)
    gridlines = tuple((bottom - k * step * scale, format_value(k * step)) for k in range(ticks + 1))
    return ChartGeometry(kind, width, height, top, bottom, left, right, tuple(marks), gridlines)


@dataclass(frozen=True)
class ChartStyle:
    """Colours of a drawn chart (hex strings)."""

    bar: str = "#1f5fbf"
    highlight: str = "#0b3d91"
    grid: str = "#c9d1dc"
    text: str = "#2b3440"


def chart_svg(
    geometry: ChartGeometry,
    *,
    title: str,
    description: str,
    style: ChartStyle = ChartStyle(),
    labels: bool = True,
) -> Markup:
    """Accessible inline SVG (role=img, <title>, <desc>) of a chart geometry; all text escaped.

    `labels=False` leaves out the category labels, for renderers (WeasyPrint) whose SVG text
    cannot shape right-to-left scripts; the page then prints them in HTML beneath the chart.
    """
    g = geometry
    anchor_axis = "start" if g.plot_left < 20 else "end"
    axis_x = g.plot_right + 6 if anchor_axis == "start" else g.plot_left - 6
    text_style = {"font-size": 11, "fill": style.text}
    ident = f"chart-{zlib.crc32((title + description).encode()):08x}"  # stable, unique per chart
    parts = [
        _open_tag(
            "svg",
            xmlns="http://www.w3.org/2000/svg",
            class_="chart",
            direction="ltr",
            viewBox=f"0 0 {g.width} {g.height}",
            width=g.width,
            height=g.height,
            role="img",
            aria_labelledby=f"{ident}-title {ident}-desc",
        ),
        f'<title id="{ident}-title">{escape(title)}</title>',
        f'<desc id="{ident}-desc">{escape(description)}</desc>',
    ]
    for y, label in g.gridlines:
        parts.append(_element("line", x1=g.plot_left, x2=g.plot_right, y1=y, y2=y, stroke=style.grid))
        parts.append(_element("text", label, x=axis_x, y=y + 4, text_anchor=anchor_axis, **text_style))
    if g.kind == "line":
        points = " ".join(f"{m.cx:.1f},{m.cy:.1f}" for m in g.marks)
        parts.append(_element("polyline", points=points, fill="none", stroke=style.bar, stroke_width=3))
    for m in g.marks:
        tip = f"<title>{escape(m.label)}: {escape(m.value_label)}</title>"
        fill = style.highlight if m.highlight or g.kind == "line" else style.bar
        if g.kind == "bar":
            shape = _open_tag("rect", x=m.x, y=m.y, width=m.w, height=m.h, rx=3, fill=fill)
            parts.append(f"{shape}{tip}</rect>")
        else:
            parts.append(f"{_open_tag('circle', cx=m.cx, cy=m.cy, r=4, fill=fill)}{tip}</circle>")
        if labels:
            label_y = g.plot_bottom + 18
            parts.append(_element("text", m.label, x=m.cx, y=label_y, text_anchor="middle", **text_style))
    parts.append("</svg>")
    return Markup("".join(parts))


def _attrs(attributes: dict[str, object]) -> str:
    rendered = []
    for name, value in attributes.items():
        text = f"{value:.1f}" if isinstance(value, float) else str(value)
        rendered.append(f'{name.rstrip("_").replace("_", "-")}="{escape(text)}"')
    return " ".join(rendered)


def _open_tag(tag: str, **attributes: object) -> str:
    return f"<{tag} {_attrs(attributes)}>"


def _element(tag: str, text: str | None = None, **attributes: object) -> str:
    if text is None:
        return f"<{tag} {_attrs(attributes)}/>"
    return f"<{tag} {_attrs(attributes)}>{escape(text)}</{tag}>"


def _label_text(value: Any, locale: str) -> str:
    if isinstance(value, dt.date):
        return loc.month_name(value, locale, "abbreviated")
    if isinstance(value, int | float | Decimal):
        return loc.format_number(value, locale)
    return str(value)


@pass_context
def chart_for_template(
    ctx: Context,
    rows: Iterable[Mapping[str, Any]],
    label: str,
    value: str,
    *,
    title: str,
    kind: ChartKind = "bar",
    width: int = 560,
    height: int = 220,
    unit: str = "",
    labels: bool = True,
) -> Markup:
    """Jinja global ``chart(rows, 'month', 'kwh', title=...)``: an SVG chart in the page's locale."""
    locale = ctx["locale"]
    rows = list(rows)
    values = [float(row[value]) for row in rows]
    names = [_label_text(row[label], locale) for row in rows]
    suffix = f" {unit}" if unit else ""
    geometry = chart_geometry(
        values,
        names,
        width=width,
        height=height,
        kind=kind,
        rtl=loc.text_direction(locale) == "rtl",
        format_value=lambda v: loc.format_number(round(v), locale),
    )
    description = "; ".join(f"{m.label}: {m.value_label}{suffix}" for m in geometry.marks)
    return chart_svg(geometry, title=title, description=description, labels=labels)
