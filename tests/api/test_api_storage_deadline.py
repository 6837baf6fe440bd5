"""A one-off render facing S3 that answers ``503 SlowDown`` answers ``503`` + ``Retry-After``
within the request deadline (real server, moto behind the flaky proxy); retries still happen, and
a hiccup that clears within the deadline still renders."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from fixture_api import ApiServer, make_api_fixture  # noqa: F401
from fixture_s3 import REGION, FlakyProxy

from renderer.storage.deadline import remaining_s, storage_deadline

pytestmark = [pytest.mark.s3, pytest.mark.pdf]
DEADLINE_S = 8.0
SLACK_S = 2.0  # recording the failure and answering, on a busy test machine


@pytest.fixture
def flaky_api(make_api: Callable[..., ApiServer], flaky_proxy: FlakyProxy, s3_bucket: str) -> ApiServer:
    """A server storing outputs on moto through the flaky proxy, with a short request deadline."""
    return make_api(
        storage_url=f"s3://{s3_bucket}/root", s3_endpoint_url=flaky_proxy.url, s3_region=REGION,
        workers=1, request_deadline_s=DEADLINE_S,
    )  # fmt: skip


def _render(api: ApiServer, sample: str) -> tuple[httpx.Response, float]:
    recipient = api.client().get("/templates/bill-summary", params={"sample": sample}).json()["sample"]
    started = time.monotonic()
    answer = api.client().post("/templates/bill-summary/renders", json={"recipient": recipient})
    return answer, time.monotonic() - started


def test_storage_down_answers_503_within_the_request_deadline(
    flaky_api: ApiServer, flaky_proxy: FlakyProxy
) -> None:
    flaky_proxy.fail_next(1_000_000)  # every S3 request: 503 SlowDown
    answer, took = _render(flaky_api, "en-US")
    assert answer.status_code == 503, answer.text
    assert took < DEADLINE_S + SLACK_S, f"answered after {took:.1f} s"
    assert int(answer.headers["retry-after"]) > 0
    error = answer.json()["error"]
    assert error["code"] == "storage_unavailable" and "SlowDown" in error["message"]
    assert "testing" not in answer.text  # no credentials
    assert flaky_proxy.failed >= 2, "retries were made while the deadline allowed them"
    metrics = flaky_api.client(key=None).get("/metrics").text
    assert 'tailor_render_jobs{status="failed"} 1.0' in metrics  # the job says what happened


def test_a_hiccup_within_the_deadline_is_retried_and_renders(
    flaky_api: ApiServer, flaky_proxy: FlakyProxy
) -> None:
    flaky_proxy.fail_next(2)
    answer, took = _render(flaky_api, "de-DE")
    assert answer.status_code == 200, answer.text
    assert flaky_proxy.failed == 2 and flaky_proxy.relayed >= 2
    assert took < DEADLINE_S + SLACK_S


def test_the_tightest_deadline_wins_and_ends_with_the_block() -> None:
    assert remaining_s() is None
    now = time.time()
    with storage_deadline(now + 100):
        with storage_deadline(now + 5):
            left: Any = remaining_s()
            assert 0 < left <= 5
        with storage_deadline(now + 500):
            assert 99 < (remaining_s() or 0) <= 100
        with storage_deadline(None):
            assert 99 < (remaining_s() or 0) <= 100
    assert remaining_s() is None


def test_s3_retries_end_by_the_deadline_and_not_without_one(
    make_s3_storage: Callable[..., Any], flaky_proxy: FlakyProxy
) -> None:
    from renderer.errors import StorageError

    deadline_s = 3.0
    storage = make_s3_storage(flaky_proxy.url)
    flaky_proxy.fail_next(1_000_000)
    started = time.monotonic()
    with storage_deadline(time.time() + deadline_s), pytest.raises(StorageError, match="SlowDown"):
        storage.put("t/c/r/index.html", b"x")
    assert time.monotonic() - started < deadline_s
    bounded = flaky_proxy.failed
    assert bounded >= 2
    flaky_proxy.fail_next(3)  # outside a deadline botocore's own retries go on as before
    storage.put("t/c/r/index.html", b"y")
    assert flaky_proxy.failed == bounded + 3
