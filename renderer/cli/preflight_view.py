"""``tailor validate TEMPLATE --preflight``: run the pre-flight check (`renderer.preview.preflight`)
on every sample (and ``--synthetic N`` synthetic recipients) and print its findings and the
render cost as Rich tables.
"""

from __future__ import annotations

from rich.table import Table

from renderer.cli.common import console, out
from renderer.outputs.kind import RenderOptions
from renderer.outputs.template import Template
from renderer.preview.findings import PreflightReport, RenderCost
from renderer.preview.preflight import preflight, preflight_recipients
from renderer.settings import Settings
from renderer.storage import MemoryStorage

SEVERITY_STYLE = {"error": "bold red", "warning": "yellow"}


def run_preflight(
    loaded: Template, settings: Settings, *, synthetic: int, campaign_size: int, video: bool, draft: bool
) -> PreflightReport:
    """The pre-flight report of `loaded`, rendered into memory (a draft video unless `draft` is
    False; no video at all when `video` is False), printed; the caller exits on its errors."""
    recipients = preflight_recipients(loaded, synthetic)
    options = RenderOptions.from_settings(settings, draft=draft)
    console.print(f"pre-flight: checking {len(recipients)} recipients of {loaded.name}...", highlight=False)
    report = preflight(loaded, recipients, MemoryStorage(), options, campaign_size=campaign_size, video=video)
    print_report(loaded.name, report)
    return report


def findings_table(name: str, report: PreflightReport) -> Table:
    """One row per finding: severity, check, recipient, where (with file:line), message."""
    table = Table(title=f"pre-flight of {name}: {report.recipients} recipients", show_lines=False)
    for column in ("", "check", "recipient", "where", "message"):
        table.add_column(column)
    for finding in report.findings:
        where = finding.where
        if finding.file:
            where += f"\n{finding.file}" + (f":{finding.line}" if finding.line is not None else "")
        style = SEVERITY_STYLE.get(finding.severity, "")
        table.add_row(
            f"[{style}]{finding.severity}[/]", finding.check, finding.recipient, where, finding.message
        )
    return table


def cost_table(cost: RenderCost) -> Table:
    """Seconds per output, cold (first recipient) and warm (median), and the campaign estimate."""
    table = Table(title="render cost (seconds)")
    for column in ("output", "cold", "warm"):
        table.add_column(column, justify="right" if column != "output" else "left")
    for output, cold in cost.per_output_cold.items():
        table.add_row(output, f"{cold:.2f}", f"{cost.per_output_warm.get(output, 0.0):.2f}")
    table.add_row(
        "[bold]per recipient[/]", f"{sum(cost.per_output_cold.values()):.2f}", f"{cost.per_recipient_s:.2f}"
    )
    minutes = cost.campaign_s / 60
    table.caption = (
        f"{cost.campaign_size} recipients on {cost.workers} workers: about {minutes:.1f} min"
        " (cold + (N - 1) x warm / workers)"
    )
    return table


def print_report(name: str, report: PreflightReport) -> None:
    """The findings table (or a line saying there are none) and the cost table."""
    if report.findings:
        out.print(findings_table(name, report))
    else:
        out.print(f"[green]pre-flight of {name}: no findings for {report.recipients} recipients[/]")
    if report.cost is not None:
        out.print(cost_table(report.cost))
    errors, warnings = len(report.errors), len(report.findings) - len(report.errors)
    colour = "red" if errors else "yellow" if warnings else "green"
    out.print(f"[{colour}]{errors} errors, {warnings} warnings[/]")
