"""``tailor render TEMPLATE (--data FILE.json | --sample NAME)``: one recipient rendered now.

Prints where each output is: a file path on a folder, an ``s3://`` URL on S3.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Annotated, Any

import typer

from renderer.cli.common import (
    OutOpt,
    OutputsOpt,
    cli_settings,
    console,
    fail,
    load_or_exit,
    out,
    output_or_exit,
    where,
)
from renderer.cli.triggers import explain_tree
from renderer.errors import TailorError
from renderer.outputs.decided import default_inputs
from renderer.outputs.kind import RenderOptions
from renderer.outputs.render import check_outputs, render_recipient
from renderer.outputs.template import Template

app = typer.Typer()


@app.command()
def render(
    template: Annotated[str, typer.Argument(help="Template name or folder")],
    data: Annotated[Path | None, typer.Option("--data", help="One recipient as a JSON file")] = None,
    sample: Annotated[str | None, typer.Option("--sample", help="A sample name, e.g. fa-IR")] = None,
    outputs: OutputsOpt = "microsite,pdf",
    out_dir: OutOpt = None,
    campaign: Annotated[str, typer.Option(help="Campaign id used in the output keys")] = "single",
    draft: Annotated[
        bool, typer.Option(help="Video preview: half size, fastest preset, no HLS/poster/thumbnail")
    ] = False,
    explain: Annotated[
        bool, typer.Option(help="Print why: triggers evaluated, slot winners, experiment arms")
    ] = False,
    variant: Annotated[
        list[str] | None, typer.Option(help="Force a variant, EXPERIMENT=VARIANT (repeatable)")
    ] = None,
) -> None:
    """Render one recipient now and print where each output is."""
    settings = cli_settings(storage_url=out_dir)
    loaded = load_or_exit(template, settings)
    raw = _recipient_data(loaded, data, sample)
    storage = output_or_exit(settings)
    try:
        chosen = check_outputs(loaded, outputs.split(","))
        recipient = loaded.validator.validate(raw)
        options = RenderOptions.from_settings(settings, draft=draft)
        inputs = replace(default_inputs(campaign), forced=_forced(loaded, variant or []))
        stored = render_recipient(loaded, recipient, chosen, storage, campaign, options, decisions=inputs)
    except TailorError as exc:
        raise fail(exc) from None
    for name, key in stored.file_keys().items():
        out.print(f"{name:10} {where(storage, settings, key)}")
    storage.close()
    if explain:
        out.print(explain_tree(stored.decision.trace()) if not loaded.decisions.empty else "no decisions")


def _forced(loaded: Template, pairs: list[str]) -> dict[str, str]:
    """``EXPERIMENT=VARIANT`` pairs checked against the template's experiments."""
    forced = {}
    for pair in pairs:
        exp, _, name = pair.partition("=")
        spec = loaded.manifest.decisions.experiments.get(exp)
        if spec is None or name not in spec.variants:
            known = ", ".join(
                f"{e}={'|'.join(s.variants)}" for e, s in loaded.manifest.decisions.experiments.items()
            )
            console.print(
                f"[bold red]error:[/] --variant {pair!r} is not one of: {known or 'no experiments'}"
            )
            raise typer.Exit(code=2)
        forced[exp] = name
    return forced


def _recipient_data(loaded: Template, data: Path | None, sample: str | None) -> dict[str, Any]:
    if (data is None) == (sample is None):
        console.print("[bold red]error:[/] give exactly one of --data FILE.json or --sample NAME")
        raise typer.Exit(code=2)
    if sample is not None:
        if sample not in loaded.samples:
            console.print(
                f"[bold red]error:[/] no sample {sample!r}; have: {', '.join(sorted(loaded.samples))}"
            )
            raise typer.Exit(code=2)
        return loaded.samples[sample]
    assert data is not None
    try:
        value = json.loads(data.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        console.print(f"[bold red]error:[/] {data}: cannot read JSON ({type(exc).__name__})")
        raise typer.Exit(code=1) from None
    if not isinstance(value, dict):
        console.print(f"[bold red]error:[/] {data}: must hold one JSON object")
        raise typer.Exit(code=1)
    return value
