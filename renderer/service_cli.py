"""The service's commands, registered on the same Typer app: serve, worker, api-key.

``tailor serve`` runs the HTTP API (uvicorn), ``tailor worker`` a Celery worker for campaigns and
API renders (needs ``TAILOR_BROKER_URL``), ``tailor api-key create NAME`` prints a new API key once.
"""

from __future__ import annotations

import os
import signal
from typing import Annotated

import typer

from renderer.cli import _settings, app, console, out
from renderer.logs import configure_logging

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
    """Run the HTTP API (OpenAPI docs at /docs)."""
    import uvicorn

    _settings()  # fail early on a bad environment
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
) -> None:
    """Run a Celery worker that renders campaign chunks and API renders."""
    settings = _settings()
    if not settings.broker_url:
        console.print(
            "[bold red]error:[/] set TAILOR_BROKER_URL (e.g. redis://localhost:6379/0) to run workers"
        )
        raise typer.Exit(code=2)
    configure_logging(settings.log_format, settings.log_level)  # again: worker_main keeps root
    from renderer.jobs.celery_app import QUEUE
    from renderer.jobs.celery_app import app as celery

    processes = concurrency or len(os.sched_getaffinity(0))
    celery.worker_main(
        ["worker", f"--concurrency={processes}", f"--loglevel={loglevel}", "-Q", QUEUE, "--without-gossip"]
    )


@keys.command("create")
def create_key(name: Annotated[str, typer.Argument(help="Who or what uses the key")]) -> None:
    """Create an API key and print it once (only its hash is stored)."""
    from renderer.jobs.store import open_store

    store = open_store(_settings().database_url)
    try:
        secret, record = store.create_api_key(name)
    finally:
        store.close()
    console.print(f"created API key {record.id} for {name!r}; it is shown once:")
    out.print(secret)
