"""Render processes for the API: one recipient rendered off the event loop, in parallel, safely.

WeasyPrint (Pango, fontconfig) is not thread-safe: PDFs rendered on concurrent threads corrupt
memory (measured: heap corruption and stray IndexErrors at 12 concurrent renders), and PDF time
limits use SIGALRM, which only a main thread receives. So renders run in worker processes (a
``forkserver`` pool, safe to start from a threaded server, with the environment the API had
when the pool started), each keeping its templates, storage and options for its life; the API
awaits them without blocking the event loop. Only plain `TailorError`s with their message come
back (never a value, always picklable).
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import threading
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from renderer.decisions.decide import Decision, DecisionInputs
from renderer.errors import (
    RenderError,
    RenderTimeout,
    ServiceUnavailable,
    StorageError,
    TailorError,
    TemplateError,
)
from renderer.logs import configure_logging
from renderer.outputs.decided import default_inputs, resolve_decided
from renderer.outputs.images import limit_image_size
from renderer.outputs.kind import RenderOptions
from renderer.outputs.load import load_template
from renderer.outputs.render import render_recipient
from renderer.settings import Settings
from renderer.storage import open_storage
from renderer.storage.deadline import storage_deadline

log = logging.getLogger("tailor.api")
_WORKER: dict[str, Any] = {}


def _worker(settings: Settings) -> dict[str, Any]:
    if _WORKER.get("settings") != settings:
        limit_image_size(settings.max_image_pixels)
        configure_logging(settings.log_format, settings.log_level)  # a forkserver child has none
        _WORKER.clear()
        _WORKER.update(
            settings=settings,
            storage=open_storage(settings.storage_url, settings),
            options=RenderOptions.from_settings(settings),
            templates={},
        )
    return _WORKER


def render_in_worker(
    settings: Settings,
    template_name: str,
    recipient: dict[str, Any],
    outputs: list[str],
    campaign: str,
    deadline_at: float | None = None,
    inputs: DecisionInputs | None = None,
) -> tuple[dict[str, str], dict[str, float], Decision]:
    """Render and store one validated recipient (runs in a pool process), decided from `inputs`:
    output -> key, output -> seconds its rendering took, and the decision. Storage retries end by
    `deadline_at` (Unix time; the request's `storage_deadline`), so a failing store answers in time."""
    worker = _worker(settings)
    templates: dict[str, Any] = worker["templates"]
    durations: dict[str, float] = {}
    try:
        template = templates.get(template_name) or load_template(template_name, settings)
        templates[template_name] = template
        options, storage = worker["options"], worker["storage"]
        with storage_deadline(deadline_at):
            stored = render_recipient(
                template,
                recipient,
                outputs,
                storage,
                campaign,
                options,
                durations=durations,
                decisions=inputs,
            )
        return stored.to_record(), durations, stored.decision
    except RenderTimeout as exc:
        raise RenderTimeout(str(exc)) from None
    except StorageError as exc:
        raise StorageError(str(exc)) from None
    except TemplateError as exc:  # a template fault: 422 template_error, with its file and line
        raise TemplateError(exc.detail, exc.file, exc.line) from None
    except TailorError as exc:
        raise RenderError(str(exc)) from None
    except Exception as exc:  # a bug: its type, never its message (it may hold a value)
        raise RenderError(f"unexpected {type(exc).__name__}") from None


def stream_piece_in_worker(settings: Settings, template_name: str, folder: str, piece: str) -> bool:
    """Render one piece of an on-play stream in a pool process (`run_stream_piece`); whether it
    rendered it (else it was stored already, or another process rendered it)."""
    from renderer.jobs.onplay import run_stream_piece

    return run_stream_piece(settings, template_name, folder, piece)


def warm_stream_worker(settings: Settings, template_names: list[str]) -> None:
    """Open the store and storage and load the templates of an on-play stream process, so the
    first segment a player asks for costs its render only."""
    from renderer.jobs.onplay import warm_stream_process

    warm_stream_process(settings, template_names)


def _adopt(environment: dict[str, str]) -> None:
    os.environ.clear()
    os.environ.update(environment)


def warm_worker(settings: Settings, template_names: list[str]) -> None:
    """Load the templates and render each one's first sample without storing it, so the first
    real render of a fresh process does not pay for imports, fonts and caches (~1 s)."""
    from renderer.outputs.kind import RenderContext
    from renderer.outputs.pdf import PDF
    from renderer.outputs.render import prepared_output
    from renderer.storage.memory import MemoryStorage

    worker = _worker(settings)
    for name in template_names:
        try:
            template = worker["templates"].get(name) or load_template(name, settings)
            worker["templates"][name] = template
            if not template.samples or template.manifest.outputs.pdf is None:
                continue
            sample = template.validator.validate(next(iter(template.samples.values())))
            context = RenderContext(MemoryStorage(), RenderOptions.from_settings(settings))
            spec, _ = resolve_decided(template, sample, default_inputs("warm-up"))
            PDF.render(prepared_output(template, PDF), spec, context)
        except Exception as exc:  # a broken template shows up on its first real render
            log.warning("warming template %r: %s", name, type(exc).__name__)


class RenderPool:
    """A process pool started on first use and started again if a worker dies."""

    def __init__(self, size: int, name: str) -> None:
        self.size, self.name = size, name
        self._pool: ProcessPoolExecutor | None = None
        self._lock = threading.Lock()
        self._pending = 0

    @property
    def pending(self) -> int:
        """Submitted calls not finished yet (waiting for a worker or running): the queue depth."""
        return self._pending

    def _track(self, future: Future[Any]) -> Future[Any]:
        with self._lock:
            self._pending += 1
        future.add_done_callback(self._finished)
        return future

    def _finished(self, _: Future[Any]) -> None:
        with self._lock:
            self._pending -= 1

    def _executor(self) -> ProcessPoolExecutor:
        with self._lock:
            if self._pool is None:
                context = multiprocessing.get_context("forkserver")
                environment = (dict(os.environ),)  # the fork server may predate changes to it
                self._pool = ProcessPoolExecutor(
                    self.size, mp_context=context, initializer=_adopt, initargs=environment
                )
            return self._pool

    def submit(self, fn: Callable[..., Any], *args: Any) -> Future[Any]:
        """Run `fn(*args)` in a worker process (counted in `pending` until it finishes)."""
        try:
            return self._track(self._executor().submit(fn, *args))
        except BrokenProcessPool:
            self.restart()
            return self._track(self._executor().submit(fn, *args))

    def restart(self) -> None:
        """Drop a broken pool; the next submit starts a fresh one."""
        with self._lock:
            broken, self._pool = self._pool, None
        if broken is not None:
            log.warning("%s render pool: a worker process died; starting a new pool", self.name)
            broken.shutdown(wait=False, cancel_futures=True)

    def warm(
        self, settings: Settings, template_names: list[str], warm: Callable[..., Any] | None = None
    ) -> None:
        """Start the worker processes now and warm them (`warm`, default `warm_worker`) in the
        background."""
        for _ in range(self.size):
            self.submit(warm or warm_worker, settings, template_names)

    def close(self, *, wait: bool = True) -> None:
        """Stop the workers; renders still queued are cancelled, running ones finish when `wait`."""
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=wait, cancel_futures=True)


def died(pool: RenderPool) -> ServiceUnavailable:
    """What to raise when a render's worker process died (the pool is restarted)."""
    pool.restart()
    return ServiceUnavailable(
        "a render process stopped unexpectedly; try again", service="render", retry_after_s=1
    )
