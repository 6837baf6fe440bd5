"""Object storage: a small Protocol, a local folder backend (default) and an in-memory double."""

from __future__ import annotations

from pathlib import Path

from renderer.errors import StorageError
from renderer.storage.base import Storage
from renderer.storage.local import LocalStorage
from renderer.storage.memory import MemoryStorage

__all__ = ["LocalStorage", "MemoryStorage", "Storage", "open_storage"]


def open_storage(url: str) -> Storage:
    """Open storage from a URL: a folder path, ``file:///abs/path`` or ``memory://``."""
    if url == "memory://":
        return MemoryStorage()
    if url.startswith("file://"):
        return LocalStorage(Path(url.removeprefix("file://")))
    if "://" in url:
        scheme = url.split("://", 1)[0]
        raise StorageError(f"storage URL scheme {scheme!r} is not supported (use a folder or file://)")
    return LocalStorage(Path(url))
