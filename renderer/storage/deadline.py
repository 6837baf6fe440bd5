"""A deadline for the storage calls of one request: retries stop in time to answer before it.

A synchronous API request has a client waiting (most time out at 30 s), while a backend's
retries alone can outlast that (S3 answering ``503 SlowDown``: botocore's backoff sums to
~35-72 s over 9 attempts). Inside ``with storage_deadline(at):`` (`at` a Unix time) every storage
call made by this thread or task (a context variable, which threads started through anyio and
Starlette inherit) retries only while a retry can still end before `at`: the call then fails
with the backend's own error (a `StorageError`), in time for the API to answer ``503`` with
``Retry-After``. Outside a deadline (campaign workers, the CLI) retries are not bounded.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

_DEADLINE: ContextVar[float | None] = ContextVar("tailor_storage_deadline", default=None)


@contextmanager
def storage_deadline(at: float | None) -> Iterator[None]:
    """Bound storage retries inside the block by the Unix time `at` (None: no bound); an
    earlier deadline already in force is kept."""
    current = _DEADLINE.get()
    chosen = at if current is None else current if at is None else min(at, current)
    token = _DEADLINE.set(chosen)
    try:
        yield
    finally:
        _DEADLINE.reset(token)


def deadline() -> float | None:
    """The Unix time the current storage calls must end by, or None."""
    return _DEADLINE.get()


def remaining_s() -> float | None:
    """Seconds left before the current deadline (negative once passed), or None without one."""
    at = _DEADLINE.get()
    return None if at is None else at - time.time()
