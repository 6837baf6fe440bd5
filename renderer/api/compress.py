"""Gzip for the text files of recipients' pages (HTML, scripts, styles, tracks), so the
interactive page (page, player, hls.js) reaches the browser small.

Static files are content-hashed and immutable, so their compressed bytes are kept in a small
in-process cache by key; a recipient's own page is compressed on each request (it is small).
Media (MP4, TS, JPEG, PDF) is never compressed: it is compressed already, and video must keep
its byte ranges; a ranged request gets the plain bytes.

A gzip answer carries its own strong ETag (``"<sha1 of the gzip bytes>-gz"``, never the plain
file's) and answers ``304`` to an ``If-None-Match`` naming it; a ``HEAD`` gets the headers a
``GET`` would (Content-Length of the gzip bytes, ETag) and no body.
"""

from __future__ import annotations

import gzip
import hashlib
import re
import threading
from collections import OrderedDict
from collections.abc import Callable
from pathlib import PurePosixPath

from fastapi import Request
from fastapi.responses import Response

from renderer.api.objects import media_type
from renderer.storage.base import Storage

COMPRESSIBLE = frozenset({".html", ".js", ".css", ".svg", ".vtt", ".json", ".m3u8"})
_CACHE_BYTES = 8 * 1024 * 1024  # compressed static files kept per process
_MIN_BYTES = 1024  # smaller files are sent as they are


class _GzipCache:
    """Compressed bytes by key, least recently used dropped first, under a byte budget."""

    def __init__(self, budget: int) -> None:
        self.budget = budget
        self._items: OrderedDict[str, bytes] = OrderedDict()
        self._size = 0
        self._lock = threading.Lock()

    def get_or_make(self, key: str, make: Callable[[], bytes]) -> bytes:
        """The cached bytes of `key`, made (outside the lock) and kept when missing."""
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
        data: bytes = make()
        with self._lock:
            if key not in self._items and len(data) <= self.budget:
                self._items[key] = data
                self._size += len(data)
                while self._size > self.budget:
                    _, dropped = self._items.popitem(last=False)
                    self._size -= len(dropped)
        return data


_STATIC = _GzipCache(_CACHE_BYTES)


_QVALUE = re.compile(r"^[01](?:\.[0-9]{0,3})?$")


def _weights(header: str) -> dict[str, float]:
    """Each coding of an Accept-Encoding header (lower case) and its q (1 when not given; a
    malformed q refuses the coding; a coding named twice keeps its highest q)."""
    weights: dict[str, float] = {}
    for part in header.split(","):
        name, *params = (piece.strip() for piece in part.split(";"))
        if not name:
            continue
        q = 1.0
        for param in params:
            key, _, value = param.partition("=")
            if key.strip().lower() == "q":
                value = value.strip()
                q = min(float(value), 1.0) if _QVALUE.match(value) else 0.0
        name = "gzip" if name.lower() == "x-gzip" else name.lower()
        weights[name] = max(q, weights.get(name, 0.0))
    return weights


def accepts_gzip(request: Request) -> bool:
    """Whether the request's Accept-Encoding allows gzip: an explicit ``gzip`` entry decides (its
    q above 0), else ``*`` does; q is read as a number, names and ``q`` in any case."""
    weights = _weights(request.headers.get("accept-encoding", ""))
    q = weights.get("gzip", weights.get("*", 0.0))
    return q > 0


def _etag_matches(request: Request, etag: str) -> bool:
    """Whether If-None-Match names `etag` (weak comparison, as RFC 9110 asks) or is ``*``."""
    wanted = request.headers.get("if-none-match")
    if wanted is None:
        return False
    tags = {tag.strip().removeprefix("W/") for tag in wanted.split(",")}
    return "*" in tags or etag in tags


def gzipped_response(
    storage: Storage, key: str, request: Request, headers: dict[str, str], *, immutable: bool
) -> Response | None:
    """The gzip-encoded answer for a compressible `key` the client accepts gzip for; None when
    the plain answer should be sent instead (media, a small file, a client without gzip, a
    ranged request). `immutable` keys (content-hashed static files) are compressed once. The
    answer has the gzip bytes' ETag; ``304`` when If-None-Match names it; no body for HEAD."""
    if PurePosixPath(key).suffix.lower() not in COMPRESSIBLE or request.headers.get("range"):
        return None
    if not accepts_gzip(request) or not storage.exists(key):
        return None

    def make() -> bytes:
        return gzip.compress(storage.get(key), compresslevel=6, mtime=0)

    data = _STATIC.get_or_make(key, make) if immutable else make()
    if len(data) < _MIN_BYTES:
        return None
    etag = f'"{hashlib.sha1(data, usedforsecurity=False).hexdigest()}-gz"'
    answer = {**headers, "Content-Encoding": "gzip", "Vary": "Accept-Encoding", "ETag": etag}
    if _etag_matches(request, etag):
        del answer["Content-Encoding"]
        return Response(status_code=304, headers=answer)
    if request.method == "HEAD":
        return Response(media_type=media_type(key), headers={**answer, "Content-Length": str(len(data))})
    return Response(data, media_type=media_type(key), headers=answer)
