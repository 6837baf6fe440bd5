"""The report's three views on real reports: flat rows, Rich tables and the HTML page (parsed, and
loaded in Chromium under the page's own Content-Security-Policy)."""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from renderer.engagement.experiment_page import PAGE_CSP, REPORT_STYLESHEET, report_html, write_report_page
from renderer.engagement.experiment_views import ROW_FIELDS, experiment_rows, experiment_tables
from renderer.engagement.experiments import (
    METRICS,
    ExperimentDesign,
    ExperimentReport,
    VariantTally,
    experiment_report,
)
from tests.conftest import launch_chromium

DESIGNS = {
    "headline": ExperimentDesign(variants={"plain": 1, "warm": 1}, default="plain", holdout=0.1),
    "intro": ExperimentDesign(variants={"classic": 1, "story": 1}, default="classic"),
}


def _tally(n: int, clicks: int) -> VariantTally:
    reached = {"page_views": n // 2, "video_plays": n // 3, "video_completions": n // 4, "cta_clicks": clicks}
    return VariantTally(n, n, n / 10, reached | {"form_submits": clicks // 4})


def _report(warm: int = 450, template: str = "bill-summary") -> ExperimentReport:
    tallies = {
        "headline=plain;intro=classic": _tally(225, 20),
        "headline=plain;intro=story": _tally(225, 24),
        "headline=warm;intro=classic": _tally(warm // 2, 40),
        "headline=warm;intro=story": _tally(warm - warm // 2, 44),
        "headline=holdout;intro=classic": _tally(50, 3),
        "headline=holdout;intro=story": _tally(50, 4),
        "headline=control;intro=control": _tally(50, 3),
    }
    return experiment_report(tallies, DESIGNS, 0.05, template=template, campaign="spring")


def test_rows_are_flat_one_per_experiment_arm_and_metric() -> None:
    report = _report()
    rows = list(experiment_rows(report))
    assert len(rows) == 2 * 4 * len(METRICS)
    assert all(tuple(row) == ROW_FIELDS for row in rows)
    warm = next(r for r in rows if r["arm"] == "warm" and r["metric"] == "cta_clicks")
    comparison = next(
        c for c in report.experiments[0].comparisons if c.variant == "warm" and c.metric == "cta_clicks"
    )
    assert warm["comparison"] == "warm vs plain" and warm["p_value_holm"] == comparison.p_value_holm
    assert comparison.absolute_lift is not None and warm["absolute_low"] == comparison.absolute_lift.low
    default = next(r for r in rows if r["arm"] == "plain" and r["metric"] == "cta_clicks")
    assert default["comparison"] is None and default["rate"] == 44 / 450
    holdout = next(r for r in rows if r["arm"] == "holdout" and r["metric"] == "page_views")
    assert holdout["comparison"] == "variants vs holdout" and holdout["p_value_holm"] is None


def test_the_rich_tables_show_every_arm_and_the_mismatch() -> None:
    console = Console(record=True, width=220, color_system=None)
    console.print(experiment_tables(_report()))
    text = console.export_text()
    assert "headline: default plain, holdout 10%" in text and "intro: default classic" in text
    assert "Sample ratio as designed" in text
    assert "warm vs plain" in text and "CTA clicks" in text
    console = Console(record=True, width=220, color_system=None)
    console.print(experiment_tables(_report(warm=700)))
    assert "Sample ratio mismatch" in console.export_text()


class _Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.text.append(data)

    def having(self, tag: str, **attrs: str) -> list[dict[str, str | None]]:
        found = [a for t, a in self.tags if t == tag]
        return [a for a in found if all(a.get(k.rstrip("_")) == v for k, v in attrs.items())]


def _parse(html: str) -> _Page:
    page = _Page()
    page.feed(html)
    return page


def test_the_page_has_a_table_and_charts_per_experiment_and_no_banner_when_all_is_well() -> None:
    page = _parse(report_html(_report()))
    assert not page.having("div", class_="srm-banner")
    assert len(page.having("table", class_="results")) == 3  # two experiments and the control group
    assert len(page.having("table", class_="arms")) == 2
    assert len([a for t, a in page.tags if t == "svg"]) == 2 * len(METRICS)
    assert page.having("link", rel="stylesheet", href="experiments.css")
    assert not [t for t, _ in page.tags if t == "script"] and not [a for _, a in page.tags if "style" in a]
    text = " ".join(page.text)
    assert "Experiment" in text and "significant gain" in text  # warm's clicks: 84/450 against 44/450


def test_a_mismatch_raises_the_red_banner_and_values_are_escaped() -> None:
    html = report_html(_report(warm=700, template="<b>bill</b>"), stylesheet_href="/assets/report.css")
    page = _parse(html)
    banner = page.having("div", class_="srm-banner")
    assert banner and banner[0]["role"] == "alert"
    assert "Sample ratio mismatch in headline" in " ".join(page.text)
    assert "<b>bill</b>" not in html and "&lt;b&gt;bill&lt;/b&gt;" in html
    assert page.having("link", rel="stylesheet", href="/assets/report.css")


def test_the_page_is_written_with_its_stylesheet(tmp_path: Path) -> None:
    path = write_report_page(_report(), tmp_path)
    assert path == tmp_path / "experiments.html"
    assert (tmp_path / "experiments.css").read_bytes() == REPORT_STYLESHEET.read_bytes()


@pytest.mark.browser
def test_the_page_renders_under_its_csp_in_chromium(tmp_path: Path) -> None:
    """Served with PAGE_CSP: no violation, the stylesheet applies (the banner is red), and the
    screenshot is kept for a look (tmp_path/report.png)."""
    html = report_html(_report(warm=700))
    css = REPORT_STYLESHEET.read_text(encoding="utf-8")
    with launch_chromium() as browser:
        tab = browser.new_page(viewport={"width": 1280, "height": 900})
        messages: list[str] = []
        tab.on("console", lambda message: messages.append(message.text))

        def serve(route: Any) -> None:
            url = route.request.url
            body, kind = (css, "text/css") if url.endswith(".css") else (html, "text/html")
            route.fulfill(
                status=200, body=body, content_type=kind, headers={"Content-Security-Policy": PAGE_CSP}
            )

        tab.route("http://report.test/**", serve)
        tab.goto("http://report.test/campaigns/spring/report.html")
        colour = tab.eval_on_selector(".srm-banner", "e => getComputedStyle(e).backgroundColor")
        widths = tab.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
        tab.screenshot(path=str(tmp_path / "report.png"), full_page=True)
    assert colour == "rgb(155, 28, 28)"
    assert widths[0] <= widths[1]  # nothing wider than the window
    assert not [m for m in messages if "Content Security Policy" in m or "Refused" in m]
