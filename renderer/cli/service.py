"""The service's commands, a Typer app the root merges at the top level: serve, worker, purge, api-key.

``tailor serve`` runs the HTTP API (uvicorn), ``tailor worker`` a Celery worker for campaigns and
API renders (needs ``TAILOR_BROKER_URL``), ``tailor purge`` applies the templates' retention,
``tailor api-key create NAME`` prints a new API key once, ``tailor api-key list`` shows every key
(never a secret) and ``tailor api-key revoke ID`` ends one.
"""

from __future__ import annotations

import os
import signal
from typing import Annotated

import typer

from renderer.cli.common import cli_settings, console, fail, out
from renderer.errors import TailorError
from renderer.logs import configure_logging
from renderer.outputs.load import load_template
from renderer.settings import Settings, served_url
from renderer.template.paths import MANIFEST

app = typer.Typer()
keys = typer.Typer(help="Manage API keys (stored hashed; a key is shown once).", no_args_is_help=True)
app.add_typer(keys, name="api-key")


def _exit_on_sigterm(signum: int, frame: object) -> None:
    """A normal interpreter exit (status 143) for SIGTERM: atexit handlers and finalizers run."""
    raise SystemExit(128 + signum)


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port")] = 8000,
    workers: Annotated[int, typer.Option("--http-workers", help="uvicorn worker processes")] = 1,
) -> None:
    """Run the HTTP API (OpenAPI docs at /docs). Without TAILOR_PUBLIC_URL, the links it hands out
    (``page_url``, ``status_url``) point at the host and port it binds."""
    import uvicorn

    settings = cli_settings()  # fail early on a bad environment
    if "public_url" not in settings.model_fields_set:
        # the app factory (in every uvicorn worker process) reads the environment
        os.environ["TAILOR_PUBLIC_URL"] = served_url(host, port)
    # uvicorn re-raises the SIGTERM it shut down for once it is done; with the default handler
    # that kills the process before atexit runs (multiprocessing's pymp-* folder stays behind)
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    uvicorn.run(  # our logging (TAILOR_LOG_FORMAT); the access line is the app's (request_id.py)
        "renderer.api:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_config=None,
        access_log=False,
    )


@app.command()
def worker(
    concurrency: Annotated[
        int | None, typer.Option(help="Render processes (default: CPU count)", min=1)
    ] = None,
    loglevel: Annotated[str, typer.Option(help="Celery log level")] = "INFO",
    on_play_only: Annotated[
        bool, typer.Option(help="Only render segments players wait for (keeps them fast during campaigns)")
    ] = False,
) -> None:
    """Run a Celery worker that renders on-play segments first, then campaign chunks and API renders."""
    settings = cli_settings()
    if not settings.broker_url:
        console.print(
            "[bold red]error:[/] set TAILOR_BROKER_URL (e.g. redis://localhost:6379/0) to run workers"
        )
        raise typer.Exit(code=2)
    configure_logging(settings.log_format, settings.log_level)  # again: worker_main keeps root
    from renderer.jobs.celery_app import ONPLAY_QUEUE, QUEUE
    from renderer.jobs.celery_app import app as celery

    processes = concurrency or len(os.sched_getaffinity(0))
    queues = ONPLAY_QUEUE if on_play_only else f"{ONPLAY_QUEUE},{QUEUE}"  # polled in this order
    celery.worker_main(
        ["worker", f"--concurrency={processes}", f"--loglevel={loglevel}", "-Q", queues, "--without-gossip"]
    )


@app.command()
def purge(
    storage_url: Annotated[
        str | None,
        typer.Option("--out", help="Storage: a folder or s3://bucket/prefix (default: TAILOR_STORAGE_URL)"),
    ] = None,
) -> None:
    """Delete campaigns and render jobs older than their template's retention_days, outputs, events
    form submissions and decisions included, engagement events older than
    TAILOR_EVENT_RETENTION_DAYS and trigger exposures older than TAILOR_EXPOSURE_RETENTION_DAYS
    (what the API service does by itself every hour)."""
    from renderer.jobs.retention import Purged, purge_retention
    from renderer.jobs.store import open_store
    from renderer.storage import open_storage

    settings = cli_settings(storage_url=storage_url)
    policy = _retention_policy(settings)
    if not policy:
        out.print("no template sets retention_days: only engagement events past their retention go")
    store, storage = open_store(settings.database_url), open_storage(settings.storage_url, settings)
    total = Purged(more=True)
    try:
        while total.more:
            total += purge_retention(
                store,
                storage,
                policy,
                event_retention_days=settings.event_retention_days,
                exposure_retention_days=settings.exposure_retention_days,
            )
    except TailorError as exc:
        raise fail(exc) from None
    finally:
        store.close()
        storage.close()
    out.print(
        f"purged {total.campaigns} campaigns, {total.rows} campaign rows, {total.render_jobs} render jobs, "
        f"{total.objects} stored objects, {total.events} engagement events, "
        f"{total.form_submissions} form submissions, {total.decisions} decisions and "
        f"{total.exposures} trigger exposures"
    )


def _retention_policy(settings: Settings) -> dict[str, int]:
    """Template name -> retention_days for each template under templates_dir that sets it."""
    policy = {}
    root = settings.templates_dir
    for folder in sorted(root.iterdir()) if root.is_dir() else []:
        if not (folder / MANIFEST).is_file():
            continue
        try:
            days = load_template(folder, settings).manifest.retention_days
        except TailorError as exc:
            console.print(f"[yellow]skipped:[/] {exc}")  # its outputs are kept
            continue
        if days:
            policy[folder.name] = days
    return policy


@keys.command("create")
def create_key(name: Annotated[str, typer.Argument(help="Who or what uses the key")]) -> None:
    """Create an API key and print it once (only its hash is stored)."""
    from renderer.jobs.store import open_store

    store = open_store(cli_settings().database_url)
    try:
        secret, record = store.keys.create(name)
    finally:
        store.close()
    console.print(f"created API key {record.id} for {name!r}; it is shown once:")
    out.print(secret)


@keys.command("list")
def list_keys() -> None:
    """List every API key: id, name, when created and revoked (secrets are never stored)."""
    from rich.table import Table

    from renderer.jobs.store import open_store

    store = open_store(cli_settings().database_url)
    try:
        records = store.keys.all()
    finally:
        store.close()
    table = Table("id", "name", "created", "revoked")
    for record in records:
        revoked = record.revoked_at.isoformat(timespec="seconds") if record.revoked_at else "-"
        table.add_row(record.id, record.name, record.created_at.isoformat(timespec="seconds"), revoked)
    out.print(table)


@keys.command("revoke")
def revoke(key_id: Annotated[str, typer.Argument(help="The key's id (from `tailor api-key list`)")]) -> None:
    """Revoke an API key for good: requests with it answer 401 from now on."""
    from renderer.api.keys import revoke_key

    if not revoke_key(cli_settings(), key_id):
        console.print(f"[bold red]error:[/] no active API key with id {key_id!r}", highlight=False)
        raise typer.Exit(code=1)
    console.print(f"revoked API key {key_id}")
