"""Signed webhook deliveries from the job store's outbox, retried with exponential backoff.

`events.emit` puts an event in the outbox for every subscribed webhook (and a render's own
``webhook_url``); `deliver_due` POSTs what is due, signed with the webhook's secret::

    Tailor-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">

A failed attempt (no 2xx, a timeout, a refused connection) is retried after 5 s, 10 s, 20 s ...
(at most an hour) until ``webhook_max_attempts``; then the delivery is ``dead``. Delivery is at
least once: receivers dedupe on the ``Tailor-Delivery`` header, and check `verify` (with its
five-minute tolerance against replays). The `Dispatcher` thread runs `deliver_due` beside the
API, so a slow receiver never delays a render; it also purges page links a day after they expire,
and render claims (``single_flight.py``) whose lease ended.
Redirects are not followed and no proxy from the environment is used.

Every API process runs a dispatcher on the same outbox: each delivery is claimed
(`WebhookStore.claim_delivery`, a lease of ``lease_s``) before it is attempted, so two processes never
POST it at once. The claim counts the attempt: a process that dies mid-attempt leaves the delivery
to be retried when the lease ends, and once ``webhook_max_attempts`` claims were spent it is
``dead`` (``the sender stopped during the last attempt``), never retried without end. Each phase
of an attempt, DNS lookup included, is bounded by ``webhook_timeout_s``.

SSRF: deliveries go only to public addresses unless ``webhook_allow_private`` is on: URLs are
checked when registered and every connection when made, so DNS rebinding cannot reach internal
hosts (``egress.py``). A connection refused that way is a failed attempt (``address not allowed``).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import httpx

from renderer.api.egress import NOT_ALLOWED, AddressNotAllowed, delivery_client
from renderer.jobs.events import EVENTS, emit
from renderer.jobs.schema import DeliveryRecord, WebhookRecord
from renderer.jobs.store import JobStore
from renderer.settings import Settings

log = logging.getLogger("tailor.api")
__all__ = ["EVENTS", "Dispatcher", "backoff_s", "deliver_due", "emit", "lease_s", "sign", "verify"]
SIGNATURE_HEADER = "Tailor-Signature"
BACKOFF_BASE_S = 5.0
BACKOFF_MAX_S = 3600.0
TOLERANCE_S = 300
LEASE_MARGIN_S = 30.0
SENDER_STOPPED = "the sender stopped during the last attempt"
LINK_PURGE_EVERY_S = 600.0
LINK_PURGE_BATCH, LINK_PURGE_BATCHES = 1000, 10


def sign(secret: str, body: bytes, t: int) -> str:
    """The ``Tailor-Signature`` header value of `body` sent at unix time `t`."""
    digest = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={t},v1={digest}"


def verify(
    secret: str, body: bytes, header: str, tolerance_s: int = TOLERANCE_S, now: float | None = None
) -> bool:
    """Whether `header` signs `body` with `secret` within `tolerance_s` of `now` (receivers' check)."""
    parts = dict(part.split("=", 1) for part in header.split(",") if "=" in part)
    try:
        t = int(parts["t"])
    except (KeyError, ValueError):
        return False
    if abs((time.time() if now is None else now) - t) > tolerance_s:
        return False
    expected = sign(secret, body, t).split("v1=", 1)[1]
    return hmac.compare_digest(expected, parts.get("v1", ""))


def backoff_s(attempts: int) -> float:
    """Seconds to wait after the `attempts`-th failed attempt (1, 2, ...)."""
    return float(min(BACKOFF_BASE_S * 2 ** max(attempts - 1, 0), BACKOFF_MAX_S))


def lease_s(settings: Settings) -> float:
    """How long a claimed delivery stays out of other dispatchers' reach: each phase of an
    attempt (DNS lookup, connect, write, read) is bounded by ``webhook_timeout_s`` rather than the
    whole call, so four of them and a margin."""
    return 4 * settings.webhook_timeout_s + LEASE_MARGIN_S


def delivery_body(delivery: DeliveryRecord) -> bytes:
    """The exact bytes POSTed (and signed) for a delivery."""
    envelope = {
        "id": delivery.id,
        "event": delivery.event,
        "created_at": delivery.created_at.isoformat(),
        "data": delivery.payload,
    }
    return json.dumps(envelope, separators=(",", ":"), sort_keys=True, ensure_ascii=False).encode()


def _attempt(
    client: httpx.Client, hook: WebhookRecord, delivery: DeliveryRecord, timeout_s: float
) -> str | None:
    """POST one delivery; None when the receiver answered 2xx, else why not (no URL or body)."""
    body = delivery_body(delivery)
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "Tailor-Webhooks/1",
        "Tailor-Event": delivery.event,
        "Tailor-Delivery": delivery.id,
        SIGNATURE_HEADER: sign(hook.secret, body, int(time.time())),
    }
    try:  # only the status matters: the receiver's body is never read (it could be endless)
        with client.stream("POST", hook.url, content=body, headers=headers, timeout=timeout_s) as response:
            status = response.status_code
    except httpx.HTTPError as exc:
        return NOT_ALLOWED if isinstance(exc.__cause__, AddressNotAllowed) else type(exc).__name__
    except (httpx.InvalidURL, ValueError):  # stored before URLs were checked; httpx cannot parse it
        return "invalid URL"
    return None if 200 <= status < 300 else f"HTTP {status}"


