"""``/metrics`` scraped over real HTTP: bounded label sets whatever clients send, render
durations per output, queue depths and webhook delivery counters."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator

import pytest
from fixture_api import (  # noqa: F401
    ApiServer,
    Receiver,
    api_settings,
    bound_socket,
    port_of,
    private_api,
    receiver_fixture,
    serve,
    wait_for,
)

from renderer.api.metrics import Metrics
from renderer.api.render_pool import RenderPool


@pytest.fixture(scope="module", name="api")
def private_api_fixture(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiServer]:
    """One API server for the module that may deliver webhooks to loopback receivers."""
    with private_api(tmp_path_factory.mktemp("api")) as running:
        yield running


def _scrape(api: ApiServer) -> str:
    answer = api.client(key=None).get("/metrics")
    assert answer.status_code == 200
    return answer.text


def _series(text: str, name: str) -> set[str]:
    return {line.rsplit(" ", 1)[0] for line in text.splitlines() if line.startswith(name + "{")}


def _value(text: str, series: str) -> float:
    found = re.search(re.escape(series) + r" (\S+)\n", text)
    assert found, f"{series} not in the exposition"
    return float(found.group(1))


def test_unknown_methods_and_paths_add_no_series(api: ApiServer) -> None:
    client = api.client(key=None)
    for method in ("FOOBAR1", "GET"):  # the first round creates whatever series it creates
        client.request(method, "/healthz")
        client.request(method, "/r/some-token-value")
        client.request(method, "/no/such/path/12345")
    before = _series(_scrape(api), "tailor_http_requests_total")
    for index in range(2, 12):
        assert client.request(f"FOOBAR{index}", "/healthz").status_code == 405
        assert client.request(f"FOOBAR{index}", f"/unknown-{index}").status_code == 404
        client.request(f"FOOBAR{index}", f"/r/token-{index}")
    text = _scrape(api)
    after = _series(text, "tailor_http_requests_total")
    assert after - before <= {'tailor_http_requests_total{method="GET",route="/metrics",status="200"}'}
    assert "FOOBAR" not in text and "some-token-value" not in text and "/unknown-" not in text
    methods = set(re.findall(r'method="([^"]*)"', text))
    assert methods <= {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "other"}
    assert 'method="other",route="/healthz",status="405"' in text
    assert 'method="other",route="<unmatched>",status="404"' in text
    other = _value(text, 'tailor_http_requests_total{method="other",route="/healthz",status="405"}')
    assert other >= 11


@pytest.mark.pdf
def test_render_durations_are_histograms_per_output(api: ApiServer) -> None:
    sample = api.client().get("/templates/bill-summary", params={"sample": "de-DE"}).json()["sample"]
    body = {"recipient": sample, "outputs": ["microsite", "pdf"]}
    before = _scrape(api)
    assert api.client().post("/templates/bill-summary/renders", json=body).status_code == 200
    text = _scrape(api)
    assert "# TYPE tailor_render_duration_seconds histogram" in text
    for output in ("microsite", "pdf"):
        count = f'tailor_render_duration_seconds_count{{output="{output}"}}'
        earlier = _value(before, count) if count in before else 0.0
        assert _value(text, count) == earlier + 1
        total = _value(text, f'tailor_render_duration_seconds_sum{{output="{output}"}}')
        assert 0 < total < 60
        assert f'tailor_render_duration_seconds_bucket{{le="0.1",output="{output}"}}' in text
    assert _value(text, 'tailor_render_jobs{status="done"}') >= 1
    depth = 'tailor_render_queue_depth{pool="pages"}'
    assert depth in text  # 0 once start-up warm-ups and this render are done:
    wait_for(lambda: _value(_scrape(api), depth) == 0, timeout_s=60)


@pytest.mark.pdf
def test_webhook_deliveries_are_counted_by_outcome(api: ApiServer) -> None:
    text = _scrape(api)
    for outcome in ("delivered", "failed", "dead"):
        assert f'tailor_webhook_deliveries_total{{outcome="{outcome}"}}' in text
    failing = Receiver(statuses=[500])  # the first attempt fails, the retry (5 s later) succeeds
    try:
        hook = {"url": failing.url, "events": ["render.completed"]}
        assert api.client().post("/webhooks", json=hook).status_code == 201
        sample = api.client().get("/templates/bill-summary", params={"sample": "it-IT"}).json()["sample"]
        body = {"recipient": sample, "outputs": ["microsite"]}
        assert api.client().post("/templates/bill-summary/renders", json=body).status_code == 200
        wait_for(lambda: len(failing.requests) >= 2, timeout_s=60)
    finally:
        failing.stop()
    delivered = 'tailor_webhook_deliveries_total{outcome="delivered"}'

    def counted() -> str | None:
        text = _scrape(api)
        return text if _value(text, delivered) >= 1 else None

    text = wait_for(counted, timeout_s=10)
    assert _value(text, 'tailor_webhook_deliveries_total{outcome="failed"}') == 1
    assert _value(text, delivered) == 1
    assert _value(text, 'tailor_webhook_outbox{status="delivered"}') == 1


def test_queue_depth_counts_what_the_pool_has_not_finished() -> None:
    metrics, pool = Metrics(), RenderPool(1, "test")
    metrics.watch_pool("test", lambda: pool.pending)
    try:
        futures = [pool.submit(time.sleep, 0.5) for _ in range(3)]
        assert 'tailor_render_queue_depth{pool="test"} 3.0' in metrics.exposition().decode()
        for future in futures:
            future.result(timeout=60)
        wait_for(lambda: pool.pending == 0, timeout_s=5, every_s=0.02)
        assert 'tailor_render_queue_depth{pool="test"} 0.0' in metrics.exposition().decode()
    finally:
        pool.close()
