"""``tailor campaign TEMPLATE DATA``: every recipient of a CSV/JSONL file, on a local process pool.

Bad rows go to ``rejects.csv``; running the same campaign id again resumes it (`run_campaign`).
A Rich progress bar follows the run; ``--validate-only`` checks the file and renders nothing.
"""

from __future__ import annotations

import re
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from renderer.cli.common import (
    OutOpt,
    OutputsOpt,
    cli_settings,
    console,
    fail,
    load_or_exit,
    out,
    output_or_exit,
    report_dir,
    where,
)
from renderer.data.dialect import SourceFormat
from renderer.errors import TailorError
from renderer.jobs.local import CampaignSpec, CampaignStats, run_campaign, validate_campaign
from renderer.jobs.video_mode import EAGER, ON_PLAY, stored_video_mode
from renderer.outputs.template import Template
from renderer.settings import Settings
from renderer.storage.keys import campaign_key

app = typer.Typer()


class VideoMode(StrEnum):
    """``--video``: when a recipient's video is rendered."""

    EAGER = EAGER
    ON_PLAY = ON_PLAY


VIDEO_HELP = "eager: render each video now; on-play: page, PDF, poster now, the video when played"
VideoOpt = Annotated[VideoMode, typer.Option(help=VIDEO_HELP)]
DelimiterOpt = Annotated[str | None, typer.Option(help="CSV delimiter, e.g. ';' or tab (default: a comma)")]
EncodingOpt = Annotated[
    str | None, typer.Option(help="Text encoding, e.g. cp1252 (default: UTF-8, with or without BOM)")
]


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
    delimiter: DelimiterOpt = None,
    encoding: EncodingOpt = None,
    video: VideoOpt = VideoMode.EAGER,
) -> None:
    """Render every recipient of a CSV/JSONL file in bulk; bad rows go to rejects.csv.

    Running the same campaign id again resumes it: recipients already rendered are skipped, so a
    run that was killed renders only what is missing. With --validate-only the file is only
    checked (counts and rejects.csv; exit 1 when any row is rejected). With --video on-play
    (which needs the video output) only the stream's plan is stored: the video is rendered when
    the recipient plays it.
    """
    settings = cli_settings(storage_url=out_dir, workers=workers)
    source_format = _source_format(delimiter, encoding)
    chosen = tuple(outputs.split(","))
    _check_video(video, chosen)
    storage = output_or_exit(settings)
    name = _slug(campaign_id or data.stem)
    loaded = load_or_exit(template, settings)
    reports = campaign_key(loaded.name, name, "manifest.jsonl").rsplit("/", 1)[0]
    with report_dir(storage, reports) as folder:
        spec = CampaignSpec(str(loaded.root), data, chosen, name, folder, overwrite, source_format, video)
        if validate_only:
            code = _validate_only(spec, settings, loaded)
        else:
            stats = _run_with_progress(spec, settings, loaded)
    if validate_only:
        out.print(f"rejects:  {where(storage, settings, reports + '/validation-rejects.csv')}")
        raise typer.Exit(code=code)
    place = where(storage, settings, f"{loaded.name}/{name}")
    _print_summary(stats, name, place, where(storage, settings, reports))
    storage.close()
    if stats.failed or (stats.rendered == 0 and stats.skipped_done == 0 and stats.rows):
        raise typer.Exit(code=1)  # rejected rows are data problems; failed renders are ours


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


def _source_format(delimiter: str | None, encoding: str | None) -> SourceFormat:
    try:
        return SourceFormat(delimiter, encoding)
    except ValueError as exc:
        console.print(f"[bold red]error:[/] {exc}", highlight=False)
        raise typer.Exit(code=2) from None


def _check_video(video: str, outputs: tuple[str, ...]) -> None:
    """Exit 2 (a usage error) when ``--video on-play`` is asked without the video output."""
    try:
        stored_video_mode(video, outputs)
    except TailorError as exc:
        console.print(f"[bold red]error:[/] {exc} (--video, --outputs)", highlight=False)
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


def _run_with_progress(spec: CampaignSpec, settings: Settings, template: Template) -> CampaignStats:
    """Run the campaign of the loaded `template` under a Rich progress bar; its final counts."""
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
            f"{template.name}/{spec.campaign}", total=None, rows=0, done=0, rejected=0, failed=0, rate=0.0
        )
        try:
            stats = run_campaign(spec, settings, _progress_printer(progress, task), template)
        except TailorError as exc:
            raise fail(exc) from None
        _progress_printer(progress, task)(stats)
    return stats


def _validate_only(spec: CampaignSpec, settings: Settings, template: Template) -> int:
    """Validate the file, print its counts and where rejects.csv is; 1 when any row is rejected."""
    console.print(f"validating {spec.data} against {Path(spec.template).name} (nothing is rendered)")
    try:
        stats = validate_campaign(spec, settings, template)
    except TailorError as exc:
        raise fail(exc) from None
    out.print(
        f"{stats.rows} rows: {stats.valid} valid, {stats.rejected} rejected "
        f"({stats.duplicates} duplicate recipient ids) in {stats.elapsed:.1f} s "
        f"({stats.rows / max(stats.elapsed, 1e-9):.0f} rows/s)"
    )
    return 1 if stats.rejected else 0
