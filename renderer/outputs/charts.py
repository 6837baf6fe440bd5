"""Server-side charts shared by microsites, PDFs and (later) video frames.

`chart_geometry` is pure layout: values in, rectangles / points / gridlines out, in pixels.
`chart_svg` draws a geometry as accessible inline SVG; the video renderer draws the same
geometry with Pillow, so every output shows the same chart. `chart_png` draws it with Pillow as
a PNG file that looks like the SVG (white background, the same colours and labels), for reports.
"""

from __future__ import annotations

import datetime as dt
import html
import io
import math
import zlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal

from jinja2 import pass_context
from jinja2.runtime import Context
from markupsafe import Markup
from PIL import Image, ImageDraw

from renderer.outputs.video.text import font_file, load_font, script_family
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
    top_value: float = 1.0  # the value at plot_top (the axis maximum)

    def value_y(self, value: float) -> float:
        """The pixel y of `value` on this chart's value axis (0 at plot_bottom)."""
        return self.plot_bottom - value * (self.plot_bottom - self.plot_top) / self.top_value


def nice_ceiling(
    value: float, min_ticks: int = 3, max_ticks: int = 5, *, integer: bool = False
) -> tuple[float, float]:
    """The smallest round axis maximum >= value and its step (1, 2, 2.5 or 5 x 10^k).

    The axis gets between `min_ticks` and `max_ticks` intervals; ties go to fewer intervals.
    `integer` keeps to whole steps (for counts), the axis reaching at least `min_ticks`.
    """
    if integer:
        value = max(value, float(min_ticks))
    if value <= 0:
        return 1.0, 0.25
    magnitude = 10 ** math.floor(math.log10(value / max_ticks))
    best: tuple[float, int, float] | None = None
    for scale in (0.1, 1, 10):
        for mantissa in (1, 2, 2.5, 5):
            step = mantissa * magnitude * scale
            if integer and (step < 1 or step != int(step)):
                continue
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
    axis_width: float = 44.0,
    label_height: float = 28.0,
    headroom: float = 12.0,
    integer: bool = False,
    axis_max: float = 0.0,
) -> ChartGeometry:
    """Lay out a bar or line chart; right-to-left charts run their time axis from the right.

    `axis_width` and `label_height` reserve room for the value axis and the category labels
    (sized for 11 px SVG text by default; the video passes room for its larger type);
    `headroom` is the room above the plot (value labels over the bars need ~22 px);
    `integer` gives the value axis whole steps only (counts); the value axis reaches at least
    `axis_max` (room for what is drawn over the marks, e.g. confidence intervals).
    """
    if len(values) != len(labels):
        raise ValueError("values and labels must have the same length")
    top, bottom, axis_w = headroom, height - label_height, axis_width
    left, right = (12.0, width - axis_w) if rtl else (axis_w, width - 12.0)
    top_value, step = nice_ceiling(max(max(values, default=0.0), axis_max), integer=integer)
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
        y = bottom - h
        marks.append(Mark(cx - bar_w / 2, y, bar_w, h, cx, y, label, format_value(value), highlight))
    ticks = round(top_value / step)
    gridlines = tuple((bottom - k * step * scale, format_value(k * step)) for k in range(ticks + 1))
    return ChartGeometry(kind, width, height, top, bottom, left, right, tuple(marks), gridlines, top_value)


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
    value_labels: bool = False,
) -> Markup:
    """Accessible inline SVG (role=img, <title>, <desc>) of a chart geometry; all text escaped.

    `labels=False` leaves out the category labels, for renderers (WeasyPrint) whose SVG text
    cannot shape right-to-left scripts; the page then prints them in HTML beneath the chart.
    `value_labels=True` prints each mark's value above it (lay out with room: `headroom`).
    """
    g = geometry
    anchor = "start" if g.plot_left < 20 else "end"
    axis_x = round(g.plot_right + 6 if anchor == "start" else g.plot_left - 6)
    left, right = round(g.plot_left), round(g.plot_right)
    ident = f"chart-{zlib.crc32((title + description).encode()):08x}"  # stable, unique per chart
    parts = [
        _SVG_OPEN.format(w=g.width, h=g.height, id=ident),
        f'<title id="{ident}-title">{_text(title)}</title>',
        f'<desc id="{ident}-desc">{_text(description)}</desc>',
    ]
    for y, label in g.gridlines:
        y = round(y)
        parts.append(_GRIDLINE.format(x1=left, x2=right, y=y, colour=style.grid))
        parts.append(_TEXT.format(x=axis_x, y=y + 4, anchor=anchor, colour=style.text, text=_text(label)))
    if g.kind == "line":
        points = " ".join(f"{round(m.cx)},{round(m.cy)}" for m in g.marks)
        parts.append(_POLYLINE.format(points=points, colour=style.bar))
    label_y = round(g.plot_bottom + 18)
    for m in g.marks:
        label = _text(m.label)
        tip = f"{label}: {_text(m.value_label)}"
        if g.kind == "bar":
            fill = style.highlight if m.highlight else style.bar
            bar = _BAR.format(x=round(m.x), y=round(m.y), w=round(m.w), h=round(m.h), fill=fill, tip=tip)
            parts.append(bar)
        else:
            parts.append(_POINT.format(cx=round(m.cx), cy=round(m.cy), fill=style.highlight, tip=tip))
        texts = ((labels, label_y, label), (value_labels, round(m.cy) - 6, _text(m.value_label)))
        for y, text in ((y, text) for shown, y, text in texts if shown):
            parts.append(_TEXT.format(x=round(m.cx), y=y, anchor="middle", colour=style.text, text=text))
    parts.append("</svg>")
    return Markup("".join(parts))


