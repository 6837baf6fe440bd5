"""Helpers shared by the job-store tests (``test_store*.py``): a campaign with rows, a thread race."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from renderer.jobs.store import JobStore


def new_campaign(store: JobStore, rows: int = 0) -> str:
    """A new bill-summary campaign with `rows` pending rows (recipient ids ``C000001``...); its id."""
    campaign, _ = store.campaigns.create("bill-summary", ["microsite", "pdf"], "uploads/data.csv")
    store.rows.add(campaign.id, ((n, f"C{n:06d}") for n in range(1, rows + 1)))
    return campaign.id


def race(count: int, work: Callable[[int], Any]) -> list[Any]:
    """Run `work(i)` in `count` threads released together; returns results in thread order."""
    barrier = threading.Barrier(count)
    results: list[Any] = [None] * count
    errors: list[BaseException] = []

    def run(index: int) -> None:
        barrier.wait()
        try:
            results[index] = work(index)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    return results
