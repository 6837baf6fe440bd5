"""The command line (Typer + Rich): validate, render, campaign, sample-data.

Every command reads the same `Settings` (environment variables with the ``TAILOR_`` prefix),
with command options layered on top. Errors print one clear line and exit non-zero.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import re
import sys
from decimal import Decimal
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from renderer.cli_out import open_output, report_dir, where
from renderer.data.dialect import SourceFormat
from renderer.data.synthetic import synthetic_rows
from renderer.errors import TailorError
from renderer.jobs.local import CampaignSpec, CampaignStats, run_campaign, validate_campaign
from renderer.logs import configure_logging
from renderer.outputs.images import limit_image_size
from renderer.outputs.kind import RenderOptions
from renderer.outputs.load import Template, load_template
from renderer.outputs.render import check_outputs, output_entries, render_recipient
from renderer.settings import Settings, load_settings
from renderer.storage import MemoryStorage
from renderer.storage.base import Storage
from renderer.storage.keys import campaign_key
from renderer.template.locale import parse_locale

app = typer.Typer(
    help="Tailor: personalized microsites, PDFs and videos for every customer.",
    no_args_is_help=True,
    add_completion=False,
)
console = Console(stderr=True, soft_wrap=True)
out = Console(soft_wrap=True)

OutputsOpt = Annotated[str, typer.Option("--outputs", help="Comma-separated: microsite,pdf")]
OutOpt = Annotated[
    str | None,
    typer.Option(
        "--out", help="Output folder or s3://bucket/prefix (default: TAILOR_STORAGE_URL, else ./out)"
    ),
]


def _fail(exc: TailorError) -> typer.Exit:
    console.print(f"[bold red]error:[/] {exc}", highlight=False, markup=True)
    return typer.Exit(code=1)


def _settings(**overrides: Any) -> Settings:
    settings = load_settings(**overrides)
    limit_image_size(settings.max_image_pixels)
    configure_logging(settings.log_format, settings.log_level)
    return settings


def _version(value: bool) -> None:
    if value:
        try:
            number = version("tailor")
        except PackageNotFoundError:
            number = "0.0.0 (not installed)"
        out.print(f"tailor {number}")
        raise typer.Exit()


@app.callback()
def _main(
    show_version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit")
    ] = False,
) -> None:
    """Tailor: personalized microsites, PDFs and videos for every customer."""


def _load(template: str, settings: Settings) -> Template:
    try:
        return load_template(template, settings)
    except TailorError as exc:
        raise _fail(exc) from None


@app.command()
def validate(template: Annotated[str, typer.Argument(help="Template name or folder")]) -> None:
    """Lint a template: manifest and contract, entries, assets, expressions, and every sample rendered."""
    settings = _settings()
    loaded = _load(template, settings)
    table = Table(title=f"{loaded.name} {loaded.manifest.version}", show_lines=False)
    table.add_column("check")
    table.add_column("result")
    table.add_row("manifest, contract, entries, expressions, static assets", "[green]ok[/]")
    outputs = [name for name in loaded.manifest.outputs.offered() if name != "video"]
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
    if loaded.manifest.outputs.video:
        problems += _check_video(loaded, table)
    out.print(table)
    for problem in problems:
        console.print(f"[bold red]error:[/] {problem}", highlight=False)
    if problems:
        raise typer.Exit(code=1)


def _check_video(loaded: Template, table: Table) -> list[str]:
    """Resolve every sample's scenes (conditions, texts, images) without rendering pixels."""
    from renderer.outputs.video.render import asset_opener
    from renderer.outputs.video.scenes import resolve_scenes
    from renderer.template.resolve import resolve

    opener = asset_opener(loaded)
    problems = []
    for name, raw in loaded.samples.items():
        try:
            spec = resolve(loaded, loaded.validator.validate(raw))
            scenes = resolve_scenes(loaded, spec, lambda ref: str(opener(ref)))
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
) -> None:
    """Render one recipient now and print where each output is."""
    settings = _settings(storage_url=out_dir)
    loaded = _load(template, settings)
    raw = _recipient_data(loaded, data, sample)
    storage = _output(settings)
    try:
        chosen = check_outputs(loaded, outputs.split(","))
        recipient = loaded.validator.validate(raw)
        keys = render_recipient(
            loaded, recipient, chosen, storage, campaign, RenderOptions.from_settings(settings, draft=draft)
        ).to_record()
    except TailorError as exc:
        raise _fail(exc) from None
    for name, key in output_entries(keys).items():
        out.print(f"{name:10} {where(storage, settings, key)}")
    storage.close()


