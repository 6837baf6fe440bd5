"""Where an upload is written while it streams in, and how it lands in storage.

On a local folder the spool file already sits in its final folder under a temporary name
(``.tmp-…``, which listings skip) and is renamed into place: no copy. Elsewhere (S3) it is spooled
to a temp folder and uploaded from disk (multipart above 8 MiB), then removed; memory never holds
the file. Keys are ``_uploads/{uuid}/{safe file name}``; the suffix (.csv, .jsonl) is kept, since
it tells the reader the format.
"""

from __future__ import annotations

import contextlib
import shutil
import tempfile
import uuid
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from renderer.api.errors import ApiError
from renderer.errors import StorageError
from renderer.storage import LocalStorage
from renderer.storage.base import Storage
from renderer.storage.keys import safe_segment

SUFFIXES = (".csv", ".jsonl", ".ndjson")
UPLOAD_DIR = "_uploads"


@dataclass
class Upload:
    """A received file in a spool folder, its safe name, size, and the form's other fields."""

    folder: Path
    spool: Path
    filename: str
    key: str
    size: int = 0
    fields: dict[str, list[str]] = field(default_factory=dict)
    in_storage_root: bool = False

    def commit(self, storage: Storage) -> str:
        """Move the file into storage under `key`; returns the key."""
        if isinstance(storage, LocalStorage) and self.in_storage_root:
            self.spool.replace(storage.path(self.key))
            return self.key
        put_file = getattr(storage, "put_file", None)
        if callable(put_file):
            put_file(self.key, self.spool, _content_type(self.filename))
        else:  # an in-memory double: small by nature
            storage.put(self.key, self.spool.read_bytes(), _content_type(self.filename))
        self.discard()
        return self.key

    def discard(self) -> None:
        """Remove the spool file (and its folder, when empty or temporary)."""
        self.spool.unlink(missing_ok=True)
        if self.in_storage_root:
            with contextlib.suppress(OSError):
                self.folder.rmdir()
        else:
            shutil.rmtree(self.folder, ignore_errors=True)


def _content_type(filename: str) -> str:
    return "text/csv" if filename.lower().endswith(".csv") else "application/x-ndjson"


def safe_filename(raw: str) -> str:
    """The last path segment of a client's file name, as a safe key segment with its suffix."""
    name = raw.replace("\\", "/").rsplit("/", 1)[-1].strip()
    if PurePosixPath(name).suffix.lower() not in SUFFIXES:
        raise ApiError(415, "unsupported_file_type", "the file must be .csv or .jsonl", field="file")
    try:
        return safe_segment(name)
    except StorageError as exc:
        raise ApiError(
            422, "invalid_filename", str(exc).replace("recipient id", "file name"), field="file"
        ) from None


def spool_for(storage: Storage, filename: str) -> Upload:
    """A new upload of `filename` with its spool file's place (nothing is written yet)."""
    key = f"{UPLOAD_DIR}/{uuid.uuid4().hex}/{filename}"
    if isinstance(storage, LocalStorage):
        folder = storage.path(key).parent
        folder.mkdir(parents=True, exist_ok=True)
        return Upload(folder, folder / f".tmp-{filename}", filename, key, in_storage_root=True)
    folder = Path(tempfile.mkdtemp(prefix="tailor-upload-"))
    return Upload(folder, folder / filename, filename, key)
