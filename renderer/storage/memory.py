"""An in-memory storage double shipped with the package, for tests and previews."""

from __future__ import annotations

import threading
from collections.abc import Iterator

from renderer.errors import StorageError
from renderer.storage.keys import check_key, check_prefix, describe_key


class MemoryStorage:
    """A dict of key -> (bytes, content type), safe to share between threads."""

    def __init__(self) -> None:
        self.objects: dict[str, tuple[bytes, str]] = {}
        self._lock = threading.Lock()

    def put(self, key: str, data: bytes, content_type: str = "application/octet-stream") -> None:
        """Store `data` under `key`."""
        with self._lock:
            self.objects[check_key(key)] = (bytes(data), content_type)

    def put_if_absent(self, key: str, data: bytes, content_type: str = "application/octet-stream") -> bool:
        """Store only if absent; True when written."""
        with self._lock:
            if check_key(key) in self.objects:
                return False
            self.objects[key] = (bytes(data), content_type)
            return True

    def get(self, key: str) -> bytes:
        """The bytes at `key`; StorageError when missing."""
        try:
            return self.objects[check_key(key)][0]
        except KeyError:
            raise StorageError(f"no object at key {describe_key(key)!r}") from None

    def exists(self, key: str) -> bool:
        """Whether `key` holds an object."""
        return check_key(key) in self.objects

    def url(self, key: str) -> str:
        """A memory:// pseudo-URL naming the key."""
        return f"memory://{check_key(key)}"

    def delete(self, key: str) -> None:
        """Remove `key` if present."""
        with self._lock:
            self.objects.pop(check_key(key), None)

    def keys(self, prefix: str = "") -> Iterator[str]:
        """Every stored key under the folder `prefix`, sorted (a snapshot taken on the first step)."""
        folder = check_prefix(prefix)
        with self._lock:
            found = sorted(key for key in self.objects if key.startswith(folder))
        yield from found

    def delete_prefix(self, prefix: str) -> int:
        """Remove every object under the folder `prefix`; the count removed."""
        folder = check_prefix(prefix)
        if not folder:
            raise StorageError("delete_prefix needs a non-empty prefix")
        with self._lock:
            doomed = [key for key in self.objects if key.startswith(folder)]
            for key in doomed:
                del self.objects[key]
        return len(doomed)

    def close(self) -> None:
        """Nothing to release."""
