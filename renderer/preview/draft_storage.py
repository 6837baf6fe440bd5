"""Where the studio's drafts write: in memory first, so the personal segments and narrations of
data typed into the editor never reach the shared scene cache (nobody's erasure would ever find
them there); after each draft `settle` moves everything else (shared scenes, init segments) into
the real storage, where later drafts and sessions find it."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterable, Iterator

from renderer.errors import StorageError
from renderer.storage.base import Storage
from renderer.storage.keys import check_key, check_prefix, describe_key

PERSONAL_BUDGET_BYTES = 256 * 1024 * 1024  # the oldest personal drafts are dropped (re-encoded if asked)


class DraftStorage:
    """A `Storage` over `base`: writes are held in memory (by key, oldest first), reads look in
    memory and then in `base`. Deletions reach both. Thread-safe."""

    def __init__(self, base: Storage, budget_bytes: int = PERSONAL_BUDGET_BYTES) -> None:
        self.base = base
        self._held: OrderedDict[str, tuple[bytes, str]] = OrderedDict()
        self._budget = budget_bytes
        self._lock = threading.Lock()

    def put(self, key: str, data: bytes, content_type: str = "application/octet-stream") -> None:
        """Hold `data` under `key` in memory."""
        with self._lock:
            self._held[check_key(key)] = (bytes(data), content_type)
            self._held.move_to_end(key)
            self._trim()

    def put_if_absent(self, key: str, data: bytes, content_type: str = "application/octet-stream") -> bool:
        """Hold `data` unless `key` is held or in `base`; True when held now."""
        if self.exists(key):
            return False
        with self._lock:
            if key in self._held:
                return False
            self._held[key] = (bytes(data), content_type)
            self._trim()
        return True

    def get(self, key: str) -> bytes:
        """The bytes at `key`, held or in `base`; StorageError when neither has it."""
        with self._lock:
            held = self._held.get(check_key(key))
        if held is not None:
            return held[0]
        try:
            return self.base.get(key)
        except StorageError:
            raise StorageError(f"no object at key {describe_key(key)!r}") from None

    def exists(self, key: str) -> bool:
        """Whether `key` is held or in `base`."""
        with self._lock:
            if check_key(key) in self._held:
                return True
        return self.base.exists(key)

    def url(self, key: str) -> str:
        """`base`'s URL of `key` (a held object has none of its own)."""
        return self.base.url(key)

    def delete(self, key: str) -> None:
        """Remove `key` from memory and from `base`."""
        with self._lock:
            self._held.pop(check_key(key), None)
        self.base.delete(key)

    def keys(self, prefix: str = "") -> Iterator[str]:
        """Every key under `prefix`, held or in `base`, sorted."""
        folder = check_prefix(prefix)
        with self._lock:
            held = {key for key in self._held if key.startswith(folder)}
        yield from sorted(held | set(self.base.keys(prefix)))

    def delete_prefix(self, prefix: str) -> int:
        """Remove every object under `prefix`, in memory and in `base`; the count removed from `base`
        plus those only held."""
        removed = self.base.delete_prefix(prefix)  # refuses an empty prefix, as every storage does
        folder = check_prefix(prefix)
        with self._lock:
            gone = [key for key in self._held if key.startswith(folder)]
            for key in gone:
                del self._held[key]
        return removed + len(gone)

    def close(self) -> None:
        """Drop what is held and close `base`."""
        with self._lock:
            self._held.clear()
        self.base.close()

    def settle(self, personal: Iterable[str]) -> int:
        """Move every held object but the `personal` ones into `base` (create-if-absent); the
        personal ones stay in memory only. The count moved."""
        keep = set(personal)
        with self._lock:
            moving = [(key, value) for key, value in self._held.items() if key not in keep]
            for key, _ in moving:
                del self._held[key]
        for key, (data, content_type) in moving:
            self.base.put_if_absent(key, data, content_type)
        return len(moving)

    def _trim(self) -> None:
        total = sum(len(data) for data, _ in self._held.values())
        while total > self._budget and len(self._held) > 1:
            _, (data, _) = self._held.popitem(last=False)
            total -= len(data)
