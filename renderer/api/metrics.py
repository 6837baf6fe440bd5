"""Prometheus metrics of one app: requests by route template, renders by output, campaign rows.

Each app owns its registry (two apps in one process never clash). Route labels are templates
(``/r/{token}``), never concrete paths, so tokens and ids stay out of the metrics and label sets
stay small. Campaign row counts are read from the job store when ``/metrics`` is scraped.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from renderer.api.store_queries import status_counts
from renderer.jobs.store import JobStore

log = logging.getLogger("tailor.api")
UNMATCHED = "<unmatched>"


class Metrics:
    """The counters and histograms of one app, in their own registry."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "tailor_http_requests",
            "HTTP requests answered, by method, route template and status",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "tailor_http_request_duration_seconds",
            "Time to answer an HTTP request, by method and route template",
            ["method", "route"],
            registry=self.registry,
        )
        self.renders = Counter(
            "tailor_renders",
            "Outputs rendered through the API, by output and status (ok or failed)",
            ["output", "status"],
            registry=self.registry,
        )

    def count_renders(self, outputs: list[str], status: str) -> None:
        """Count one render of each of `outputs`."""
        for output in outputs:
            self.renders.labels(output, status).inc()

    def watch_store(self, store: Callable[[], JobStore]) -> None:
        """Report campaign rows and campaigns by status, read from the store on each scrape."""
        self.registry.register(_StoreCollector(store))

    def exposition(self) -> bytes:
        """The text exposition format of every metric."""
        return bytes(generate_latest(self.registry))


class _StoreCollector(Collector):
    def __init__(self, store: Callable[[], JobStore]) -> None:
        self.store = store

    def collect(self) -> Iterator[GaugeMetricFamily]:
        """Store counts, or only ``tailor_job_store_up 0`` when the store does not answer."""
        up = GaugeMetricFamily("tailor_job_store_up", "Whether the job store answered this scrape")
        try:
            rows, campaigns = status_counts(self.store())
        except Exception as exc:  # a scrape must never fail because the database is down
            log.warning("metrics: job store unavailable (%s)", type(exc).__name__)
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        yield _gauge("tailor_campaign_rows", "Campaign rows by status", rows)
        yield _gauge("tailor_campaigns", "Campaigns by status", campaigns)


def _gauge(name: str, documentation: str, counts: dict[str, int]) -> GaugeMetricFamily:
    gauge = GaugeMetricFamily(name, documentation, labels=["status"])
    for status, count in sorted(counts.items()):
        gauge.add_metric([status], count)
    return gauge


class MetricsMiddleware:
    """Pure ASGI middleware: counts every HTTP request and times it, labelled by route template."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            route = _route_template(scope)
            method = str(scope.get("method", "GET"))
            self.metrics.requests.labels(method, route, str(status)).inc()
            self.metrics.latency.labels(method, route).observe(time.perf_counter() - started)


def _route_template(scope: Scope) -> str:
    route = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else UNMATCHED
