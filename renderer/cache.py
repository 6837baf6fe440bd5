"""Pure cache keys: renderer version + resolved inputs + asset digests + encode settings.

A key changes whenever anything that changes the output's bytes changes, and only then, so
identical scenes across recipients and campaigns share one encoded segment.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

RENDERER_VERSION = "video-2"
SEGMENT_PREFIX = "cache/segments"


def content_key(*parts: Any) -> str:
    """A SHA-256 hex digest of JSON-serialised parts (keys sorted, compact)."""
    blob = json.dumps([RENDERER_VERSION, *parts], sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def segment_cache_key(scene: dict[str, Any], frames: int, encode: dict[str, Any]) -> str:
    """The storage key of an encoded scene segment: ``cache/segments/<sha256>.mp4``."""
    return f"{SEGMENT_PREFIX}/{content_key(scene, frames, encode)}.mp4"
