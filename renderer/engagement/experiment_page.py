"""The HTML view of an `ExperimentReport`: a standalone page for people who decide on the results.

`report_html(report)` renders ``report_page/experiments.html.j2`` (Jinja, autoescaped): a red
banner when an experiment's sample ratio mismatches, per experiment its design and arms (assigned
against expected shares), a chart per metric of each arm's rate with its 95% interval (bars and
whiskers from `renderer.outputs.charts`), and the results table; then the global control group's
lift and how to read the numbers. The page runs no script and has no inline style (every style is
in ``report_page/experiments.css``, linked by `stylesheet_href`), so it is served under a CSP of
``default-src 'none'; style-src 'self'; img-src 'self' data:``; the charts are inline SVG with
presentation attributes only. `write_report_page` writes the page and its stylesheet side by side.
"""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup

from renderer.engagement.experiment_views import (
    METRIC_LABELS,
    arm_comparisons,
    interval_text,
    p_phrase,
    p_text,
    percent,
    points,
)
from renderer.engagement.experiments import ExperimentReport, ExperimentResult
from renderer.outputs.charts import ChartStyle, chart_geometry, chart_svg

PAGE_FOLDER = Path(__file__).parent / "report_page"
REPORT_STYLESHEET = PAGE_FOLDER / "experiments.css"
PAGE_CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self' data:; base-uri 'none'; "
    "form-action 'none'; frame-ancestors 'none'"
)
_CHART_W, _CHART_H = 300, 190
_WHISKER = '<line x1="{x}" x2="{x}" y1="{y1}" y2="{y2}" stroke="{colour}" stroke-width="{w}"/>'
_CAP = '<line x1="{x1}" x2="{x2}" y1="{y}" y2="{y}" stroke="{colour}" stroke-width="2"/>'
# variant arms in the brand blue, the holdout and control groups (no experiment) in grey
STYLE = ChartStyle(bar="#1f5fbf", highlight="#9aa4b5")
_ENV = Environment(
    loader=FileSystemLoader(PAGE_FOLDER), autoescape=True, undefined=StrictUndefined, trim_blocks=True
)
_ENV.filters.update(percent=percent, interval=interval_text, p=p_text, p_phrase=p_phrase, points=points)
_ENV.globals.update(metric_label=lambda m: METRIC_LABELS.get(m, m))


def rate_chart(result: ExperimentResult, metric: str) -> Markup:
    """An accessible SVG bar chart of each arm's rate on `metric` (per recipient rendered, in %),
    a whisker over each bar for its Wilson 95% interval; the axis reaches the highest bound."""
    rates = [next(r for r in arm.metrics if r.metric == metric).rate for arm in result.arms]
    values = [100 * r.estimate if r else 0.0 for r in rates]
    highs = [100 * r.high if r else 0.0 for r in rates]
    labels = [arm.arm for arm in result.arms]
    geometry = chart_geometry(
        values, labels, width=_CHART_W, height=_CHART_H, highlight_last=False, headroom=14.0,
        axis_max=max(highs, default=0.0), format_value=lambda v: f"{v:.0f}%",
    )  # fmt: skip
    grey = {"holdout", "control"}
    marks = tuple(
        replace(m, highlight=arm.role in grey) for m, arm in zip(geometry.marks, result.arms, strict=True)
    )
    geometry, style = replace(geometry, marks=marks), STYLE
    description = "; ".join(f"{label}: {interval_text(r)}" for label, r in zip(labels, rates, strict=True))
    title = (
        f"{METRIC_LABELS.get(metric, metric)} per recipient rendered, {result.experiment}, with 95% intervals"
    )
    svg = str(chart_svg(geometry, title=title, description=description, style=style))
    whiskers = []
    for mark, rate in zip(geometry.marks, rates, strict=True):
        if rate is None:
            continue
        x, top, bottom = (
            round(mark.cx),
            round(geometry.value_y(100 * rate.high)),
            round(geometry.value_y(100 * rate.low)),
        )
        whiskers.append(_WHISKER.format(x=x, y1=top, y2=bottom, colour=style.text, w=2))
        whiskers += [_CAP.format(x1=x - 6, x2=x + 6, y=y, colour=style.text) for y in (top, bottom)]
    return Markup(svg.removesuffix("</svg>") + "".join(whiskers) + "</svg>")


def _arm_rows(result: ExperimentResult) -> list[dict[str, object]]:
    check = result.sample_ratio
    total = sum(check.observed) or 1
    expected = dict(zip(check.arms, check.expected, strict=True))
    shares = {arm: e / (sum(check.expected) or 1) for arm, e in expected.items()}
    return [
        {"arm": arm, "observed_share": arm.recipients / total, "expected_share": shares[arm.arm]}
        for arm in result.arms
    ]


def _result_groups(
    result: ExperimentResult, report: ExperimentReport
) -> list[tuple[str, list[dict[str, object]]]]:
    """Per metric (report order), one row per arm: its rate and the comparison that belongs to it."""
    groups = []
    for metric in report.metrics:
        rows: list[dict[str, object]] = []
        for arm in result.arms:
            label, comparisons = arm_comparisons(result, arm, report.control_lift)
            label = f"vs {result.default}" if arm.role == "variant" else label
            rate = next(r for r in arm.metrics if r.metric == metric)
            rows.append({"arm": arm, "rate": rate, "label": label, "c": comparisons.get(metric)})
        groups.append((metric, rows))
    return groups


def report_html(report: ExperimentReport, *, stylesheet_href: str = "experiments.css") -> str:
    """The report as one HTML document (UTF-8 text), its stylesheet linked at `stylesheet_href`
    (relative to the page, or a path the route serves `REPORT_STYLESHEET` at). Every value from
    the report is escaped; the same report gives the same bytes."""
    experiments = [
        {
            "result": result,
            "arms": _arm_rows(result),
            "groups": _result_groups(result, report),
            "charts": [(metric, rate_chart(result, metric)) for metric in report.metrics],
        }
        for result in report.experiments
    ]
    mismatched = [result.experiment for result in report.experiments if result.sample_ratio.srm]
    return _ENV.get_template("experiments.html.j2").render(
        report=report, experiments=experiments, mismatched=mismatched, stylesheet_href=stylesheet_href
    )


def write_report_page(report: ExperimentReport, folder: Path, name: str = "experiments.html") -> Path:
    """Write the page as `folder`/`name` and its stylesheet beside it (``experiments.css``);
    `folder` is created if missing. The page's path."""
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(REPORT_STYLESHEET, folder / REPORT_STYLESHEET.name)
    page = folder / name
    page.write_text(report_html(report, stylesheet_href=REPORT_STYLESHEET.name), encoding="utf-8")
    return page
