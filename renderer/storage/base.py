"""The storage Protocol every backend implements (local folder, memory, S3)."""

from __future__ import annotations

from collections.abc import Iterator
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
        """A URL where the object can be read: file:// for a folder, a presigned link for S3."""
        ...

    def delete(self, key: str) -> None:
        """Remove the object if present; deleting a missing key is not an error."""
        ...

    def keys(self, prefix: str = "") -> Iterator[str]:
        """Every stored key under the folder `prefix` (whole segments; "" = all), sorted.

        Keys are relative to the storage root, exactly as passed to `put`. Objects written or deleted
        while the iteration runs may or may not be seen.
        """
        ...

    def delete_prefix(self, prefix: str) -> int:
        """Remove every object under the folder `prefix` (e.g. one recipient); the number removed.

        `prefix` covers whole segments (``t/c/C-1`` never touches ``t/c/C-10``) and must not be empty.
        Afterwards `keys(prefix)` is empty unless another writer added objects meanwhile.
        """
        ...

    def close(self) -> None:
        """Release connections or handles."""
        ...
