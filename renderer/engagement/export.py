"""An `EngagementReport` as rows: one per metric, (metric, variant, target, numerator,
denominator, value), for CSV files and the CLI's table.

The variant column is ``(all)`` for every event, ``(none)`` for events outside any experiment,
else the variant's name; target is the scene, call to action, form, chapter or funnel step, or
empty. A count has its number as numerator and value and no denominator; a ratio whose
denominator is zero has an empty value. Text cells a spreadsheet would run as a formula get a
leading apostrophe (`renderer.data.sources.neutralise`): targets can come from events.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

from renderer.data.sources import neutralise
from renderer.engagement.metrics import EngagementMetrics, EngagementReport, Ratio

CSV_HEADER = ("metric", "variant", "target", "numerator", "denominator", "value")
MetricRow = tuple[str, str, str, int | None, int | None, int | float | None]
FUNNEL_STEPS = ("delivered", "viewed", "played", "completed", "cta_clicked", "form_submitted")


def variant_label(variant: str | None, overall: bool = False) -> str:
    """How the variant column names a group: ``(all)``, ``(none)`` or the variant's name."""
    return "(all)" if overall else "(none)" if variant is None else variant


def _rate(metric: str, variant: str, target: str, rate: Ratio) -> MetricRow:
    return (metric, variant, target, rate.numerator, rate.denominator, rate.value)


def _count(metric: str, variant: str, target: str, count: int | None) -> MetricRow:
    return (metric, variant, target, count, None, count)


def _head_rows(m: EngagementMetrics, v: str) -> Iterator[MetricRow]:
    yield _count("pages_delivered", v, "", m.delivered)
    yield _count("page_views", v, "", m.page_views)
    for name in ("page_view_rate", "video_play_rate", "average_percentage_viewed", "completion_rate"):
        yield _rate(name, v, "", getattr(m, name))
    for scene in m.drop_off:
        yield _rate("drop_off_stopped_in", v, scene.scene, scene.stopped_in)
        yield _rate("drop_off_still_watching", v, scene.scene, scene.still_watching)
    yield _count("drop_off_unplaced", v, "", m.players_unplaced)


def _target_rows(m: EngagementMetrics, v: str) -> Iterator[MetricRow]:
    yield _count("chapter_jumps", v, "", m.chapter_jumps.jumps)
    yield _count("chapter_jump_recipients", v, "", m.chapter_jumps.recipients)
    for chapter in m.chapter_jumps.chapters:
        yield _count("chapter_jumps", v, chapter.chapter, chapter.jumps)
        yield _count("chapter_jump_recipients", v, chapter.chapter, chapter.recipients)
    for cta in m.ctas:
        yield _rate("cta_view_rate", v, cta.cta, cta.view_rate)
        yield _rate("cta_click_rate", v, cta.cta, cta.click_rate)
        yield _count("cta_clicks_not_shown", v, cta.cta, cta.clicks_not_shown)
    for form in m.forms:
        yield _rate("form_submit_rate", v, form.form, form.submit_rate)
        yield _rate("form_recipient_submit_rate", v, form.form, form.recipient_submit_rate)
        yield _count("form_submits_without_view", v, form.form, form.submits_without_view)
    yield _rate("chat_open_rate", v, "", m.chat_open_rate)
    yield _rate("pdf_download_rate", v, "", m.pdf_download_rate)
    for step in FUNNEL_STEPS:
        yield _count("funnel", v, step, getattr(m.funnel, step))


def metric_rows(report: EngagementReport) -> Iterator[MetricRow]:
    """Every metric of the report, overall first, then each variant in the report's order."""
    groups = [(report.overall, variant_label(None, overall=True))]
    groups += [(metrics, variant_label(metrics.variant)) for metrics in report.variants]
    for metrics, label in groups:
        yield from _head_rows(metrics, label)
        yield from _target_rows(metrics, label)


def report_csv(report: EngagementReport) -> str:
    """The report as CSV text with a header row; empty cells for null values, text cells
    neutralised against spreadsheet formulas."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_HEADER)
    for row in metric_rows(report):
        writer.writerow(
            ["" if cell is None else neutralise(cell) if isinstance(cell, str) else cell for cell in row]
        )
    return buffer.getvalue()