def deliver_due(
    store: JobStore,
    settings: Settings,
    client: httpx.Client,
    now: datetime | None = None,
    on_attempt: Callable[[str], object] | None = None,
) -> int:
    """Attempt every delivery that is due and that this call claims (`WebhookStore.claim_delivery`:
    no other caller attempts it at the same time); returns how many were delivered. Each
    attempt's outcome (``delivered``, ``failed``: to be retried, ``dead``) goes to `on_attempt`."""
    report = on_attempt or (lambda outcome: None)
    delivered, most = 0, settings.webhook_max_attempts
    for delivery in store.webhooks.due_deliveries(now=now):
        if delivery.attempts >= most:  # the last claimer died mid-attempt
            if store.webhooks.give_up_delivery(delivery.id, SENDER_STOPPED, most, now=now):
                log.info("webhook delivery %s failed (%s), giving up", delivery.id, SENDER_STOPPED)
            continue
        if not store.webhooks.claim_delivery(delivery.id, lease_s(settings), now=now, max_attempts=most):
            continue  # another dispatcher has it
        hook = store.webhooks.get(delivery.webhook_id)
        error = (
            "webhook deleted"
            if hook is None
            else _attempt(client, hook, delivery, settings.webhook_timeout_s)
        )
        if error is None:
            delivered += store.webhooks.finish_delivery(delivery.id)
            report("delivered")
            continue
        attempts = delivery.attempts + 1
        dead = hook is None or attempts >= settings.webhook_max_attempts
        retry_at = (now or datetime.now(UTC)) + timedelta(seconds=backoff_s(attempts))
        store.webhooks.fail_delivery(delivery.id, error, retry_at, dead)
        report("dead" if dead else "failed")
        log.info("webhook delivery %s failed (%s)%s", delivery.id, error, ", giving up" if dead else "")
    return delivered


class Dispatcher:
    """A daemon thread that delivers due webhooks every `interval_s` (sooner after `wake`), after
    running each of `tasks` (the page-link purge; callers may add more); `on_attempt` as in
    `deliver_due`."""

    def __init__(
        self,
        store: Callable[[], JobStore],
        settings: Settings,
        *,
        interval_s: float = 1.0,
        on_attempt: Callable[[str], object] | None = None,
    ) -> None:
        self.store, self.settings, self.interval_s = store, settings, interval_s
        self.on_attempt = on_attempt
        self.tasks: list[Callable[[JobStore], object]] = [self._purge_links]
        self._purged_at: float | None = None
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Start the thread (once)."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="tailor-webhooks", daemon=True)
            self._thread.start()

    def wake(self) -> None:
        """Deliver now rather than at the next tick."""
        self._wake.set()

    def stop(self, timeout_s: float = 5.0) -> None:
        """Stop the thread and wait for it (a delivery in flight finishes first)."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout_s)
            self._thread = None

    def _purge_links(self, store: JobStore) -> None:
        """Delete page links expired over a day, a bounded amount per round, and the render claims
        whose lease ended (holders that died): at the first round, then every
        `LINK_PURGE_EVERY_S`, and at the next round again while a backlog of links remains."""
        now = time.monotonic()
        if self._purged_at is not None and now - self._purged_at < LINK_PURGE_EVERY_S:
            return
        self._purged_at = now
        purged = store.links.purge_expired(batch_size=LINK_PURGE_BATCH, max_batches=LINK_PURGE_BATCHES)
        if purged:
            log.info("purged %d expired page links", purged)
        claims = store.claims.purge_expired()
        if claims:
            log.info("purged %d expired render claims", claims)
        if purged >= LINK_PURGE_BATCH * LINK_PURGE_BATCHES:
            self._purged_at = None  # more are left

    def _run(self) -> None:
        with delivery_client(self.settings) as client:
            while not self._stop.is_set():
                self._round(client)
                self._wake.wait(self.interval_s)
                self._wake.clear()

    def _round(self, client: httpx.Client) -> None:
        try:
            store = self.store()
            for task in self.tasks:
                task(store)
            deliver_due(store, self.settings, client, on_attempt=self.on_attempt)
        except Exception as exc:  # the database may be down: try again next round
            log.warning("webhook dispatcher: %s", type(exc).__name__)
