"""``tailor validate TEMPLATE``: lint a template and render every sample in memory.

Checks the manifest and contract, entries, assets and expressions (`load_template`), renders each
sample's microsite and PDF into memory, and resolves each sample's video scenes without drawing
a frame. Prints a table; exits 1 when anything fails.
"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from renderer.cli.common import cli_settings, console, load_or_exit, out
from renderer.errors import TailorError
from renderer.outputs.kind import RenderOptions
from renderer.outputs.render import offered_outputs, render_recipient
from renderer.outputs.template import Template
from renderer.settings import Settings
from renderer.storage import MemoryStorage

app = typer.Typer()


@app.command()
def validate(template: Annotated[str, typer.Argument(help="Template name or folder")]) -> None:
    """Lint a template: manifest and contract, entries, assets, expressions, and every sample rendered."""
    settings = cli_settings()
    loaded = load_or_exit(template, settings)
    table = Table(title=f"{loaded.name} {loaded.manifest.version}", show_lines=False)
    table.add_column("check")
    table.add_column("result")
    table.add_row("manifest, contract, entries, expressions, static assets", "[green]ok[/]")
    problems = _check_samples(loaded, settings, table)
    if loaded.manifest.outputs.video:
        problems += _check_video(loaded, table)
    out.print(table)
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


def _check_video(loaded: Template, table: Table) -> list[str]:
    """Resolve every sample's scenes (conditions, texts, images) and the fallbacks of its scenes
    without rendering pixels."""
    from renderer.outputs.decided import default_inputs, resolve_decided
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
