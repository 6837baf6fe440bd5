"""Chart layout is pure geometry; the SVG drawing is accessible and escapes its text."""

from __future__ import annotations

import pytest

from renderer.outputs.charts import chart_geometry, chart_svg, nice_ceiling


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
