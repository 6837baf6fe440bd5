"""Prometheus metrics of one app: requests, render durations, queues, webhook deliveries, and
engagement events accepted, duplicate and refused (by reason).

Each app owns its registry (two apps in one process never clash). Every label has a fixed,
small set of values, whatever clients send: routes are templates (``/r/{token}``, or
``<unmatched>``), never concrete paths, so tokens and ids stay out of the metrics; methods are
the standard ones (`METHODS`) or ``other`` (``curl -X FOOBAR1`` adds no series); outputs and
statuses come from the code. Campaign rows, render jobs and the webhook outbox are read from
the job store when ``/metrics`` is scraped; the render pools report their queue depth live.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Mapping

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from renderer.jobs.store import JobStore

log = logging.getLogger("tailor.api")
UNMATCHED = "<unmatched>"
OTHER_METHOD = "other"
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
# Microsites render in ~0.05 s, PDFs in ~0.3 s, videos in seconds to minutes.
RENDER_BUCKETS = (0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0)
DELIVERY_OUTCOMES = ("delivered", "failed", "dead")
EVENT_OUTCOMES = ("accepted", "duplicate")
# why POST /events refused events: body too large, not the schema, not declared by the template,
# rate limited, unknown or expired token, an unsupported content type
EVENT_REFUSALS = (
    "too_large",
    "malformed",
    "undeclared",
    "rate_limited",
    "unknown_token",
    "expired_token",
    "media_type",
)


def method_label(method: str) -> str:
    """`method` when it is one of `METHODS`, else ``other``: the method label has 8 values at most."""
    return method if method in METHODS else OTHER_METHOD


class Metrics:
    """The counters, histograms and gauges of one app, in their own registry."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "tailor_http_requests",
            "HTTP requests answered, by method (standard ones, else other), route template and status",
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
        self.render_duration = Histogram(
            "tailor_render_duration_seconds",
            "Time to render one output of one recipient (storing excluded), by output",
            ["output"],
            buckets=RENDER_BUCKETS,
            registry=self.registry,
        )
        self.queue_depth = Gauge(
            "tailor_render_queue_depth",
            "Renders handed to this process's render pool and not finished (waiting or running)",
            ["pool"],
            registry=self.registry,
        )
        self.deliveries = Counter(
            "tailor_webhook_deliveries",
            "Webhook delivery attempts by this process, by outcome (delivered, failed: retried, dead)",
            ["outcome"],
            registry=self.registry,
        )
        for outcome in DELIVERY_OUTCOMES:
            self.deliveries.labels(outcome)  # every outcome shows from the start, at 0
        self._count_streams()
        self._count_engagement()

    def _count_streams(self) -> None:
        """The counters of on-play streams, every piece at 0 from the start."""
        self.stream_fallbacks = Counter(
            "tailor_stream_fallbacks",
            "On-play segments of personal scenes not ready by the deadline, served as the fallback",
            registry=self.registry,
        )
        self.stream_renders = Counter(
            "tailor_stream_renders",
            "On-play pieces rendered by this app's stream processes, by piece (video, audio, fallback)",
            ["piece"],
            registry=self.registry,
        )
        for piece in ("video", "audio", "fallback"):
            self.stream_renders.labels(piece)

    def _count_engagement(self) -> None:
        """The counters of POST /events, every outcome and reason at 0 from the start."""
        self.events = Counter(
            "tailor_engagement_events",
            "Engagement events POST /events stored (accepted) or found stored already (duplicate)",
            ["outcome"],
            registry=self.registry,
        )
        self.events_refused = Counter(
            "tailor_engagement_events_refused",
            "Engagement events POST /events refused, by reason (a body that could not be read "
            "as a batch counts as one)",
            ["reason"],
            registry=self.registry,
        )
        for outcome in EVENT_OUTCOMES:
            self.events.labels(outcome)
        for reason in EVENT_REFUSALS:
            self.events_refused.labels(reason)

    def count_renders(self, outputs: list[str], status: str) -> None:
        """Count one render of each of `outputs`."""
        for output in outputs:
            self.renders.labels(output, status).inc()

    def observe_durations(self, durations: Mapping[str, float]) -> None:
        """Record how long each output took to render (output -> seconds)."""
        for output, seconds in durations.items():
            self.render_duration.labels(output).observe(seconds)

    def count_stream_render(self, piece: str) -> None:
        """Count one on-play piece this app's stream processes rendered (``video``, ``audio``,
        ``fallback``); pieces found stored or rendered elsewhere are not counted."""
        self.stream_renders.labels(piece).inc()

    def count_stream_fallback(self) -> None:
        """Count one personal segment served as its scene's fallback (it missed the deadline)."""
        self.stream_fallbacks.inc()

    def count_delivery(self, outcome: str) -> None:
        """Count one webhook delivery attempt that ended in `outcome` (one of `DELIVERY_OUTCOMES`)."""
        self.deliveries.labels(outcome).inc()

    def count_events(self, accepted: int, duplicates: int) -> None:
        """Count the events of one stored batch: new ones and those stored before (a retry)."""
        self.events.labels("accepted").inc(accepted)
        self.events.labels("duplicate").inc(duplicates)

    def count_refused(self, reason: str, events: int = 1) -> None:
        """Count `events` refused for `reason` (one of `EVENT_REFUSALS`)."""
        self.events_refused.labels(reason).inc(events)

    def watch_pool(self, name: str, depth: Callable[[], int]) -> None:
        """Report ``depth()`` as the queue depth of the render pool `name`, read on each scrape."""
        self.queue_depth.labels(name).set_function(depth)

    def watch_store(self, store: Callable[[], JobStore]) -> None:
        """Report campaign rows, campaigns, render jobs and webhook deliveries by status, read
        from the store on each scrape."""
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
            store = self.store()
            rows, campaigns = store.rows.count_by_status(), store.campaigns.count_by_status()
            jobs, deliveries = (
                store.render_jobs.count_by_status(),
                store.webhooks.count_deliveries_by_status(),
            )
        except Exception as exc:  # a scrape must never fail because the database is down
            log.warning("metrics: job store unavailable (%s)", type(exc).__name__)
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        yield _gauge("tailor_campaign_rows", "Campaign rows by status", rows)
        yield _gauge("tailor_campaigns", "Campaigns by status", campaigns)
        yield _gauge("tailor_render_jobs", "API render jobs by status (queued: waiting for a worker)", jobs)
        yield _gauge(
            "tailor_webhook_outbox", "Webhook deliveries by status (pending: not delivered yet)", deliveries
        )


def _gauge(name: str, documentation: str, counts: dict[str, int]) -> GaugeMetricFamily:
    gauge = GaugeMetricFamily(name, documentation, labels=["status"])
    for status, count in sorted(counts.items()):
        gauge.add_metric([status], count)
    return gauge


class MetricsMiddleware:
    """Pure ASGI middleware: counts every HTTP request and times it, labelled by route template
    and `method_label`."""

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
            method = method_label(str(scope.get("method", "GET")))
            self.metrics.requests.labels(method, route, str(status)).inc()
            self.metrics.latency.labels(method, route).observe(time.perf_counter() - started)


def _route_template(scope: Scope) -> str:
    route = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else UNMATCHED
