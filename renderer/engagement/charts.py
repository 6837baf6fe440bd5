"""The report's charts, laid out and drawn by the project's chart module (`renderer.outputs.charts`):
a funnel (recipients delivered -> viewed -> played -> completed -> clicked a CTA -> submitted a
form) and the drop-off per scene (the share of players still watching at each scene's start, in
template order), each written as SVG and as PNG.
"""

from __future__ import annotations

from pathlib import Path

from renderer.engagement.metrics import EngagementMetrics, EngagementReport
from renderer.outputs.charts import ChartGeometry, chart_geometry, chart_png, chart_svg

FUNNEL_LABELS = ("delivered", "viewed", "played", "completed", "CTA clicked", "form submitted")
_HEIGHT = 300
_HEADROOM = 26.0  # room for the value labels above the tallest bar


def funnel_geometry(metrics: EngagementMetrics) -> ChartGeometry:
    """The funnel's bars: recipients at each step (an unknown delivered count draws as 0)."""
    f = metrics.funnel
    values = [f.delivered or 0, f.viewed, f.played, f.completed, f.cta_clicked, f.form_submitted]
    return chart_geometry(
        [float(v) for v in values], list(FUNNEL_LABELS), width=640, height=_HEIGHT,
        highlight_last=False, headroom=_HEADROOM, integer=True, format_value=lambda v: f"{v:g}",
    )  # fmt: skip


def drop_off_geometry(metrics: EngagementMetrics) -> ChartGeometry:
    """One bar per scene in template order: the percentage of players still watching at its start."""
    values = [100 * (scene.still_watching.value or 0.0) for scene in metrics.drop_off]
    labels = [scene.scene for scene in metrics.drop_off]
    return chart_geometry(
        values, labels, width=max(480, 56 + 84 * len(labels)), height=_HEIGHT,
        highlight_last=False, headroom=_HEADROOM, integer=True, format_value=lambda v: f"{v:.0f}%",
    )  # fmt: skip


def _describe(geometry: ChartGeometry) -> str:
    return "; ".join(f"{m.label}: {m.value_label}" for m in geometry.marks) or "no data"


def write_charts(report: EngagementReport, folder: Path) -> list[Path]:
    """Write ``funnel.svg``, ``funnel.png``, ``drop-off.svg`` and ``drop-off.png`` of the report's
    overall metrics into `folder` (created if missing); the paths written, in that order."""
    folder.mkdir(parents=True, exist_ok=True)
    name = f"{report.template}/{report.campaign}"
    charts = (
        ("funnel", funnel_geometry(report.overall), f"Engagement funnel of {name} (recipients)"),
        ("drop-off", drop_off_geometry(report.overall), f"Players still watching at each scene of {name}"),
    )
    written = []
    for stem, geometry, title in charts:
        svg = chart_svg(geometry, title=title, description=_describe(geometry), value_labels=True)
        written.append(folder / f"{stem}.svg")
        written[-1].write_text(str(svg), encoding="utf-8")
        written.append(folder / f"{stem}.png")
        written[-1].write_bytes(chart_png(geometry, value_labels=True))
    return written
