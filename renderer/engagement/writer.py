"""Group commit for ``POST /events``: one writer thread stores every batch waiting, in one
transaction, and only then tells each request how its batch went.

A request hands its batch over (`EventWriter.submit`) and waits on the future it gets. The writer
takes everything submitted meanwhile (up to `max_events` events), stores it with
`EventStore.add_batches` (one transaction: the links checked, the events inserted) and, once that
committed, resolves each future with the batch's count of new events (None: its link is gone); a
failed transaction fails every future of it, so a request is never told an event is stored that
is not. One writer per process also means its threads never queue on the database's write lock:
under load a transaction carries many requests instead of each waiting its turn.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field

from renderer.errors import ServiceUnavailable
from renderer.jobs.schema import EventRecord
from renderer.jobs.store import JobStore
from renderer.jobs.store.base import utc_now

log = logging.getLogger("tailor.engagement")


@dataclass
class _Batch:
    token: str
    events: Sequence[EventRecord]
    done: Future[int | None] = field(default_factory=Future)


class EventWriter:
    """The writer thread of one process, started on the first batch; thread-safe."""

    def __init__(self, store: Callable[[], JobStore], *, max_events: int = 2000) -> None:
        self.store, self.max_events = store, max_events
        self._queue: queue.SimpleQueue[_Batch | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._closed = False

    def submit(self, token: str, events: Sequence[EventRecord]) -> Future[int | None]:
        """Queue one batch sent through page link `token`; the future resolves after its commit
        to how many of its events were new, or None when the link is gone or expired (nothing
        stored), or fails with what the store raised."""
        batch = _Batch(token, events)
        with self._lock:
            if self._closed:
                raise ServiceUnavailable("the server is stopping", service="events", retry_after_s=5)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="event-writer", daemon=True)
                self._thread.start()
            self._queue.put(batch)
        return batch.done

    def _take(self, first: _Batch) -> tuple[list[_Batch], bool]:
        """`first` and whatever else waits, up to `max_events`; and whether close() was asked."""
        taken, events = [first], len(first.events)
        while events < self.max_events:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                break
            if item is None:
                return taken, True
            taken.append(item)
            events += len(item.events)
        return taken, False

    def _run(self) -> None:
        while (first := self._queue.get()) is not None:
            taken, closing = self._take(first)
            try:
                self._write(taken)
            except Exception as exc:  # never die: every request after would wait forever
                log.error("event writer: %d batches failed (%s)", len(taken), type(exc).__name__)
                for batch in taken:
                    if not batch.done.done():
                        batch.done.set_exception(exc)
            if closing:
                return

    def _write(self, taken: list[_Batch]) -> None:
        """One transaction for the batches of `taken` whose request still waits, then each of
        their futures resolved (or failed). A cancelled request's batch is left out: nobody
        waits for its answer, and its page retries it under the same event ids."""
        waiting = [batch for batch in taken if batch.done.set_running_or_notify_cancel()]
        if not waiting:
            return
        try:
            counts = self.store().events.add_batches([(b.token, b.events) for b in waiting], utc_now())
        except BaseException as exc:  # the store's errors vary by backend: each request answers it
            log.warning("event writer: %d batches not stored (%s)", len(waiting), type(exc).__name__)
            for batch in waiting:
                batch.done.set_exception(exc)
            return
        for batch, count in zip(waiting, counts, strict=True):
            batch.done.set_result(count)

    def close(self, timeout_s: float = 30.0) -> None:
        """Store what is queued, then stop the thread; later batches are refused (503)."""
        with self._lock:
            self._closed = True
            thread = self._thread
            self._queue.put(None)
        if thread is not None:
            thread.join(timeout_s)
