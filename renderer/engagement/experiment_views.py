"""Two views of an `ExperimentReport`: flat rows (CSV, JSON Lines, any table) and Rich tables (the
CLI). The HTML page is `renderer.engagement.experiment_page`; both share the formatting here.

`experiment_rows` gives one row per experiment, arm and metric, in report order: the arm's counts
and rate, and the comparison that belongs to the arm: a variant's against the default (with the
Holm-adjusted p-values and the minimum detectable effect), the holdout's the experiment's lift
over it, the control arm's the lift of everyone else over the control group; the default's none.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from rich.console import Group
from rich.table import Table
from rich.text import Text

from renderer.engagement.experiment_stats import Interval, RateComparison
from renderer.engagement.experiments import (
    ArmResult,
    ExperimentReport,
    ExperimentResult,
    GroupLift,
    VariantComparison,
)

METRIC_LABELS = {
    "page_views": "Page views",
    "video_plays": "Video plays",
    "video_completions": "Video completions",
    "cta_clicks": "CTA clicks",
    "form_submits": "Form submits",
}
ROW_FIELDS = (
    "experiment", "arm", "role", "recipients", "rendered", "render_seconds", "metric", "count",
    "rate", "rate_low", "rate_high", "comparison", "absolute_lift", "absolute_low", "absolute_high",
    "relative_lift", "relative_low", "relative_high", "z", "p_value", "p_value_holm",
    "sequential_p_value", "sequential_p_value_holm", "mde", "significant",
)  # fmt: skip


def percent(value: float | None, digits: int = 1, *, signed: bool = False) -> str:
    """0.1234 -> ``12.3%`` (``+12.3%`` when signed); None -> an en dash."""
    if value is None:
        return "–"
    return f"{100 * value:{'+' if signed else ''}.{digits}f}%"


def points(value: float | None) -> str:
    """An absolute difference of rates in percentage points: 0.012 -> ``+1.2 pp``; None -> en dash."""
    return "–" if value is None else f"{100 * value:+.1f} pp"


def interval_text(interval: Interval | None, *, signed: bool = False, points: bool = False) -> str:
    """``12.3% [10.1, 14.6]`` (bounds in the estimate's unit); an absolute lift in percentage
    points with `points` (``+1.2 pp [-0.3, +2.8]``); None -> an en dash."""
    if interval is None:
        return "–"
    sign = "+" if signed else ""
    unit = " pp" if points else "%"
    low, high = (f"{100 * v:{sign}.1f}" for v in (interval.low, interval.high))
    return f"{100 * interval.estimate:{sign}.1f}{unit} [{low}, {high}]"


def p_text(value: float | None) -> str:
    """A p-value for reading: ``<0.001``, ``0.042``, ``0.31``; None -> an en dash."""
    if value is None:
        return "–"
    return "<0.001" if value < 0.001 else f"{value:.3f}" if value < 0.1 else f"{value:.2f}"


def p_phrase(value: float | None) -> str:
    """``p < 0.001`` or ``p = 0.042``; ``p = –`` when undefined."""
    return "p < 0.001" if value is not None and value < 0.001 else f"p = {p_text(value)}"


def _bounds(interval: Interval | None) -> tuple[float | None, float | None, float | None]:
    return (interval.estimate, interval.low, interval.high) if interval else (None, None, None)


def _comparison_fields(label: str, c: RateComparison | None) -> dict[str, Any]:
    absolute = _bounds(c.absolute_lift if c else None)
    relative = _bounds(c.relative_lift if c else None)
    v = c if isinstance(c, VariantComparison) else None
    return {
        "comparison": label if c is not None else None,
        **dict(zip(("absolute_lift", "absolute_low", "absolute_high"), absolute, strict=True)),
        **dict(zip(("relative_lift", "relative_low", "relative_high"), relative, strict=True)),
        "z": c.z if c else None,
        "p_value": c.p_value if c else None,
        "p_value_holm": v.p_value_holm if v else None,
        "sequential_p_value": c.sequential_p_value if c else None,
        "sequential_p_value_holm": v.sequential_p_value_holm if v else None,
        "mde": c.mde if c else None,
        "significant": v.significant if v else None,
    }


def arm_comparisons(
    result: ExperimentResult, arm: ArmResult, control_lift: tuple[GroupLift, ...]
) -> tuple[str, dict[str, RateComparison]]:
    """The comparison that belongs to `arm` (see the module docstring), per metric, and its label."""
    if arm.role == "variant":
        found = {c.metric: c for c in result.comparisons if c.variant == arm.arm}
        return f"{arm.arm} vs {result.default}", dict(found)
    if arm.role == "holdout":
        return "variants vs holdout", {lift.metric: lift for lift in result.holdout_lift}
    if arm.role == "control":
        return "others vs control", {lift.metric: lift for lift in control_lift}
    return "", {}


def experiment_rows(report: ExperimentReport) -> Iterator[dict[str, Any]]:
    """One flat row per experiment, arm and metric (keys: `ROW_FIELDS`, in that order); rates,
    lifts and p-values as plain floats (None where undefined), lifts in fractions (0.012 = 1.2 pp)."""
    for result in report.experiments:
        for arm in result.arms:
            label, comparisons = arm_comparisons(result, arm, report.control_lift)
            for rate in arm.metrics:
                row: dict[str, Any] = {
                    "experiment": result.experiment,
                    "arm": arm.arm,
                    "role": arm.role,
                    "recipients": arm.recipients,
                    "rendered": arm.rendered,
                    "render_seconds": arm.render_seconds,
                    "metric": rate.metric,
                    "count": rate.count,
                }
                row |= dict(zip(("rate", "rate_low", "rate_high"), _bounds(rate.rate), strict=True))
                row |= _comparison_fields(label, comparisons.get(rate.metric))
                yield {name: row[name] for name in ROW_FIELDS}


def srm_text(result: ExperimentResult) -> Text:
    """The sample-ratio line of one experiment: red and bold on a mismatch."""
    check = result.sample_ratio
    if check.srm:
        return Text(
            f"Sample ratio mismatch (chi-square {p_phrase(check.p_value)}): the arms' sizes do not match"
            " the design; do not trust these results until the assignment is fixed.",
            style="bold red",
        )
    return Text(f"Sample ratio as designed (chi-square {p_phrase(check.p_value)}).", style="green")


def _experiment_table(result: ExperimentResult, report: ExperimentReport) -> Table:
    title = f"{result.experiment}: default {result.default}, holdout {percent(result.holdout, 0)}"
    table = Table(title=title, caption=srm_text(result), title_justify="left", caption_justify="left")
    table.add_column("Arm")
    table.add_column("Rendered", justify="right")
    table.add_column("Metric")
    for header in ("Rate [95% CI]", "Lift [95% CI]", "Relative [95% CI]", "p (Holm)", "Seq. p (Holm)", "MDE"):
        table.add_column(header, justify="right", no_wrap=True)
    for arm in result.arms:
        label, comparisons = arm_comparisons(result, arm, report.control_lift)
        heads = [
            (Text(arm.arm, style="bold"), f"{arm.rendered:,} of {arm.recipients:,}"),
            (Text(label, style="dim"), Text(f"{arm.render_seconds:,.1f} s", style="dim")),
        ]
        for index, rate in enumerate(arm.metrics):
            head = heads[index] if index < len(heads) else ("", "")
            cells = [
                *head,
                METRIC_LABELS.get(rate.metric, rate.metric),
                interval_text(rate.rate),
                *_comparison_cells(comparisons.get(rate.metric)),
            ]
            table.add_row(*cells, end_section=index == len(arm.metrics) - 1)
    return table


def _comparison_cells(c: RateComparison | None) -> list[str | Text]:
    if c is None:
        return ["", "", "", "", ""]
    if isinstance(c, VariantComparison):
        p = f"{p_text(c.p_value)} ({p_text(c.p_value_holm)})"
        seq = f"{p_text(c.sequential_p_value)} ({p_text(c.sequential_p_value_holm)})"
        style = "bold green" if c.significant and (c.absolute_lift and c.absolute_lift.estimate > 0) else ""
        style = "bold red" if c.significant and not style else style
    else:
        p, seq, style = p_text(c.p_value), p_text(c.sequential_p_value), ""
    return [
        Text(interval_text(c.absolute_lift, signed=True, points=True), style=style),
        interval_text(c.relative_lift, signed=True),
        p,
        seq,
        points(c.mde),
    ]


def experiment_tables(report: ExperimentReport) -> Group:
    """A Rich renderable: a headline (recipients, control share), then per experiment a table of
    every arm and metric with the comparisons, captioned by its sample-ratio check (red on a
    mismatch)."""
    name = "/".join(part for part in (report.template, report.campaign) if part)
    head = Text(f"Test-and-learn report {name}".rstrip(), style="bold")
    head.append(
        f"\n{report.rendered:,} of {report.recipients:,} recipients rendered; global control group"
        f" {percent(report.control_group, 1)}; rates per recipient rendered; alpha {report.alpha:g}.",
        style="",
    )
    if not report.experiments:
        head.append("\nThis campaign's template declares no experiments.", style="italic")
    return Group(head, *(_experiment_table(result, report) for result in report.experiments))
