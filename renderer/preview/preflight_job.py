"""The studio's pre-flight in a process of its own (spawned once, on first use): WeasyPrint and
PDFium cannot run in two threads of one process, so a pre-flight of 200 recipients run in the
server would hold every page render of the live preview until it ended."""

from __future__ import annotations

import asyncio
import multiprocessing
import threading
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

from renderer.errors import TailorError
from renderer.outputs.kind import RenderOptions
from renderer.settings import Settings


def preflight_report(
    root: Path, settings: Settings, options: RenderOptions, synthetic: int, campaign_size: int
) -> dict[str, Any]:
    """The pre-flight report (JSON-ready) of the template in `root` as its files are now, its
    samples and `synthetic` generated recipients rendered into memory with `options`; for a
    template that does not load, ``{"error": ..., "problems": [...]}``."""
    from renderer.outputs.load import load_template
    from renderer.preview.preflight import preflight, preflight_recipients
    from renderer.preview.problems import problem
    from renderer.storage import MemoryStorage

    try:
        template = load_template(root, settings)
    except TailorError as exc:
        found = problem(None, exc, {"": root, "assets": settings.assets_dir})
        return {"error": "the template does not load", "problems": [found]}
    recipients = preflight_recipients(template, synthetic)
    report = preflight(template, recipients, MemoryStorage(), options, campaign_size=campaign_size)
    answer: dict[str, Any] = report.to_json()
    return answer


class PreflightRunner:
    """One worker process for pre-flight reports, started when first asked, one report at a time."""

    def __init__(self) -> None:
        self._pool: ProcessPoolExecutor | None = None
        self._lock = threading.Lock()

    async def run(
        self, root: Path, settings: Settings, options: RenderOptions, synthetic: int, campaign_size: int
    ) -> dict[str, Any]:
        """`preflight_report` in the worker process (a new one if the last one died)."""
        with self._lock:
            if self._pool is None:
                self._pool = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"))
            pool = self._pool
        future = pool.submit(preflight_report, root, settings, options, synthetic, campaign_size)
        try:
            return await asyncio.wrap_future(future)
        except Exception:
            with self._lock:  # a broken pool (the worker killed) is replaced on the next call
                if self._pool is pool:
                    self._pool = None
            pool.shutdown(wait=False, cancel_futures=True)
            raise

    def close(self) -> None:
        """Stop the worker process (a report being made is abandoned)."""
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)
