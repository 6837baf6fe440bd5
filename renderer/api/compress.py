"""Gzip for the text files of recipients' pages (HTML, scripts, styles, tracks), so the
interactive page (page, player, hls.js) reaches the browser small.

Static files are content-hashed and immutable, so their compressed bytes are kept in a small
in-process cache by key; a recipient's own page is compressed on each request (it is small).
Media (MP4, TS, JPEG, PDF) is never compressed: it is compressed already, and video must keep
its byte ranges.
"""

from __future__ import annotations

import gzip
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


def accepts_gzip(request: Request) -> bool:
    """Whether the request's Accept-Encoding allows gzip (and does not refuse it with q=0)."""
    for part in request.headers.get("accept-encoding", "").split(","):
        name, _, params = part.strip().partition(";")
        if name.strip().lower() in ("gzip", "*"):
            return params.replace(" ", "") not in ("q=0", "q=0.0", "q=0.00", "q=0.000")
    return False


def gzipped_response(
    storage: Storage, key: str, request: Request, headers: dict[str, str], *, immutable: bool
) -> Response | None:
    """The gzip-encoded answer for a compressible `key` the client accepts gzip for; None when
    the plain answer should be sent instead (media, a small file, a client without gzip, a
    ranged request). `immutable` keys (content-hashed static files) are compressed once."""
    if PurePosixPath(key).suffix.lower() not in COMPRESSIBLE or request.headers.get("range"):
        return None
    if not accepts_gzip(request) or not storage.exists(key):
        return None

    def make() -> bytes:
        return gzip.compress(storage.get(key), compresslevel=6, mtime=0)

    data = _STATIC.get_or_make(key, make) if immutable else make()
    if len(data) < _MIN_BYTES:
        return None
    answer = {**headers, "Content-Encoding": "gzip", "Vary": "Accept-Encoding"}
    return Response(data, media_type=media_type(key), headers=answer)
