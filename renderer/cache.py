"""Cache keys (pure): renderer version + resolved inputs + asset digests + encode settings.

A key changes whenever anything that changes the output's bytes changes, and only then, so
identical scenes across recipients and campaigns share one encoded segment. A cached object may
vanish at any time (erasing a recipient deletes the personal ones, `read_cached`): whoever uses
one builds it again on a miss, and nothing relies on a key staying present once it was seen.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from renderer.errors import StorageError
from renderer.storage.base import Storage

RENDERER_VERSION = "video-3"
SEGMENT_PREFIX = "cache/segments"


def content_key(*parts: Any) -> str:
    """A SHA-256 hex digest of JSON-serialised parts (keys sorted, compact)."""
    blob = json.dumps([RENDERER_VERSION, *parts], sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def segment_cache_key(scene: dict[str, Any], frames: int, encode: dict[str, Any]) -> str:
    """The storage key of an encoded scene segment (a CMAF media segment decoding from 0):
    ``cache/segments/<sha256>.m4s``."""
    return f"{SEGMENT_PREFIX}/{content_key(scene, frames, encode)}.m4s"


def init_cache_key(track: str, params: dict[str, Any]) -> str:
    """The storage key of the init segment shared by every segment of `track` (``video``,
    ``audio``) encoded with `params`: ``cache/segments/init-<sha256>.mp4``."""
    return f"{SEGMENT_PREFIX}/init-{content_key(track, params)}.mp4"


def read_cached(storage: Storage, key: str) -> bytes | None:
    """The bytes cached under `key`, or None when there are none (never cached, or deleted since
    it was looked up). A storage that fails for another reason still raises StorageError."""
    try:
        return storage.get(key)
    except StorageError:
        if storage.exists(key):
            raise
        return None
