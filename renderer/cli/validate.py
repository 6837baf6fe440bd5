"""``tailor validate TEMPLATE``: lint a template and render every sample in memory.

Checks the manifest and contract, entries, assets and expressions (`load_template`), renders each
sample's microsite and PDF into memory, and resolves each sample's video scenes without drawing
a frame. Prints a table; exits 1 when anything fails. ``--preflight`` runs the pre-flight check
instead of the sample renders (`renderer.cli.preflight_view`).
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import typer
from rich.table import Table

from renderer.cli.common import cli_settings, console, load_or_exit, out
from renderer.cli.preflight_view import run_preflight
from renderer.decisions.checks import find_overlaps, find_unreachable, run_golden
from renderer.errors import TailorError
from renderer.outputs.decided import default_inputs, resolve_decided
from renderer.outputs.kind import RenderOptions
from renderer.outputs.render import offered_outputs, render_recipient
from renderer.outputs.template import Template
from renderer.settings import Settings
from renderer.storage import MemoryStorage
from renderer.template.resolve import resolve

app = typer.Typer()


@app.command()
def validate(
    template: Annotated[str, typer.Argument(help="Template name or folder")],
    preflight: Annotated[
        bool, typer.Option("--preflight", help="Run the pre-flight check instead of plain sample renders")
    ] = False,
    synthetic: Annotated[
        int, typer.Option("--synthetic", min=0, help="Pre-flight: also check N synthetic recipients")
    ] = 0,
    campaign_size: Annotated[
        int, typer.Option("--campaign-size", min=1, help="Pre-flight: recipients the cost estimate is for")
    ] = 10000,
    video: Annotated[
        bool, typer.Option("--video/--no-video", help="Pre-flight: render and time the video")
    ] = True,
    draft: Annotated[bool, typer.Option("--draft/--full", help="Pre-flight: a draft or a full video")] = True,
) -> None:
    """Lint a template: manifest and contract, entries, assets, expressions, and every sample rendered.

    With --preflight every sample (and --synthetic N recipients) is rendered and checked for cut
    text, missing glyphs, low contrast, narration longer than its scene and unsafe links, and the
    render cost of a campaign is estimated; exits 1 when any finding is an error."""
    settings = cli_settings()
    loaded = load_or_exit(template, settings)
    table = Table(title=f"{loaded.name} {loaded.manifest.version}", show_lines=False)
    table.add_column("check")
    table.add_column("result")
    table.add_row("manifest, contract, entries, expressions, static assets", "[green]ok[/]")
    if preflight:
        report = run_preflight(
            loaded, settings, synthetic=synthetic, campaign_size=campaign_size, video=video, draft=draft
        )
        problems = ["the pre-flight check found errors (see the pre-flight table)"] if report.errors else []
    else:
        problems = _check_samples(loaded, settings, table)
        if loaded.manifest.outputs.video:
            problems += _check_video(loaded, table)
    warnings: list[str] = []
    if not loaded.decisions.empty:
        found, warnings = _check_decisions(loaded)
        problems += found
        table.add_row("decisions: golden cases, overlaps, reachability", _verdict(found, warnings))
    out.print(table)
    for warning in warnings:
        console.print(f"[yellow]warning:[/] {warning}", highlight=False)
    for problem in problems:
        console.print(f"[bold red]error:[/] {problem}", highlight=False)
    if problems:
        raise typer.Exit(code=1)


def _check_samples(loaded: Template, settings: Settings, table: Table) -> list[str]:
    """Render every sample's microsite and PDF into memory; a row per sample, the problems found."""
    outputs = offered_outputs(loaded, background=False)
    problems: list[str] = []
    if not loaded.samples:
        table.add_row("samples", "[yellow]none in samples/[/]")
    storage = MemoryStorage()
    for name, raw in loaded.samples.items():
        try:
            recipient = loaded.validator.validate(raw)
            render_recipient(
                loaded,
                recipient,
                outputs,
                storage,
                "validate",
                RenderOptions.from_settings(settings),
            )
            table.add_row(f"samples/{name}.json", f"[green]renders {', '.join(outputs)}[/]")
        except TailorError as exc:
            problems.append(f"samples/{name}.json: {exc}")
            table.add_row(f"samples/{name}.json", "[red]fails (see below)[/]")
    return problems


def _verdict(problems: list[str], warnings: list[str]) -> str:
    if problems:
        return "[red]fails (see below)[/]"
    return f"[yellow]{len(warnings)} warnings (see below)[/]" if warnings else "[green]ok[/]"


def _check_decisions(loaded: Template) -> tuple[list[str], list[str]]:
    """(problems, warnings): failing golden cases of the template's triggers; slots where more
    triggers fire than can show (samples, golden cases) and unreachable triggers."""
    today = dt.datetime.now(dt.UTC).date()
    book = loaded.decisions
    problems = [
        f"trigger {r.trigger!r} golden case {r.case!r}: "
        + (
            r.error
            or f"expected {'fires' if r.expected else 'does not fire'}, {'fired' if r.fired else 'did not'}"
        )
        for r in run_golden(book.triggers, today)
        if not r.passed
    ]
    contexts = {}
    for name, raw in loaded.samples.items():
        try:
            contexts[f"samples/{name}.json"] = resolve(loaded, loaded.validator.validate(raw)).context
        except TailorError:
            continue  # reported by the sample check
    locales = {str(ctx["locale"]) for ctx in contexts.values()}
    return problems, find_overlaps(book, contexts, today) + find_unreachable(book, locales, today)


def _check_video(loaded: Template, table: Table) -> list[str]:
    """Resolve every sample's scenes (conditions, texts, images) and the fallbacks of its scenes
    without rendering pixels."""
    from renderer.outputs.video.render import asset_opener
    from renderer.outputs.video.scenes import fallback_scenes, resolve_fallback, resolve_scenes

    opener = asset_opener(loaded)
    problems = []
    for name, raw in loaded.samples.items():
        try:
            spec, _ = resolve_decided(loaded, loaded.validator.validate(raw), default_inputs("validate"))
            scenes = resolve_scenes(loaded, spec, lambda ref: str(opener(ref)))
            for scene in sorted(fallback_scenes(loaded) & {s.id for s in scenes}):
                resolve_fallback(loaded, spec, scene, lambda ref: str(opener(ref)))
            video = loaded.manifest.outputs.video
            if video and video.music:
                opener(video.music)
            table.add_row(
                f"video for {name}", f"[green]{len(scenes)} scenes: {', '.join(s.id for s in scenes)}[/]"
            )
        except TailorError as exc:
            problems.append(f"video for samples/{name}.json: {exc}")
            table.add_row(f"video for {name}", "[red]fails (see below)[/]")
    return problems
