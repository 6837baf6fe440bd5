"""What every command shares: the consoles, reading `Settings`, failing with one clear line, and
where the CLI writes (the storage behind ``--out``: a folder or ``s3://bucket/prefix``), how it
names a stored object to a person, and a local folder for a campaign's reports.

Reports (``manifest.jsonl``, ``rejects.csv``) are written to a local file first: on a folder
that file is the object itself; on S3 they go to a temporary folder and are uploaded under the
campaign's ``_campaign/`` keys when the run ends.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from renderer.errors import StorageError, TailorError
from renderer.logs import configure_logging
from renderer.outputs.images import limit_image_size
from renderer.outputs.load import load_template
from renderer.outputs.template import Template
from renderer.settings import Settings, load_settings
from renderer.storage import LocalStorage, Storage, open_storage

console = Console(stderr=True, soft_wrap=True)  # messages, errors, progress
out = Console(soft_wrap=True)  # results: tables, paths, a new API key

OutputsOpt = Annotated[str, typer.Option("--outputs", help="Comma-separated: microsite,pdf")]
OutOpt = Annotated[
    str | None,
    typer.Option(
        "--out", help="Output folder or s3://bucket/prefix (default: TAILOR_STORAGE_URL, else ./out)"
    ),
]


def cli_settings(**overrides: Any) -> Settings:
    """The settings (environment, ``.env``) with the command's options on top; applies the image
    size limit and the logging they ask for."""
    settings = load_settings(**overrides)
    limit_image_size(settings.max_image_pixels)
    configure_logging(settings.log_format, settings.log_level)
    return settings


def fail(exc: TailorError) -> typer.Exit:
    """Print `exc` as one error line; the exit (status 1) for the caller to raise."""
    console.print(f"[bold red]error:[/] {exc}", highlight=False, markup=True)
    return typer.Exit(code=1)


def load_or_exit(template: str, settings: Settings) -> Template:
    """The template by name or folder; exits 1 with the error when it cannot be loaded."""
    try:
        return load_template(template, settings)
    except TailorError as exc:
        raise fail(exc) from None


def output_or_exit(settings: Settings) -> Storage:
    """`open_output`; exits 2 (a usage error) when ``--out`` names no storage the CLI can use."""
    try:
        return open_output(settings)
    except TailorError as exc:
        console.print(f"[bold red]error:[/] {exc}", highlight=False)
        raise typer.Exit(code=2) from None


def open_output(settings: Settings) -> Storage:
    """The storage `settings.storage_url` names; StorageError for a URL the CLI cannot keep
    outputs in (``memory://`` vanishes with the process, unknown schemes)."""
    if settings.storage_url == "memory://":
        raise StorageError("the CLI needs a folder or s3:// storage for --out, not memory://")
    return open_storage(settings.storage_url, settings)


def where(storage: Storage, settings: Settings, key: str) -> str:
    """A stored object as a person finds it: a file path on a folder, else ``s3://bucket/prefix/key``."""
    if isinstance(storage, LocalStorage):
        return str(storage.path(key))
    return f"{settings.storage_url.rstrip('/')}/{key}"


@contextmanager
def report_dir(storage: Storage, prefix: str) -> Iterator[Path]:
    """The local folder a campaign's reports are written to: the folder of `prefix` on local
    storage; else a temporary folder whose files are stored under `prefix` when the block ends
    without an error (and removed either way)."""
    if isinstance(storage, LocalStorage):
        yield storage.path(prefix)
        return
    with tempfile.TemporaryDirectory(prefix="tailor-reports-") as scratch:
        yield Path(scratch)
        for path in sorted(Path(scratch).iterdir()):
            upload(storage, f"{prefix}/{path.name}", path)


def upload(storage: Storage, key: str, path: Path) -> None:
    """Store the file at `path` under `key`, streamed from disk where the backend can."""
    content_type = "text/csv; charset=utf-8" if path.suffix == ".csv" else "application/x-ndjson"
    put_file = getattr(storage, "put_file", None)
    if callable(put_file):
        put_file(key, path, content_type)
    else:
        storage.put(key, path.read_bytes(), content_type)
