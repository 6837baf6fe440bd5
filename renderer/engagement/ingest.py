"""What one API process keeps for ``POST /events``: the rate limits, the links it resolved, and the
group-commit writer (`EventIngest`).

`LinkCache` remembers what a page token points at. That never changes for a token (template,
campaign, recipient and expiry are fixed when it is made), and whether the link is still live
(not erased, not expired) is checked again inside the transaction that stores the events
(`EventStore.add_batches`), so a cached link never lets an event in after its recipient was
erased; the cache only spares the lookup.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from renderer.engagement.limits import EventLimits
from renderer.engagement.writer import EventWriter
from renderer.jobs.schema import RecipientLinkRecord
from renderer.jobs.store import JobStore
from renderer.settings import Settings


class LinkCache:
    """Page token -> its link, for at most `max_entries` tokens (the oldest go first); thread-safe."""

    def __init__(self, max_entries: int = 100_000) -> None:
        self.max_entries = max_entries
        self._links: dict[str, RecipientLinkRecord] = {}
        self._lock = threading.Lock()

    def get(self, token: str, now: datetime) -> RecipientLinkRecord | None:
        """The cached link of `token` while it has not expired at `now`, else None."""
        link = self._links.get(token)
        return link if link is not None and link.expires_at > now else None

    def put(self, token: str, link: RecipientLinkRecord) -> None:
        """Remember `token`'s link."""
        with self._lock:
            self._links[token] = link
            while len(self._links) > self.max_entries:
                del self._links[next(iter(self._links))]

    def forget(self, token: str) -> None:
        """Drop `token` (its link was found gone)."""
        with self._lock:
            self._links.pop(token, None)


@dataclass
class EventIngest:
    """The limits, link cache and writer of one API process."""

    limits: EventLimits
    links: LinkCache
    writer: EventWriter

    @classmethod
    def from_settings(cls, settings: Settings, store: Callable[[], JobStore]) -> EventIngest:
        """The ingest `settings` describe, writing to the job store `store()` returns."""
        return cls(EventLimits.from_settings(settings), LinkCache(), EventWriter(store))

    def close(self) -> None:
        """Store what is queued and stop the writer."""
        self.writer.close()
