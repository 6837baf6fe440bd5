"""Where a campaign's data comes from: an upload (checked before the campaign starts) or a file
already in the configured storage (``s3://bucket/key`` or a storage key).

An uploaded CSV's header is read at once, so a missing required column answers ``422`` with
row 1 instead of a campaign that fails later. ``file://`` paths are refused: the API never reads
the server's own files on a client's say-so.
"""

from __future__ import annotations

import json
from pathlib import Path, PurePosixPath
from urllib.parse import urlsplit

from renderer.api.errors import ApiError
from renderer.api.links import is_remote
from renderer.api.uploads import SUFFIXES
from renderer.data.sources import RecipientSource
from renderer.errors import SourceError, StorageError
from renderer.storage.base import Storage
from renderer.storage.keys import check_key
from renderer.template.load import Template


def parse_outputs(values: list[str] | None) -> list[str] | None:
    """Form values of ``outputs``: repeated fields, ``a,b`` or a JSON array; None when absent."""
    if not values:
        return None
    found: list[str] = []
    for value in values:
        text = value.strip()
        if text.startswith("["):
            try:
                items = json.loads(text)
            except json.JSONDecodeError:
                items = None
            if not isinstance(items, list):
                raise ApiError(422, "invalid_outputs", "outputs is not a valid JSON list", field="outputs")
            found.extend(str(item) for item in items)
        else:
            found.extend(part.strip() for part in text.split(",") if part.strip())
    return found


def check_header(template: Template, path: Path, filename: str) -> None:
    """Read the file's header; SourceError (row 1) when it is unreadable or lacks required columns."""
    try:
        with RecipientSource(path) as source:
            columns = source.read_header()
    except SourceError as exc:
        message = str(exc).replace(str(path), filename)
        raise SourceError(message.split(": ", 1)[-1], file=filename, row=exc.row) from None
    fields = template.manifest.contract.fields
    missing = [name for name, spec in fields.items() if spec.required and columns and name not in columns]
    if missing:
        raise SourceError(f"missing required columns: {', '.join(missing)}", file=filename, row=1)


def stored_source(storage: Storage, source: str) -> str:
    """The storage key a JSON body's `source` names; ApiError 422 when it is not a stored data file."""
    key = source
    if source.startswith("s3://"):
        key = _bucket_key(storage, source)
    elif "://" in source:
        raise ApiError(
            422, "invalid_source", "source must be s3://bucket/key or a storage key", field="source"
        )
    try:
        check_key(key)
    except StorageError:
        raise ApiError(422, "invalid_source", "source is not a valid storage key", field="source") from None
    if PurePosixPath(key).suffix.lower() not in SUFFIXES:
        raise ApiError(422, "invalid_source", "source must be a .csv or .jsonl file", field="source")
    if not storage.exists(key):
        raise ApiError(422, "source_not_found", "no file is stored at source", field="source")
    return key


def _bucket_key(storage: Storage, source: str) -> str:
    bucket = getattr(storage, "bucket", None)
    root = str(getattr(storage, "root", ""))
    if not is_remote(storage) or bucket is None:
        raise ApiError(
            422, "invalid_source", "this server has no S3 storage: upload the file", field="source"
        )
    parts = urlsplit(source)
    name = parts.path.lstrip("/")
    if parts.netloc != bucket or not name.startswith(root):
        where = f"s3://{bucket}/{root}"
        raise ApiError(
            422, "invalid_source", f"source must be in the configured storage, {where}", field="source"
        )
    return name[len(root) :]
