"""Where the CLI writes: the storage behind ``--out`` (a folder or ``s3://bucket/prefix``), how it
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

from renderer.errors import StorageError
from renderer.settings import Settings
from renderer.storage import LocalStorage, Storage, open_storage


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
