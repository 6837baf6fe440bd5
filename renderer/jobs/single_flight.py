"""One render per storage object, whatever the concurrency: `render_once`.

Callers that want storage object `key` (a content-addressed key, e.g. a personal scene's video
segment) and find it absent race for a claim in the job store (`ClaimStore`): the one that wins
runs `produce()`, stores the bytes with ``put_if_absent`` and releases the claim; the others poll
storage (a stat on a local folder, a HEAD on S3; ``poll_s`` doubling to 0.1 s) and read the claim
(one primary-key read, at most every 0.25 s) until the object appears. A holder renews its lease
every third of ``lease_s`` while it produces, so a long render keeps its claim; a holder that
died stops renewing, and once its lease has ended a waiter takes the claim over and produces. A
`produce` that raises releases the claim at once (the next caller tries again) and the error
reaches its caller only. Should a holder lose its claim anyway (its renewals failed for a whole
lease), a second render may run, but ``put_if_absent`` keeps the first object stored and every
caller returns those bytes.

Costs: a caller that finds the object pays one ``exists`` and one ``get``; a miss adds one read
and one write transaction to claim, one per third of a lease to renew and one to release.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from secrets import token_hex
from types import TracebackType

from renderer.errors import RenderTimeout, StorageError
from renderer.jobs.schema import ClaimRecord
from renderer.jobs.store import JobStore
from renderer.jobs.store.base import utc_now
from renderer.jobs.store.claims import ClaimStore
from renderer.storage.base import Storage

log = logging.getLogger("tailor.single_flight")
MAX_POLL_S = 0.1  # storage polls back off to this (an S3 HEAD each)
CLAIM_CHECK_S = 0.25  # a waiter reads the claim at most this often (and when its lease ends)


def object_ready(storage: Storage, key: str) -> bool:
    """Whether storage object `key` exists (a stat, or a HEAD on S3): the cheap poll."""
    return storage.exists(key)


def _stored(storage: Storage, key: str) -> bytes | None:
    """The object's bytes, or None when it is absent (or was deleted between two calls)."""
    if not object_ready(storage, key):
        return None
    try:
        return storage.get(key)
    except StorageError:
        return None


class _Lease:
    """Holds a won claim while a render runs: renews it every third of `lease_s` from a small
    daemon thread, and releases it on exit (an exception included)."""

    def __init__(self, claims: ClaimStore, key: str, owner: str, lease_s: float) -> None:
        self.claims, self.key, self.owner, self.lease_s = claims, key, owner, lease_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._renew, name="tailor-claim-lease", daemon=True)

    def _renew(self) -> None:
        while not self._stop.wait(self.lease_s / 3):
            try:
                if not self.claims.claim(self.key, self.owner, self.lease_s):
                    log.warning("render claim lost to another caller before the render ended")
            except Exception as exc:  # the store may be down for a moment: try at the next period
                log.warning("render claim renewal: %s", type(exc).__name__)

    def __enter__(self) -> _Lease:
        self._thread.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._stop.set()
        self._thread.join()
        try:
            self.claims.release(self.key, self.owner)
        except Exception as error:  # the lease ends by itself; never hide the render's own outcome
            log.warning("render claim release: %s", type(error).__name__)


def _produce(
    store: JobStore,
    storage: Storage,
    key: str,
    owner: str,
    produce: Callable[[], bytes],
    content_type: str,
    lease_s: float,
) -> bytes:
    """Run `produce` under the won claim and store its bytes; the stored bytes (those of a holder
    that stored them first, if any)."""
    with _Lease(store.claims, key, owner, lease_s):
        done = _stored(storage, key)  # stored by a holder that released between our two checks
        if done is not None:
            return done
        data = produce()
        if storage.put_if_absent(key, data, content_type):
            return data
        return _stored(storage, key) or data


def _free(holder: ClaimRecord | None) -> bool:
    return holder is None or holder.expires_at <= utc_now()


def render_once(
    store: JobStore,
    storage: Storage,
    key: str,
    produce: Callable[[], bytes],
    content_type: str,
    *,
    lease_s: float = 60.0,
    wait_s: float = 120.0,
    poll_s: float = 0.02,
    what: str = "the object",
) -> bytes:
    """The bytes of storage object `key`. When it is absent, exactly one caller at a time across
    threads and processes (coordinated through `store`, never in memory) runs `produce()`,
    stores its bytes under `key` and returns them; the others wait for the object and return the
    same bytes. A holder's error is raised to it alone, and its claim released so the next caller
    produces; a holder that died is taken over once its lease (`lease_s`, renewed while it
    produces) has ended. Raises `RenderTimeout` naming `what` (e.g. ``segment of scene 'offer'``,
    never a personal value) when the object is still missing after `wait_s`; the default outlasts
    one dead holder's lease."""
    owner = token_hex(16)
    deadline = time.monotonic() + wait_s
    delay, check_at = poll_s, 0.0
    while True:
        done = _stored(storage, key)
        if done is not None:
            return done
        now = time.monotonic()
        if now >= check_at:
            holder = store.claims.holder(key)
            if _free(holder) and store.claims.claim(key, owner, lease_s):
                return _produce(store, storage, key, owner, produce, content_type, lease_s)
            left_s = 0.0 if holder is None else (holder.expires_at - utc_now()).total_seconds()
            check_at = now + max(0.0, min(CLAIM_CHECK_S, left_s))
        if now >= deadline:
            raise RenderTimeout(f"{what} was not ready after waiting {wait_s:g} s for another render of it")
        time.sleep(max(0.0, min(delay, deadline - now)))
        delay = min(delay * 2, MAX_POLL_S)
