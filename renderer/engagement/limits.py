"""Rate limits of ``POST /events``: token buckets per page token and per client address, counted
in events (a batch of 20 takes 20), so a flood is refused however it is batched.

Each bucket holds up to `Rate.burst` events and refills at `Rate.per_s`; a batch passes only
when both its token's and its address's buckets hold enough, and then takes from both. An
address pays for every event it sends, stored or refused, as far as its bucket holds them; a
token pays only for what it gets stored. So one page flooding from an address soon
empties that address's bucket, and then `EventFloodGuard` (``renderer/api/event_guard.py``)
refuses the address's batches unread, at the least cost; other addresses are untouched. The
limits live in this process's memory, thread-safe behind one
lock, with an injectable clock for tests. **Several API processes each apply them**: behind N
processes a client may get up to N times the rates (the load balancer spreads its requests);
size the rates per process, or share a limiter (Redis) when that matters. Buckets that refilled
are forgotten, and the number kept is bounded (`max_keys`), so many distinct tokens or
addresses cost bounded memory.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from renderer.settings import Settings


@dataclass(frozen=True)
class Rate:
    """A token bucket's shape: `burst` events at once, `per_s` events a second after that."""

    per_s: float
    burst: int


class _Buckets:
    """Buckets of one rate keyed by a string: key -> (events left, when last counted). Not
    thread-safe on its own: `EventLimits` holds the lock."""

    def __init__(self, rate: Rate, max_keys: int) -> None:
        self.rate, self.max_keys = rate, max_keys
        self.levels: dict[str, tuple[float, float]] = {}

    def level(self, key: str, now: float) -> float:
        """The events `key`'s bucket holds at `now` (a new key: a full bucket)."""
        left, then = self.levels.get(key, (self.rate.burst, now))
        return min(float(self.rate.burst), left + (now - then) * self.rate.per_s)

    def take(self, key: str, events: float, now: float) -> None:
        """Take `events` from `key`'s bucket (the caller checked it holds them)."""
        self.levels[key] = (self.level(key, now) - events, now)
        if len(self.levels) > self.max_keys:
            self.sweep(now)

    def sweep(self, now: float) -> None:
        """Forget every bucket that is full again; if too many stay, the longest idle ones."""
        full = float(self.rate.burst)
        self.levels = {key: v for key, v in self.levels.items() if self.level(key, now) < full}
        if len(self.levels) > self.max_keys:
            kept = sorted(self.levels.items(), key=lambda item: item[1][1])[-(self.max_keys * 3 // 4) :]
            self.levels = dict(kept)


class EventLimits:
    """The per-token and per-address limits of one API process; every method is thread-safe."""

    def __init__(
        self,
        per_token: Rate,
        per_address: Rate,
        *,
        clock: Callable[[], float] = time.monotonic,
        max_keys: int = 100_000,
        sweep_every_s: float = 60.0,
    ) -> None:
        self.tokens = _Buckets(per_token, max_keys)
        self.addresses = _Buckets(per_address, max_keys)
        self.clock, self.sweep_every_s = clock, sweep_every_s
        self._lock = threading.Lock()
        self._swept = clock()

    @classmethod
    def from_settings(cls, settings: Settings, clock: Callable[[], float] = time.monotonic) -> EventLimits:
        """The limits `settings` set (``event_token_rate``/``_burst``, ``event_address_*``)."""
        return cls(
            Rate(settings.event_token_rate, settings.event_token_burst),
            Rate(settings.event_address_rate, settings.event_address_burst),
            clock=clock,
        )

    def take(self, token: str, address: str, events: int) -> float:
        """Take `events` from the token's and the address's buckets and return 0; or, refused,
        return the seconds until both could give them, having taken them (or all it holds, if
        fewer) from the address's bucket only. A batch larger than a bucket's burst counts as a
        full burst: it passes once that bucket is full."""
        with self._lock:
            now = self.clock()
            if now - self._swept >= self.sweep_every_s:
                self.tokens.sweep(now)
                self.addresses.sweep(now)
                self._swept = now
            token_wait = self._wait(self.tokens, token, events, now)
            address_wait = self._wait(self.addresses, address, events, now)
            needed = min(float(events), float(self.addresses.rate.burst))
            self.addresses.take(address, min(needed, self.addresses.level(address, now)), now)
            if address_wait > 0:
                return max(token_wait, address_wait)
            if token_wait > 0:
                return token_wait
            self.tokens.take(token, min(float(events), float(self.tokens.rate.burst)), now)
            return 0.0

    @staticmethod
    def _wait(buckets: _Buckets, key: str, events: int, now: float) -> float:
        short = min(float(events), float(buckets.rate.burst)) - buckets.level(key, now)
        return short / buckets.rate.per_s if short > 0 else 0.0

    def address_wait(self, address: str) -> float:
        """Seconds until `address`'s bucket holds one event again (0: it holds one now); takes
        nothing. A batch holds at least one event, so a positive wait refuses any batch unread."""
        with self._lock:
            short = 1.0 - self.addresses.level(address, self.clock())
        return short / self.addresses.rate.per_s if short > 0 else 0.0


def retry_after(wait_s: float) -> str:
    """A ``Retry-After`` header value: whole seconds, at least 1."""
    return str(max(1, math.ceil(wait_s)))