def _is_locale(name: str) -> bool:
    try:
        parse_locale(name)
    except ValueError:
        return False
    return True


def _output(settings: Settings) -> Storage:
    try:
        return open_output(settings)
    except TailorError as exc:
        console.print(f"[bold red]error:[/] {exc}", highlight=False)
        raise typer.Exit(code=2) from None


def _rate(per_second: float) -> str:
    """A rate people can read: one decimal below 10/s (videos), whole numbers above."""
    return f"{per_second:.1f}" if per_second < 10 else f"{per_second:.0f}"


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-._") or "campaign"


def _progress_printer(progress: Progress, task: Any) -> Any:
    last_refresh = 0.0

    def update(stats: CampaignStats) -> None:
        nonlocal last_refresh
        processed = stats.rendered + stats.rejected + stats.failed + stats.skipped_done
        # bytes of the rows already finished, so the bar reaches 100% with the last render,
        # not when the reader (a few chunks ahead) reaches the end of the file
        done_bytes = stats.bytes_read * processed / stats.rows if stats.rows else 0
        progress.update(
            task,
            completed=done_bytes,
            total=stats.total_bytes or None,
            rows=stats.rows,
            done=stats.rendered,
            rejected=stats.rejected,
            failed=stats.failed,
            rate=stats.rendered / stats.elapsed if stats.elapsed else 0.0,
        )
        if stats.elapsed - last_refresh > 0.1:  # refreshed here, not by a thread (see below)
            progress.refresh()
            last_refresh = stats.elapsed

    return update


@app.command()
def campaign(
    template: Annotated[str, typer.Argument(help="Template name or folder")],
    data: Annotated[Path, typer.Argument(help="Recipients as .csv or .jsonl")],
    outputs: OutputsOpt = "microsite,pdf",
    out_dir: OutOpt = None,
    overwrite: Annotated[
        bool, typer.Option(help="Forget an earlier run of this campaign id and render everything again")
    ] = False,
    campaign_id: Annotated[
        str | None, typer.Option("--campaign", help="Campaign id (default: data file name)")
    ] = None,
    workers: Annotated[int | None, typer.Option(help="Worker processes (default: CPU count)")] = None,
    validate_only: Annotated[
        bool, typer.Option("--validate-only", help="Check every row against the contract; render nothing")
    ] = False,
    delimiter: Annotated[
        str | None, typer.Option(help="CSV delimiter, e.g. ';' or tab (default: a comma)")
    ] = None,
    encoding: Annotated[
        str | None, typer.Option(help="Text encoding, e.g. cp1252 (default: UTF-8, with or without BOM)")
    ] = None,
) -> None:
    """Render every recipient of a CSV/JSONL file in bulk; bad rows go to rejects.csv.

    Running the same campaign id again resumes it: recipients already rendered are skipped, so a
    run that was killed renders only what is missing. With --validate-only the file is only
    checked (counts and rejects.csv; exit 1 when any row is rejected).
    """
    settings = _settings(storage_url=out_dir, workers=workers)
    source_format = _source_format(delimiter, encoding)
    storage = _output(settings)
    name = _slug(campaign_id or data.stem)
    loaded = _load(template, settings)
    reports = campaign_key(loaded.name, name, "manifest.jsonl").rsplit("/", 1)[0]
    with report_dir(storage, reports) as folder:
        chosen = tuple(outputs.split(","))
        spec = CampaignSpec(str(loaded.root), data, chosen, name, folder, overwrite, source_format)
        if validate_only:
            code = _validate_only(spec, settings)
        else:
            stats = _run_with_progress(spec, settings, loaded.name)
    if validate_only:
        out.print(f"rejects:  {where(storage, settings, reports + '/validation-rejects.csv')}")
        raise typer.Exit(code=code)
    place = where(storage, settings, f"{loaded.name}/{name}")
    _print_summary(stats, name, place, where(storage, settings, reports))
    storage.close()
    if stats.failed or (stats.rendered == 0 and stats.skipped_done == 0 and stats.rows):
        raise typer.Exit(code=1)  # rejected rows are data problems; failed renders are ours


def _source_format(delimiter: str | None, encoding: str | None) -> SourceFormat:
    try:
        return SourceFormat(delimiter, encoding)
    except ValueError as exc:
        console.print(f"[bold red]error:[/] {exc}", highlight=False)
        raise typer.Exit(code=2) from None


