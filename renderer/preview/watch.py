"""Watch the files a preview reads (`watchfiles`) and reload the studio on every save; the reload
runs in a worker thread so the server keeps answering while a template loads."""

from __future__ import annotations

import asyncio
from pathlib import Path

import anyio
from watchfiles import Change, DefaultFilter, awatch

from renderer.preview.studio import Studio

# group a burst of writes (an editor's write + rename) but answer well within a second
DEBOUNCE_MS = 250
STEP_MS = 30


class PreviewFilter(DefaultFilter):
    """watchfiles' defaults (editor swap files, VCS folders, caches) plus hidden files."""

    def __call__(self, change: Change, path: str) -> bool:
        """Whether a change of `path` counts."""
        return not Path(path).name.startswith(".") and super().__call__(change, path)


async def watch_studio(studio: Studio, stop: asyncio.Event) -> None:
    """Reload `studio` after every batch of saves under its watched folders until `stop` is set.
    A folder that appears later (a template created after a failed start) is not watched."""
    folders = studio.watched()
    if not folders:
        return
    async for changes in awatch(
        *folders, watch_filter=PreviewFilter(), debounce=DEBOUNCE_MS, step=STEP_MS, stop_event=stop
    ):
        files = sorted({Path(path) for _, path in changes})
        await anyio.to_thread.run_sync(studio.reload, files)
