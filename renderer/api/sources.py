"""Where a campaign's data comes from: an upload (`from_upload`, checked before the campaign
starts) or a file already in the configured storage (`from_json`: ``s3://bucket/key`` or a key).

An uploaded CSV's header is read at once, so a missing required column answers ``422`` with
row 1 instead of a campaign that fails later. ``file://`` paths are refused: the API never reads
the server's own files on a client's say-so.
"""

from __future__ import annotations

import json
from pathlib import Path, PurePosixPath
from urllib.parse import urlsplit

from fastapi import Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError

from renderer.api.errors import ApiError
from renderer.api.links import is_remote
from renderer.api.middleware import JSON_LIMIT
from renderer.api.models import CampaignCreate
from renderer.api.output_choice import choose_outputs, choose_video_mode
from renderer.api.spool import SUFFIXES
from renderer.api.state import ApiState
from renderer.api.uploads import receive_upload
from renderer.data.dialect import SourceFormat
from renderer.data.sources import RecipientSource
from renderer.errors import SourceError, StorageError
from renderer.outputs.template import Template
from renderer.storage.base import Storage
from renderer.storage.keys import check_key

# template, outputs, source key, uploaded key, how the file is written, video mode (None: eager)
Source = tuple[Template, list[str], str, str | None, SourceFormat, str | None]


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


def check_header(
    template: Template, path: Path, filename: str, source_format: SourceFormat | None = None
) -> None:
    """Read the file's header; SourceError (row 1) when it is unreadable, looks written with
    another delimiter or encoding than `source_format`'s, or lacks required columns."""
    try:
        with RecipientSource(path, source_format) as source:
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


async def from_upload(request: Request, state: ApiState) -> Source:
    """A multipart upload streamed into storage once its template, outputs, video mode and header
    check out."""
    storage = state.storage()
    upload = await receive_upload(request, storage, state.settings.max_upload_bytes)
    try:
        name = (upload.fields.get("template") or [""])[0].strip()
        if not name:
            raise ApiError(422, "invalid_request", "the template field is required", field="template")
        template = await run_in_threadpool(state.template, name)
        outputs = choose_outputs(template, parse_outputs(upload.fields.get("outputs")))
        video_mode = choose_video_mode((upload.fields.get("video") or [""])[0].strip(), outputs)
        source_format = form_format(upload.fields)
        await run_in_threadpool(check_header, template, upload.spool, upload.filename, source_format)
        key = await run_in_threadpool(upload.commit, storage)
    except BaseException:
        upload.discard()
        raise
    return template, outputs, key, key, source_format, video_mode


def form_format(fields: dict[str, list[str]]) -> SourceFormat:
    """The form fields ``delimiter`` and ``encoding`` (absent or empty: a comma, UTF-8);
    ApiError 422 naming the field when one is not usable."""
    values = {name: (fields.get(name) or [""])[0] or None for name in ("delimiter", "encoding")}
    try:
        SourceFormat(delimiter=values["delimiter"])
    except ValueError as exc:
        raise ApiError(422, "invalid_delimiter", str(exc), field="delimiter") from None
    try:
        return SourceFormat(**values)
    except ValueError as exc:
        raise ApiError(422, "invalid_encoding", str(exc), field="encoding") from None


async def from_json(request: Request, state: ApiState) -> Source:
    """A JSON body naming a data file already in storage."""
    raw = bytearray()
    async for chunk in request.stream():
        raw.extend(chunk)
        if len(raw) > JSON_LIMIT:
            raise ApiError(413, "payload_too_large", f"a JSON body holds at most {JSON_LIMIT} bytes")
    try:
        body = CampaignCreate.model_validate_json(bytes(raw))
    except ValidationError as exc:
        raise RequestValidationError(exc.errors(include_input=False, include_url=False)) from None
    template = await run_in_threadpool(state.template, body.template)
    outputs = choose_outputs(template, body.outputs)
    video_mode = choose_video_mode(body.video, outputs)
    key = await run_in_threadpool(stored_source, state.storage(), body.source)
    return template, outputs, key, None, SourceFormat(), video_mode
