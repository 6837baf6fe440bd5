"""Webhooks: signed deliveries to a loopback receiver, retries with backoff, and the signature itself."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from fixture_api import ApiServer, Receiver, api_fixture, csv_bytes, receiver_fixture, sample_rows, wait_for  # noqa: F401

from renderer.api.webhooks import backoff_s, deliver_due, emit, sign, verify
from renderer.jobs.store import JobStore, open_store
from renderer.settings import load_settings


def _events(receiver: Receiver, count: int) -> list[tuple[dict[str, str], bytes]]:
    wait_for(lambda: len(receiver.requests) >= count, timeout_s=60)
    return receiver.requests[:count]


@pytest.mark.pdf
def test_render_events_are_delivered_signed(api: ApiServer, receiver: Receiver) -> None:
    registered = api.client().post("/webhooks", json={"url": receiver.url, "events": ["render.completed"]})
    assert registered.status_code == 201, registered.text
    hook = registered.json()
    assert hook["secret"].startswith("whsec_") and hook["events"] == ["render.completed"]
    sample = api.client().get("/templates/bill-summary").json()["sample"]
    rendered = api.client().post("/templates/bill-summary/renders", json={"recipient": sample}).json()

    [(headers, body)] = _events(receiver, 1)
    assert verify(hook["secret"], body, headers["tailor-signature"])
    assert not verify(hook["secret"], body + b" ", headers["tailor-signature"])
    assert not verify("whsec_wrong", body, headers["tailor-signature"])
    delivery = json.loads(body)
    assert headers["tailor-event"] == delivery["event"] == "render.completed"
    assert headers["tailor-delivery"] == delivery["id"]
    assert delivery["data"]["render_id"] == rendered["id"] and delivery["data"]["status"] == "done"
    assert "Emily" not in body.decode() and "/r/" not in body.decode()


@pytest.mark.pdf
def test_a_renders_own_webhook_url_hears_about_it(api: ApiServer, receiver: Receiver) -> None:
    sample = api.client().get("/templates/bill-summary", params={"sample": "it-IT"}).json()["sample"]
    body = {"recipient": sample, "outputs": ["microsite"], "webhook_url": receiver.url}
    rendered = api.client().post("/templates/bill-summary/renders", json=body).json()
    secret = rendered["webhook_secret"]
    [(headers, payload)] = _events(receiver, 1)
    assert verify(secret, payload, headers["tailor-signature"])
    assert json.loads(payload)["data"]["render_id"] == rendered["id"]
    assert api.client().get(f"/renders/{rendered['id']}").json()["webhook_secret"] is None  # shown once


@pytest.mark.slow
@pytest.mark.pdf
def test_campaign_completion_is_delivered(api: ApiServer, receiver: Receiver) -> None:
    hook = api.client().post("/webhooks", json={"url": receiver.url, "events": ["campaign.completed"]}).json()
    files = {"file": ("r.csv", csv_bytes(sample_rows(api.settings, 2, seed=5)), "text/csv")}
    created = api.client().post("/campaigns", data={"template": "bill-summary"}, files=files).json()
    [(headers, payload)] = _events(receiver, 1)
    assert verify(hook["secret"], payload, headers["tailor-signature"])
    data = json.loads(payload)["data"]
    assert (data["campaign_id"], data["status"], data["done"]) == (created["id"], "done", 2)


def test_webhook_registration_is_checked(api: ApiServer) -> None:
    client = api.client()
    for body in (
        {"url": "ftp://example.com/hook"},
        {"url": "not a url"},
        {"url": "https://example.com/hook", "events": ["render.exploded"]},
        {"url": "https://example.com/hook", "events": []},
        {"url": "https://example.com/hook", "secret": "short"},
    ):
        answer = client.post("/webhooks", json=body)
        assert answer.status_code == 422 and answer.json()["error"]["code"] == "invalid_request", body
    chosen = client.post("/webhooks", json={"url": "https://example.com/h", "secret": "s" * 20}).json()
    assert chosen["secret"] == "s" * 20 and len(chosen["events"]) == 4


# ---- the dispatcher's logic, without a server ------------------------------------------------------------


@pytest.fixture
def store(tmp_path: Path) -> Iterator[JobStore]:
    opened = open_store(f"sqlite:///{tmp_path / 'jobs.db'}")
    yield opened
    opened.close()


def test_failed_deliveries_back_off_then_succeed(store: JobStore, tmp_path: Path) -> None:
    settings = load_settings(database_url="sqlite://", storage_url=str(tmp_path), webhook_max_attempts=3)
    hook = store.add_webhook("http://receiver.test/hook", "whsec_test", ["render.failed"])
    other = store.add_webhook("http://receiver.test/other", "whsec_test", ["render.failed"], api_key_id=None)
    assert emit(store, "render.failed", {"render_id": "r1"}) == 2
    answers = iter([500, 204, 204])
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.url.path == "/other":
            return httpx.Response(204)
        return httpx.Response(next(answers))

    now = datetime.now(UTC)
    with httpx.Client(transport=httpx.MockTransport(answer)) as client:
        assert deliver_due(store, settings, client, now=now) == 1  # /other at once, /hook failed
        assert store.due_deliveries(now=now + timedelta(seconds=4)) == []
        [retry] = store.due_deliveries(now=now + timedelta(seconds=6))
        assert (retry.webhook_id, retry.attempts, retry.last_error) == (hook.id, 1, "HTTP 500")
        assert deliver_due(store, settings, client, now=now + timedelta(seconds=6)) == 1
    assert store.due_deliveries(now=now + timedelta(days=1)) == []
    signed = seen[-1]
    assert verify("whsec_test", signed.content, signed.headers["tailor-signature"])
    assert other.id != hook.id


def test_deliveries_give_up_after_max_attempts(store: JobStore, tmp_path: Path) -> None:
    settings = load_settings(database_url="sqlite://", storage_url=str(tmp_path), webhook_max_attempts=2)
    store.add_webhook("http://receiver.test/hook", "whsec_test", ["campaign.failed"])
    emit(store, "campaign.failed", {"campaign_id": "c1"})

    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    now = datetime.now(UTC)
    with httpx.Client(transport=httpx.MockTransport(refuse)) as client:
        deliver_due(store, settings, client, now=now)
        deliver_due(store, settings, client, now=now + timedelta(hours=2))
    assert store.due_deliveries(now=now + timedelta(days=30)) == []  # dead, not retried forever


def test_events_reach_only_webhooks_of_the_same_key(store: JobStore) -> None:
    mine = store.create_api_key("mine")[1]
    theirs = store.create_api_key("theirs")[1]
    store.add_webhook("http://a.test/", "s", ["render.completed"], api_key_id=mine.id)
    store.add_webhook("http://b.test/", "s", ["render.completed"], api_key_id=theirs.id)
    store.add_webhook("http://c.test/", "s", ["render.completed"])  # registered outside the API
    assert emit(store, "render.completed", {}, api_key_id=mine.id) == 2
    with pytest.raises(ValueError):
        emit(store, "render.exploded", {})


def test_signature_format_and_tolerance() -> None:
    body = b'{"event":"render.completed"}'
    header = sign("whsec_x", body, 1_700_000_000)
    assert header.startswith("t=1700000000,v1=") and len(header.split("v1=")[1]) == 64
    assert verify("whsec_x", body, header, now=1_700_000_100)
    assert not verify("whsec_x", body, header, now=1_700_000_000 + 301)  # replayed too late
    assert not verify("whsec_x", body, "v1=abc") and not verify("whsec_x", body, "t=x,v1=abc")
    assert verify("whsec_x", body, sign("whsec_x", body, int(time.time())))
    assert [backoff_s(n) for n in (1, 2, 3)] == [5.0, 10.0, 20.0] and backoff_s(50) == 3600.0