def _text(value: str) -> str:
    return html.escape(value, quote=False)


def chart_png(
    geometry: ChartGeometry, *, style: ChartStyle = ChartStyle(), scale: int = 2, value_labels: bool = False
) -> bytes:
    """PNG bytes of a chart geometry drawn with Pillow, `scale` times its pixel size, on white:
    what `chart_svg` draws (gridlines and axis values, bars or a line and points, category
    labels, the values above the marks with `value_labels`), in the same colours, in Noto Sans."""
    g, k = geometry, scale
    image = Image.new("RGB", (g.width * k, g.height * k), "#ffffff")
    draw = ImageDraw.Draw(image)
    sample = "".join(m.label for m in g.marks) or "0"
    font = load_font(font_file(script_family(sample, "Noto Sans"), False), 11 * k)
    axis_right = g.plot_left < 20
    for y, label in g.gridlines:
        draw.line((g.plot_left * k, y * k, g.plot_right * k, y * k), fill=style.grid, width=k)
        x = (g.plot_right + 6 if axis_right else g.plot_left - 6) * k
        draw.text((x, (y + 4) * k), label, font=font, fill=style.text, anchor="ls" if axis_right else "rs")
    if g.kind == "line" and len(g.marks) > 1:
        draw.line([(m.cx * k, m.cy * k) for m in g.marks], fill=style.bar, width=3 * k, joint="curve")
    for m in g.marks:
        if g.kind == "bar" and m.h >= 1:
            box = (m.x * k, m.y * k, (m.x + m.w) * k, g.plot_bottom * k)
            draw.rounded_rectangle(box, radius=3 * k, fill=style.highlight if m.highlight else style.bar)
        elif g.kind == "line":
            draw.ellipse(
                ((m.cx - 4) * k, (m.cy - 4) * k, (m.cx + 4) * k, (m.cy + 4) * k), fill=style.highlight
            )
        draw.text((m.cx * k, (g.plot_bottom + 18) * k), m.label, font=font, fill=style.text, anchor="ms")
        if value_labels:
            draw.text((m.cx * k, (m.cy - 6) * k), m.value_label, font=font, fill=style.text, anchor="ms")
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


# SVG element templates on whole pixels: formatting ints is several times cheaper than floats,
# and a chart this size gains nothing from sub-pixel positions.
_SVG_OPEN = (
    '<svg xmlns="http://www.w3.org/2000/svg" class="chart" direction="ltr" viewBox="0 0 {w} {h}" '
    'width="{w}" height="{h}" role="img" aria-labelledby="{id}-title {id}-desc">'
)
_GRIDLINE = '<line x1="{x1}" x2="{x2}" y1="{y}" y2="{y}" stroke="{colour}"/>'
_TEXT = '<text x="{x}" y="{y}" text-anchor="{anchor}" font-size="11" fill="{colour}">{text}</text>'
_POLYLINE = '<polyline points="{points}" fill="none" stroke="{colour}" stroke-width="3"/>'
_BAR = '<rect x="{x}" y="{y}" width="{w}" height="{h}" rx="3" fill="{fill}"><title>{tip}</title></rect>'
_POINT = '<circle cx="{cx}" cy="{cy}" r="4" fill="{fill}"><title>{tip}</title></circle>'


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
    _, step = nice_ceiling(max(values, default=0.0))
    digits = 0 if step >= 1 else 1 if step >= 0.1 else 2  # enough to tell the ticks apart
    geometry = chart_geometry(
        values,
        names,
        width=width,
        height=height,
        kind=kind,
        rtl=loc.text_direction(locale) == "rtl",
        format_value=lambda v: loc.format_number(round(v, digits), locale, digits),
    )
    description = "; ".join(f"{m.label}: {m.value_label}{suffix}" for m in geometry.marks)
    return chart_svg(geometry, title=title, description=description, labels=labels)
