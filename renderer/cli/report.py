"""``tailor report CAMPAIGN``: a campaign's engagement metrics as a Rich table, and on request a
funnel and a drop-off chart (SVG and PNG) and every metric as CSV.

The campaign is named as ``tailor campaign --campaign`` named it (its job store is the one beside
``--out``'s outputs, or ``TAILOR_DATABASE_URL``), or ``api-<key id>`` with ``--template`` for the
API's one-off renders. The numbers are the README's formulas ("Engagement metrics").
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from renderer.cli.common import OutOpt, cli_settings, console, fail, out
from renderer.engagement.campaign_experiments import campaign_experiments
from renderer.engagement.charts import write_charts
from renderer.engagement.experiment_page import write_report_page
from renderer.engagement.experiment_views import experiment_tables
from renderer.engagement.experiments import ExperimentReport
from renderer.engagement.export import MetricRow, metric_rows, report_csv
from renderer.engagement.metrics import EngagementReport, Layout
from renderer.engagement.report import API_RENDERS, campaign_report, template_layout
from renderer.errors import TailorError
from renderer.jobs.store import JobStore, open_store
from renderer.outputs.load import load_template
from renderer.settings import Settings

app = typer.Typer()


def _template_of(store: JobStore, campaign: str, template: str | None) -> str:
    """The campaign's template: the stored campaign's, or `template` for the API's renders."""
    record = store.campaigns.get(campaign)
    if record is not None:
        return record.template
    if template is not None and API_RENDERS.fullmatch(campaign):
        return template
    hint = " (the API's one-off renders need --template)" if API_RENDERS.fullmatch(campaign) else ""
    console.print(f"[bold red]error:[/] no campaign {campaign!r} in the job store{hint}", highlight=False)
    raise typer.Exit(code=1)


def _layout(template: str, settings: Settings) -> Layout:
    """The template's layout; an empty one (with a warning) when it cannot be loaded."""
    try:
        return template_layout(load_template(template, settings))
    except TailorError as exc:
        console.print(f"[yellow]warning:[/] no scene order or declared ids: {exc}", highlight=False)
        return Layout()


def _experiments(
    store: JobStore, template: str, campaign: str, settings: Settings
) -> ExperimentReport | None:
    """The campaign's experiment report; None when the template runs no experiment (or is gone)."""
    try:
        loaded = load_template(template, settings)
    except TailorError:
        return None
    if not loaded.manifest.decisions.experiments and not loaded.manifest.decisions.control_group:
        return None
    return campaign_experiments(store, loaded, campaign)


def _value(row: MetricRow) -> str:
    *_, denominator, value = row
    if value is None:
        return "-"
    if denominator is None:
        return f"{value:g}"
    return f"{100 * value:.1f}%"


def metrics_table(report: EngagementReport) -> Table:
    """Every metric of the report as a table: overall, and per variant once an experiment
    assigned any (the no-experiment group alone repeats the overall numbers)."""
    experiment = any(metrics.variant is not None for metrics in report.variants)
    title = f"engagement of {report.template}/{report.campaign}"
    table = Table("metric", "variant", "target", "numerator", "denominator", "value", title=title)
    group = "(all)"
    for row in metric_rows(report):
        if row[1] != "(all)" and not experiment:
            continue
        if row[1] != group:
            table.add_section()  # a rule between the groups
            group = row[1]
        metric, variant, target, numerator, denominator, _ = row
        cells = ("-" if n is None else str(n) for n in (numerator, denominator))
        table.add_row(metric, variant, target, *cells, _value(row))
    return table


@app.command()
def report(
    campaign: Annotated[str, typer.Argument(help="Campaign id (as `tailor campaign --campaign` named it)")],
    out_dir: OutOpt = None,
    template: Annotated[
        str | None, typer.Option(help="The template of the API's one-off renders (campaign api-<key id>)")
    ] = None,
    charts: Annotated[
        Path | None, typer.Option("--charts", help="Write funnel and drop-off charts (SVG, PNG) here")
    ] = None,
    csv_file: Annotated[
        Path | None, typer.Option("--csv", help="Write every metric to this CSV file")
    ] = None,
    html: Annotated[
        Path | None, typer.Option("--html", help="Write the experiments' report page (HTML, CSS) here")
    ] = None,
) -> None:
    """Print a campaign's engagement metrics: pages delivered, view, play and completion rates,
    drop-off per scene, chapter jumps, CTA and form rates (overall and per variant)."""
    settings = cli_settings(storage_url=out_dir)
    store = open_store(settings.database_url)
    try:
        name = _template_of(store, campaign, template)
        engagement = campaign_report(store, name, campaign, _layout(name, settings))
        experiments = _experiments(store, name, campaign, settings)
    finally:
        store.close()
    out.print(metrics_table(engagement))
    if experiments is not None:
        out.print(experiment_tables(experiments))
    try:
        if csv_file is not None:
            csv_file.write_text(report_csv(engagement), encoding="utf-8")
            out.print(f"csv:    {csv_file}")
        for path in write_charts(engagement, charts) if charts is not None else []:
            out.print(f"chart:  {path}")
        if html is not None and experiments is not None:
            out.print(f"report: {write_report_page(experiments, html)}")
    except OSError as exc:
        raise fail(TailorError(f"cannot write the report: {exc.strerror}")) from None
