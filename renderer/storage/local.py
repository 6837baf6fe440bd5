"""Storage in a local folder (the default, ``./out``): atomic writes, no path escapes."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

from renderer.errors import StorageError
from renderer.storage.keys import check_key, check_prefix, describe_key

_TEMP = ".tmp-"


class LocalStorage:
    """Objects are files under `root`; a write goes to a temp file first, then is renamed."""

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root).resolve()
        self.root.mkdir(parents=True, exist_ok=True)
        self._made: set[Path] = set()

    def path(self, key: str) -> Path:
        """The file path of `key`; refuses keys that would leave the root."""
        path = self.root / check_key(key)
        if self.root not in path.parents:
            raise StorageError(f"key {describe_key(key)!r} leaves the storage root")
        return path

    def _write(self, path: Path, data: bytes, *, replace: bool) -> bool:
        try:
            return self._write_file(path, data, replace=replace)
        except OSError as exc:  # disk full, permissions, name too long: named without the key
            raise StorageError(f"local storage cannot write an object: {exc.strerror}") from None

    def _write_file(self, path: Path, data: bytes, *, replace: bool) -> bool:
        folder = path.parent
        if folder not in self._made:
            folder.mkdir(parents=True, exist_ok=True)
            self._made.add(folder)
        try:
            fd, tmp = tempfile.mkstemp(dir=folder, prefix=_TEMP)
        except FileNotFoundError:  # delete_prefix removed the folder since it was made
            folder.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=folder, prefix=_TEMP)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
            if replace:
                os.replace(tmp, path)
                return True
            try:
                os.link(tmp, path)  # fails if the key exists: create-if-absent without races
            except FileExistsError:
                return False
            return True
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)

    def put(self, key: str, data: bytes, content_type: str = "application/octet-stream") -> None:
        """Store `data` under `key`, atomically replacing what was there."""
        self._write(self.path(key), data, replace=True)

    def put_if_absent(self, key: str, data: bytes, content_type: str = "application/octet-stream") -> bool:
        """Store `data` only if `key` is absent; True when this call created it. The link that
        publishes the written file is the check (no ``exists`` first: a new key is the usual case)."""
        return self._write(self.path(key), data, replace=False)

    def get(self, key: str) -> bytes:
        """The stored bytes of `key`; StorageError when missing."""
        try:
            return self.path(key).read_bytes()
        except FileNotFoundError:
            raise StorageError(f"no object at key {describe_key(key)!r}") from None

    def exists(self, key: str) -> bool:
        """Whether `key` holds an object."""
        return self.path(key).is_file()

    def url(self, key: str) -> str:
        """A file:// URL of the stored object."""
        return self.path(key).as_uri()

    def delete(self, key: str) -> None:
        """Remove `key` if present."""
        self.path(key).unlink(missing_ok=True)

    def _folder(self, prefix: str) -> Path:
        folder = check_prefix(prefix)
        return self.path(folder.removesuffix("/")) if folder else self.root

    def keys(self, prefix: str = "") -> Iterator[str]:
        """Every stored key under the folder `prefix`, sorted; in-flight temp files are skipped."""
        found = [
            (Path(dirpath) / name).relative_to(self.root).as_posix()
            for dirpath, _dirs, files in os.walk(self._folder(prefix))
            for name in files
            if not name.startswith(_TEMP)
        ]
        yield from sorted(found)

    def delete_prefix(self, prefix: str) -> int:
        """Remove every object under the folder `prefix`, then its emptied folders; the count removed."""
        if not check_prefix(prefix):
            raise StorageError("delete_prefix needs a non-empty prefix")
        folder = self._folder(prefix)
        removed = 0
        for key in list(self.keys(prefix)):
            with contextlib.suppress(FileNotFoundError):
                self.path(key).unlink()
                removed += 1
        # Folder names hold recipient ids: remove the emptied ones too (a folder still holding a
        # concurrent writer's temp file stays).
        for dirpath, _dirs, _files in os.walk(folder, topdown=False):
            with contextlib.suppress(OSError):
                os.rmdir(dirpath)
        self._made.clear()
        return removed

    def close(self) -> None:
        """Nothing to release for a folder."""
