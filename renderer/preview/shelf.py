"""The studio's rendered files, kept in memory under unguessable render ids (least recently
used dropped first), so a page, its PDF, page images and draft video are served together."""

from __future__ import annotations

import secrets
import threading
from collections import OrderedDict
from collections.abc import Iterable

from renderer.outputs.kind import RenderedFile

MAX_RENDERS = 48


class Shelf:
    """Render id -> its files by name; thread-safe."""

    def __init__(self, capacity: int = MAX_RENDERS) -> None:
        self._renders: OrderedDict[str, dict[str, RenderedFile]] = OrderedDict()
        self._capacity = capacity
        self._lock = threading.Lock()

    def new(self) -> str:
        """A fresh render id (128 random bits) with no files yet."""
        render_id = secrets.token_hex(16)
        with self._lock:
            self._renders[render_id] = {}
            while len(self._renders) > self._capacity:
                self._renders.popitem(last=False)
        return render_id

    def add(self, render_id: str, files: Iterable[RenderedFile]) -> bool:
        """Add `files` to a render; False when the render was dropped (or never existed)."""
        with self._lock:
            held = self._renders.get(render_id)
            if held is None:
                return False
            held.update({file.name: file for file in files})
            self._renders.move_to_end(render_id)
        return True

    def get(self, render_id: str, name: str) -> RenderedFile | None:
        """One file of a render, None when either is unknown."""
        with self._lock:
            held = self._renders.get(render_id)
            return None if held is None else held.get(name)
