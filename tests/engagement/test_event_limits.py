"""Token buckets per page token and per client address, on a clock the test moves by hand."""

from __future__ import annotations

import threading

from renderer.engagement.limits import EventLimits, Rate, retry_after
from renderer.settings import load_settings


class Clock:
    """A monotonic clock that only moves when told."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def limits(clock: Clock, max_keys: int = 100_000) -> EventLimits:
    """2 events/s and 10 at once per token, 10/s and 40 at once per address."""
    return EventLimits(Rate(per_s=2, burst=10), Rate(per_s=10, burst=40), clock=clock, max_keys=max_keys)


def test_a_token_gets_its_burst_then_its_rate_counted_in_events() -> None:
    clock = Clock()
    limit = limits(clock)
    assert limit.take("tok-a", "10.0.0.1", 6) == 0
    assert limit.take("tok-a", "10.0.0.1", 4) == 0
    assert limit.take("tok-a", "10.0.0.1", 1) == 0.5  # empty: one event comes back in 1/2 s
    clock.now += 1.5  # three events back
    assert limit.take("tok-a", "10.0.0.1", 4) == 0.5
    assert limit.take("tok-a", "10.0.0.1", 3) == 0
    assert limit.take("tok-b", "10.0.0.1", 10) == 0  # another token has its own bucket


def test_an_address_pays_for_what_it_sends_a_token_for_what_it_gets_stored() -> None:
    clock = Clock()
    limit = limits(clock)
    for n in range(3):  # three tokens of 10 each: 30 of the address's 40
        assert limit.take(f"tok-{n}", "10.0.0.1", 10) == 0
    assert limit.take("tok-0", "10.0.0.1", 5) == 2.5  # tok-0 is empty: refused, the address pays 5
    assert limit.address_wait("10.0.0.1") == 0  # 5 left
    assert limit.take("tok-new", "10.0.0.1", 10) == 0.5  # the address is short by 5: it pays its 5
    assert limit.address_wait("10.0.0.1") == 0.1  # empty: its batches are now refused unread
    assert limit.take("tok-new", "10.0.0.2", 10) == 0  # tok-new's bucket was not touched
    assert limit.take("tok-4", "10.0.0.2", 1) == 0  # another address: its own bucket
    clock.now += 0.1
    assert limit.address_wait("10.0.0.1") == 0


def test_a_batch_larger_than_the_burst_passes_once_the_bucket_is_full() -> None:
    clock = Clock()
    limit = limits(clock)
    assert limit.take("tok-a", "10.0.0.1", 25) == 0  # counted as a full burst of 10
    assert limit.take("tok-a", "10.0.0.1", 25) == 5.0
    clock.now += 5
    assert limit.take("tok-a", "10.0.0.1", 25) == 0


def test_refilled_buckets_are_forgotten_and_the_number_kept_is_bounded() -> None:
    clock = Clock()
    limit = limits(clock, max_keys=100)
    for n in range(250):
        limit.take(f"tok-{n}", f"10.0.{n}.1", 1)
    assert len(limit.tokens.levels) <= 100 and len(limit.addresses.levels) <= 100
    clock.now += 61  # every bucket is full again; the periodic sweep drops them
    limit.take("tok-x", "10.9.9.9", 1)
    assert set(limit.tokens.levels) == {"tok-x"} and set(limit.addresses.levels) == {"10.9.9.9"}


def test_threads_never_take_more_than_the_burst() -> None:
    clock = Clock()
    limit = limits(clock)
    passed: list[float] = []

    def send() -> None:
        for _ in range(50):
            passed.append(limit.take("tok-a", "10.0.0.1", 1))

    threads = [threading.Thread(target=send) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert passed.count(0) == 10 and len(passed) == 400


def test_retry_after_is_whole_seconds_and_the_settings_make_the_limits() -> None:
    assert [retry_after(s) for s in (0.01, 1.0, 1.2, 30)] == ["1", "1", "2", "30"]
    settings = load_settings(event_token_rate=3, event_token_burst=30, event_address_burst=900)
    made = EventLimits.from_settings(settings)
    assert made.tokens.rate == Rate(3, 30) and made.addresses.rate.burst == 900
