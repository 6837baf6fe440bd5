"""Chart layout is pure geometry; the SVG drawing is accessible and escapes its text; the PNG
drawing puts the same marks where the geometry says."""

from __future__ import annotations

import io
from typing import Literal

import pytest
from PIL import Image

from renderer.outputs.charts import ChartStyle, chart_geometry, chart_png, chart_svg, nice_ceiling


@pytest.mark.parametrize(
    ("value", "top", "step"),
    [
        (0, 1, 0.25),
        (7, 7.5, 2.5),
        (412, 500, 100),
        (980, 1000, 250),
        (0.3, 0.3, 0.1),
        (600, 600, 200),
    ],
)
def test_nice_ceiling(value: float, top: float, step: float) -> None:
    assert nice_ceiling(value) == pytest.approx((top, step))


def test_bar_geometry_ltr_and_rtl() -> None:
    ltr = chart_geometry([100, 200, 400], ["a", "b", "c"], width=300, height=200)
    assert [m.label for m in sorted(ltr.marks, key=lambda m: m.x)] == ["a", "b", "c"]
    assert ltr.marks[2].h == pytest.approx(ltr.plot_bottom - ltr.plot_top)  # 400 is the axis top
    assert ltr.marks[1].h == pytest.approx(ltr.marks[2].h / 2)
    assert ltr.marks[2].highlight and not ltr.marks[0].highlight
    rtl = chart_geometry([100, 200, 400], ["a", "b", "c"], width=300, height=200, rtl=True)
    assert [m.label for m in sorted(rtl.marks, key=lambda m: m.x)] == ["c", "b", "a"]
    for mark in ltr.marks + rtl.marks:
        assert mark.x >= 0 and mark.x + mark.w <= 300 and mark.y >= ltr.plot_top - 1e-6


def test_svg_is_accessible_and_escaped() -> None:
    geometry = chart_geometry([1, 2], ["<b>", "x&y"], width=200, height=100)
    svg = str(chart_svg(geometry, title="Use <kWh>", description="d"))
    assert 'role="img"' in svg and '-title">Use &lt;kWh&gt;</title>' in svg
    assert "&lt;b&gt;" in svg and "x&amp;y" in svg and "<b>" not in svg
    assert svg.count("<rect") == 2
    assert (
        "<text"
        not in str(chart_svg(geometry, title="t", description="d", labels=False))
        .split("</line>")[-1]
        .split("<rect")[-1]
    )


def test_mismatched_lengths() -> None:
    with pytest.raises(ValueError, match="same length"):
        chart_geometry([1], ["a", "b"], width=10, height=10)


@pytest.mark.parametrize(
    ("value", "top", "step"), [(0, 3, 1), (1, 3, 1), (4, 4, 1), (7, 8, 2), (11, 15, 5), (99, 100, 25)]
)
def test_nice_ceiling_in_whole_steps(value: float, top: float, step: float) -> None:
    assert nice_ceiling(value, integer=True) == (top, step)


def test_value_labels_sit_above_the_bars() -> None:
    geometry = chart_geometry([2, 4], ["a", "b"], width=200, height=160, headroom=26, integer=True)
    assert geometry.plot_top == 26 and [value for _, value in geometry.gridlines] == ["0", "1", "2", "3", "4"]
    svg = chart_svg(geometry, title="t", description="d", value_labels=True)
    tall = geometry.marks[1]
    assert f'<text x="{round(tall.cx)}" y="{round(tall.cy) - 6}" text-anchor="middle"' in svg
    assert f'y="{round(tall.cy) - 6}"' not in chart_svg(geometry, title="t", description="d")


@pytest.mark.parametrize("kind", ["bar", "line"])
def test_png_draws_the_geometry_at_scale(kind: Literal["bar", "line"]) -> None:
    geometry = chart_geometry([1, 3, 0], ["a", "b", "c"], width=200, height=120, kind=kind)
    with Image.open(io.BytesIO(chart_png(geometry, scale=3))) as image:
        assert (image.format, image.size) == ("PNG", (600, 360))
        rgb = image.convert("RGB")
    style, tall, zero = ChartStyle(), geometry.marks[1], geometry.marks[2]
    below = 6 if kind == "bar" else 2  # inside the bar, or inside the line's point (radius 4)
    colour = style.highlight if kind == "line" else style.bar
    expected = tuple(int(colour[i : i + 2], 16) for i in (1, 3, 5))
    assert rgb.getpixel((round(3 * tall.cx), round(3 * (tall.cy + below)))) == expected
    assert rgb.getpixel((round(3 * zero.cx), round(3 * (geometry.plot_top + 4)))) == (255, 255, 255)