def _print_summary(stats: CampaignStats, name: str, outputs: str, reports: str) -> None:
    """The counts of the run and where its outputs and reports are (folders or s3:// URLs)."""
    if stats.resumed:
        out.print(f"resumed campaign {name!r}: {stats.skipped_done} recipients were already rendered")
    out.print(
        f"{stats.rendered} rendered, {stats.rejected} rejected, {stats.failed} failed "
        f"in {stats.elapsed:.1f} s ({_rate(stats.rendered / max(stats.elapsed, 1e-9))} recipients/s)"
    )
    out.print(f"outputs:  {outputs}")
    out.print(f"manifest: {reports}/manifest.jsonl")
    out.print(f"rejects:  {reports}/rejects.csv")


def _run_with_progress(spec: CampaignSpec, settings: Settings, template: str) -> CampaignStats:
    """Run the campaign under a Rich progress bar; its final counts."""
    columns = (
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TextColumn(
            "{task.fields[done]} rendered · {task.fields[rejected]} rejected · {task.fields[failed]} failed"
        ),
        TextColumn("· {task.fields[rate]:.1f}/s"),
        TimeElapsedColumn(),
    )
    # No auto-refresh thread: a single-threaded parent lets the worker pool fork instantly.
    with Progress(*columns, console=console, transient=False, auto_refresh=False) as progress:
        task = progress.add_task(
            f"{template}/{spec.campaign}", total=None, rows=0, done=0, rejected=0, failed=0, rate=0.0
        )
        try:
            stats = run_campaign(spec, settings, on_progress=_progress_printer(progress, task))
        except TailorError as exc:
            raise _fail(exc) from None
        _progress_printer(progress, task)(stats)
    return stats


def _validate_only(spec: CampaignSpec, settings: Settings) -> int:
    """Validate the file, print its counts and where rejects.csv is; 1 when any row is rejected."""
    console.print(f"validating {spec.data} against {Path(spec.template).name} (nothing is rendered)")
    try:
        stats = validate_campaign(spec, settings)
    except TailorError as exc:
        raise _fail(exc) from None
    out.print(
        f"{stats.rows} rows: {stats.valid} valid, {stats.rejected} rejected "
        f"({stats.duplicates} duplicate recipient ids) in {stats.elapsed:.1f} s "
        f"({stats.rows / max(stats.elapsed, 1e-9):.0f} rows/s)"
    )
    return 1 if stats.rejected else 0


def _cell(value: Any) -> str:
    if isinstance(value, list):
        return json.dumps(value, default=_json_default, ensure_ascii=False)
    if isinstance(value, bool):
        return "true" if value else "false"
    return _json_default(value) if isinstance(value, dt.date | Decimal) else str(value)


def _json_default(value: Any) -> str:
    if isinstance(value, dt.date | Decimal):
        return str(value) if isinstance(value, Decimal) else value.isoformat()
    raise TypeError(type(value).__name__)


@app.command("sample-data")
def sample_data(
    template: Annotated[str, typer.Argument(help="Template name or folder")],
    rows: Annotated[int, typer.Option("--rows", min=1, help="How many recipients")] = 100,
    seed: Annotated[int, typer.Option(help="Random seed: the same seed gives the same rows")] = 1,
    output: Annotated[
        Path | None, typer.Option("--out", help=".csv or .jsonl file (default: CSV on stdout)")
    ] = None,
) -> None:
    """Write deterministic synthetic recipients for demos and benchmarks."""
    loaded = _load(template, _settings())
    contract = loaded.manifest.contract
    locales = [name for name in sorted(loaded.samples) if _is_locale(name)] or [contract.default_locale]
    generated = synthetic_rows(contract, locales, rows, seed)
    jsonl = output is not None and output.suffix.lower() in (".jsonl", ".ndjson")
    handle = output.open("w", encoding="utf-8", newline="") if output else sys.stdout
    try:
        if jsonl:
            for row in generated:
                handle.write(json.dumps(row, default=_json_default, ensure_ascii=False) + "\n")
        else:
            writer = csv.DictWriter(handle, fieldnames=list(contract.fields), lineterminator="\n")
            writer.writeheader()
            for row in generated:
                writer.writerow({key: _cell(value) for key, value in row.items()})
    finally:
        if output:
            handle.close()
    if output:
        console.print(f"wrote {rows} recipients to {output}")


def main() -> None:
    """Entry point of ``python -m renderer`` and the ``tailor`` script."""
    app()


from renderer import service_cli  # noqa: E402, F401  (registers serve, worker and api-key)
