"""``tailor triggers test [--template T]``: run every golden case of the trigger library (the
shared ``triggers/`` folder, and a template's own folder with ``--template``), a Rich table of
the results; exits 1 when a case fails. ``tailor triggers list`` shows the library.

Also the decision views the other commands print: `explain_tree` (``tailor render --explain``).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table
from rich.tree import Tree

from renderer.cli.common import cli_settings, console, fail, load_or_exit, out
from renderer.decisions.checks import run_golden
from renderer.decisions.library import TriggerLibrary, load_library
from renderer.errors import TailorError

app = typer.Typer()
triggers_app = typer.Typer(help="The trigger library: run golden cases, list triggers.", no_args_is_help=True)
app.add_typer(triggers_app, name="triggers")
TemplateOpt = Annotated[
    str | None, typer.Option("--template", help="Add this template's own triggers/ folder")
]


def _library(template: str | None) -> TriggerLibrary:
    settings = cli_settings()
    folders: list[Path] = [settings.triggers_dir]
    if template is not None:
        folders.append(load_or_exit(template, settings).root / "triggers")
    try:
        return load_library(folders)
    except TailorError as exc:
        raise fail(exc) from None


@triggers_app.command("test")
def test_triggers(template: TemplateOpt = None) -> None:
    """Run every golden case of the trigger library; exit 1 when one fails."""
    library = _library(template)
    results = run_golden(library.triggers.values(), dt.datetime.now(dt.UTC).date())
    table = Table("trigger", "version", "case", "expects", "result", title="golden cases")
    for result in results:
        expects = "fires" if result.expected else "does not fire"
        if result.error is not None:
            verdict = f"[red]error: {result.error}[/]"
        elif result.passed:
            verdict = "[green]ok[/]"
        else:
            verdict = f"[red]{'fired' if result.fired else 'did not fire'}[/]"
        table.add_row(result.trigger, str(result.version), result.case, expects, verdict)
    out.print(table)
    failed = [r for r in results if not r.passed]
    bare = sorted(tid for tid, c in library.triggers.items() if not c.trigger.golden)
    for tid in bare:
        console.print(f"[yellow]warning:[/] trigger {tid!r} has no golden case", highlight=False)
    out.print(
        f"{len(results) - len(failed)} of {len(results)} golden cases pass, {len(library.triggers)} triggers"
    )
    if failed:
        raise typer.Exit(code=1)


@triggers_app.command("list")
def list_triggers(template: TemplateOpt = None) -> None:
    """Every trigger of the library: id, version, priority, validity, cap, description."""
    table = Table("trigger", "version", "priority", "valid", "cap", "description")
    for tid, compiled in sorted(_library(template).triggers.items()):
        t = compiled.trigger
        valid = f"{t.valid_from or '…'} – {t.valid_until or '…'}"
        cap = f"{t.cap.times} in {t.cap.days} d" if t.cap else "-"
        table.add_row(tid, str(t.version), str(t.priority), valid, cap, t.description)
    out.print(table)


def explain_tree(trace: dict[str, Any]) -> Tree:
    """The decision trace as a Rich tree: triggers (fired or why not), slot winners and what was
    dropped, each experiment's arm; ids and reasons only."""
    control = " · global control group" if trace.get("control_group") else ""
    tree = Tree(f"[bold]why this recipient got this[/] (decided {trace.get('at')}{control})")
    triggers = tree.add("triggers")
    for item in trace.get("triggers", []):
        mark = "[green]fired[/]" if item["fired"] else f"[dim]{item['reason']}[/]"
        triggers.add(f"{item['id']} v{item['version']}: {mark}")
    slots = tree.add("slots")
    for name, slot in trace.get("slots", {}).items():
        node = slots.add(f"{name}: {', '.join(slot['winners']) or '(empty)'}")
        for dropped in slot["dropped"]:
            node.add(f"[dim]{dropped['id']}: {dropped['reason']}[/]")
    experiments = tree.add("experiments")
    for exp, arm in trace.get("experiments", {}).items():
        shown = "" if arm["arm"] == arm["variant"] else f" (shown {arm['variant']})"
        experiments.add(
            f"{exp}: {arm['arm']}{shown}  [dim]seed {arm['seed']}, holdout {arm['holdout']:.0%}[/]"
        )
    return tree
