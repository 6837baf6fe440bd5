"""Webhook attempts are counted when claimed, and DNS lookups are bounded by webhook_timeout_s."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from ipaddress import ip_address
from pathlib import Path
from typing import Any

import httpcore
import httpx
import pytest
from fixture_api import Receiver, receiver_fixture  # noqa: F401

from renderer.api.egress import GuardedBackend, delivery_client, url_refusal
from renderer.api.webhooks import SENDER_STOPPED, deliver_due, lease_s
from renderer.jobs.events import emit
from renderer.jobs.store import JobStore, open_store
from renderer.settings import load_settings


@pytest.fixture
def store(tmp_path: Path) -> Iterator[JobStore]:
    opened = open_store(f"sqlite:///{tmp_path / 'jobs.db'}")
    yield opened
    opened.close()


def _delivery(store: JobStore, receiver: Receiver) -> tuple[str, datetime]:
    hook = store.webhooks.add(receiver.url, "whsec_test", ["render.failed"])
    emit(store, "render.failed", {"render_id": "r1"})
    now = datetime.now(UTC)
    (delivery,) = store.webhooks.due_deliveries(now=now)
    assert delivery.webhook_id == hook.id
    return delivery.id, now


def test_a_sender_dying_mid_send_spends_its_attempts(
    store: JobStore, receiver: Receiver, tmp_path: Path
) -> None:
    settings = load_settings(
        database_url="sqlite://",
        storage_url=str(tmp_path),
        webhook_max_attempts=3,
        webhook_allow_private=True,
    )
    delivery_id, now = _delivery(store, receiver)
    lease = timedelta(seconds=lease_s(settings))
    at = now
    for _ in range(3):  # three dispatchers in a row claim it, then die before any answer
        assert store.webhooks.claim_delivery(delivery_id, lease.total_seconds(), now=at, max_attempts=3)
        at += lease
    with delivery_client(settings) as client:
        assert deliver_due(store, settings, client, now=at) == 0
        assert deliver_due(store, settings, client, now=at + timedelta(days=30)) == 0
    assert receiver.requests == []  # never sent a fourth time
    assert store.webhooks.due_deliveries(now=at + timedelta(days=365)) == []
    assert not store.webhooks.claim_delivery(delivery_id, 60, now=at + timedelta(days=365))
    (state,) = _deliveries(store)
    assert (state["status"], state["attempts"], state["last_error"]) == ("dead", 3, SENDER_STOPPED)


def test_an_attempt_after_a_dead_claimer_is_counted_once(
    store: JobStore, receiver: Receiver, tmp_path: Path
) -> None:
    settings = load_settings(
        database_url="sqlite://",
        storage_url=str(tmp_path),
        webhook_max_attempts=3,
        webhook_allow_private=True,
    )
    delivery_id, now = _delivery(store, receiver)
    assert store.webhooks.claim_delivery(delivery_id, lease_s(settings), now=now)  # and dies
    later = now + timedelta(seconds=lease_s(settings))
    with delivery_client(settings) as client:
        assert deliver_due(store, settings, client, now=later) == 1
    assert len(receiver.requests) == 1
    (state,) = _deliveries(store)
    assert (state["status"], state["attempts"]) == ("delivered", 2)


def _deliveries(store: JobStore) -> list[dict[str, Any]]:
    from sqlalchemy import select

    from renderer.jobs.schema import WebhookDelivery

    columns = (WebhookDelivery.status, WebhookDelivery.attempts, WebhookDelivery.last_error)
    with store.engine.connect() as connection:
        return [row._asdict() for row in connection.execute(select(*columns))]


# ---- DNS lookups within the time limit -------------------------------------------------------------


def _slow_resolver(seconds: float) -> Any:
    def resolve(host: str, port: int) -> list[Any]:
        time.sleep(seconds)
        return [ip_address("93.184.216.34")]

    return resolve


@pytest.mark.parametrize("allow_private", [False, True])
def test_a_slow_dns_lookup_ends_a_connection_attempt_in_time(allow_private: bool) -> None:
    backend = GuardedBackend(allow_private=allow_private, resolver=_slow_resolver(5))
    started = time.monotonic()
    with pytest.raises(httpcore.ConnectTimeout, match="DNS lookup"):
        backend.connect_tcp("hooks.example", 443, timeout=0.3)
    assert time.monotonic() - started < 1.5


def test_a_slow_dns_lookup_refuses_a_webhook_url_in_time() -> None:
    started = time.monotonic()
    reason = url_refusal(
        "https://hooks.example/x", allow_private=False, resolver=_slow_resolver(5), timeout_s=0.3
    )
    assert reason == "has a host that does not resolve in time"
    assert time.monotonic() - started < 1.5
    quick = url_refusal(
        "https://hooks.example/x", allow_private=False, resolver=_slow_resolver(0), timeout_s=2
    )
    assert quick is None


def test_a_slow_dns_lookup_is_a_failed_delivery_attempt(store: JobStore, tmp_path: Path) -> None:
    settings = load_settings(database_url="sqlite://", storage_url=str(tmp_path), webhook_timeout_s=0.3)
    store.webhooks.add("https://hooks.example/x", "whsec_test", ["render.failed"])
    emit(store, "render.failed", {"render_id": "r1"})
    transport = httpx.HTTPTransport(trust_env=False)
    transport._pool = httpcore.ConnectionPool(network_backend=GuardedBackend(resolver=_slow_resolver(5)))
    started = time.monotonic()
    with httpx.Client(transport=transport, trust_env=False) as client:
        assert deliver_due(store, settings, client) == 0
    assert time.monotonic() - started < 2
    (state,) = _deliveries(store)
    assert (state["status"], state["attempts"], state["last_error"]) == ("pending", 1, "ConnectTimeout")
