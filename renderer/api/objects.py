"""Serve one stored object over HTTP: local files streamed with Range support, S3 objects streamed
in chunks (one ``bytes=`` range passed through, so video seeks), anything else read whole.

S3 objects are streamed rather than redirected to presigned URLs because the stored pages carry a
Content-Security-Policy of ``'self'`` for media and images: a redirect to the bucket's host
would be blocked by the browser.
"""

from __future__ import annotations

import mimetypes
import re
from pathlib import PurePosixPath
from typing import Any

from fastapi import Request
from fastapi.responses import FileResponse, Response, StreamingResponse
from starlette.background import BackgroundTask

from renderer.api.errors import ApiError
from renderer.storage import LocalStorage
from renderer.storage.base import Storage

MEDIA_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".vtt": "text/vtt; charset=utf-8",
    ".m3u8": "application/vnd.apple.mpegurl",
    ".m4s": "video/iso.segment",
    ".mp4": "video/mp4",
    ".pdf": "application/pdf",
    ".jpg": "image/jpeg",
    ".png": "image/png",
    ".svg": "image/svg+xml",
    ".woff2": "font/woff2",
    ".json": "application/json",
}
_ONE_RANGE = re.compile(r"^bytes=(\d+-\d*|-\d+)$")


def media_type(key: str) -> str:
    """The Content-Type of a stored file, from its name."""
    suffix = PurePosixPath(key).suffix.lower()
    return MEDIA_TYPES.get(suffix) or mimetypes.guess_type(key)[0] or "application/octet-stream"


def _missing() -> ApiError:
    return ApiError(404, "not_found", "no such file")


def serve_object(storage: Storage, key: str, request: Request, headers: dict[str, str]) -> Response:
    """The response for `key` (an already authorised key); ApiError 404 when nothing is stored."""
    if isinstance(storage, LocalStorage):
        path = storage.path(key)
        if not path.is_file():
            raise _missing()
        return FileResponse(path, media_type=media_type(key), headers=headers)
    if not storage.exists(key):
        raise _missing()
    stream = getattr(storage, "stream", None)
    if callable(stream):
        return _streamed(stream, key, request.headers.get("range"), headers)
    return Response(storage.get(key), media_type=media_type(key), headers=headers)


def _streamed(stream: Any, key: str, byte_range: str | None, headers: dict[str, str]) -> Response:
    wanted = byte_range.strip() if byte_range and _ONE_RANGE.match(byte_range.strip()) else None
    try:
        opened = stream(key, wanted)
    except ValueError:
        raise ApiError(416, "range_not_satisfiable", "the requested range is outside the file") from None
    answer = {**headers, "Accept-Ranges": "bytes", "Content-Length": str(opened.length)}
    if opened.content_range:
        answer["Content-Range"] = opened.content_range
    return StreamingResponse(
        opened.chunks,
        status_code=206 if opened.content_range else 200,
        media_type=media_type(key),
        headers=answer,
        background=BackgroundTask(opened.close),
    )
