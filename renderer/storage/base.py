"""The storage Protocol every backend implements (local folder, memory, S3)."""

from __future__ import annotations

from typing import Protocol, runtime_checkable


@runtime_checkable
class Storage(Protocol):
    """Object storage keyed by relative paths (see `keys.py`). Writes are atomic per key."""

    def put(self, key: str, data: bytes, content_type: str = "application/octet-stream") -> None:
        """Store `data` under `key`, replacing any previous object atomically."""
        ...

    def put_if_absent(self, key: str, data: bytes, content_type: str = "application/octet-stream") -> bool:
        """Store `data` only if `key` does not exist yet; True when this call wrote it."""
        ...

    def get(self, key: str) -> bytes:
        """The object's bytes; raises StorageError naming the key when it does not exist."""
        ...

    def exists(self, key: str) -> bool:
        """Whether an object is stored under `key`."""
        ...

    def url(self, key: str) -> str:
        """A URL (file:// for local storage) where the object can be read."""
        ...

    def delete(self, key: str) -> None:
        """Remove the object if present; deleting a missing key is not an error."""
        ...

    def close(self) -> None:
        """Release connections or handles."""
        ...
