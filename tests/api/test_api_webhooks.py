"""Webhooks: signed deliveries to a loopback receiver, retries with backoff, the signature itself,
the refusal of internal addresses (registration and connection), and one delivery per claim."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from ipaddress import ip_address
from pathlib import Path
from typing import Any

import httpcore
import httpx
import pytest
from fixture_api import (  # noqa: F401
    ApiServer,
    Receiver,
    api_settings,
    bound_socket,
    csv_bytes,
    make_api_fixture,
    port_of,
    private_api,
    receiver_fixture,
    sample_rows,
    serve,
    wait_for,
)

from renderer.api.egress import (
    AddressNotAllowed,
    GuardedBackend,
    address_allowed,
    delivery_client,
    url_refusal,
)
from renderer.api.webhooks import Dispatcher, backoff_s, deliver_due, emit, sign, verify
from renderer.jobs.store import JobStore, open_store
from renderer.settings import Settings, load_settings


@pytest.fixture(scope="module", name="api")
def private_api_fixture(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiServer]:
    """One API server for the module that may deliver to loopback receivers."""
    with private_api(tmp_path_factory.mktemp("api")) as running:
        yield running


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
    assert chosen["secret"] == "s" * 20 and len(chosen["events"]) == 5  # every event, form.submitted included


# ---- the dispatcher's logic, without a server ------------------------------------------------------------


@pytest.fixture
def store(tmp_path: Path) -> Iterator[JobStore]:
    opened = open_store(f"sqlite:///{tmp_path / 'jobs.db'}")
    yield opened
    opened.close()


def test_failed_deliveries_back_off_then_succeed(store: JobStore, tmp_path: Path) -> None:
    settings = load_settings(database_url="sqlite://", storage_url=str(tmp_path), webhook_max_attempts=3)
    hook = store.webhooks.add("http://receiver.test/hook", "whsec_test", ["render.failed"])
    other = store.webhooks.add("http://receiver.test/other", "whsec_test", ["render.failed"], api_key_id=None)
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
        assert store.webhooks.due_deliveries(now=now + timedelta(seconds=4)) == []
        [retry] = store.webhooks.due_deliveries(now=now + timedelta(seconds=6))
        assert (retry.webhook_id, retry.attempts, retry.last_error) == (hook.id, 1, "HTTP 500")
        assert deliver_due(store, settings, client, now=now + timedelta(seconds=6)) == 1
    assert store.webhooks.due_deliveries(now=now + timedelta(days=1)) == []
    signed = seen[-1]
    assert verify("whsec_test", signed.content, signed.headers["tailor-signature"])
    assert other.id != hook.id


def test_deliveries_give_up_after_max_attempts(store: JobStore, tmp_path: Path) -> None:
    settings = load_settings(database_url="sqlite://", storage_url=str(tmp_path), webhook_max_attempts=2)
    store.webhooks.add("http://receiver.test/hook", "whsec_test", ["campaign.failed"])
    emit(store, "campaign.failed", {"campaign_id": "c1"})

    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    now = datetime.now(UTC)
    with httpx.Client(transport=httpx.MockTransport(refuse)) as client:
        deliver_due(store, settings, client, now=now)
        deliver_due(store, settings, client, now=now + timedelta(hours=2))
    assert store.webhooks.due_deliveries(now=now + timedelta(days=30)) == []  # dead, not retried forever


def test_a_receivers_answer_body_is_never_read(store: JobStore, tmp_path: Path) -> None:
    """A receiver streaming an endless body cannot stall the dispatcher: only the status counts."""
    settings = load_settings(database_url="sqlite://", storage_url=str(tmp_path))
    store.webhooks.add("http://receiver.test/hook", "whsec_test", ["render.failed"])
    emit(store, "render.failed", {"render_id": "r1"})
    chunks_read = []

    def endless() -> Iterator[bytes]:
        while len(chunks_read) < 1000:
            chunks_read.append(1)
            yield b"x" * 65536
        raise AssertionError("the dispatcher read the receiver's body")

    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=endless())

    with httpx.Client(transport=httpx.MockTransport(answer)) as client:
        assert deliver_due(store, settings, client) == 1
    assert chunks_read == []


def test_an_unparsable_stored_url_fails_its_delivery_not_the_round(store: JobStore, tmp_path: Path) -> None:
    settings = load_settings(database_url="sqlite://", storage_url=str(tmp_path))
    store.webhooks.add("http://[::1/hook", "whsec_test", ["render.failed"])
    store.webhooks.add("http://receiver.test/hook", "whsec_test", ["render.failed"])
    emit(store, "render.failed", {"render_id": "r1"})
    now = datetime.now(UTC)
    with httpx.Client(transport=httpx.MockTransport(lambda request: httpx.Response(204))) as client:
        assert deliver_due(store, settings, client, now=now) == 1  # the good one, after the bad one
    [bad] = store.webhooks.due_deliveries(now=now + timedelta(hours=1))
    assert bad.last_error == "invalid URL"


def test_events_reach_only_webhooks_of_the_same_key(store: JobStore) -> None:
    mine = store.keys.create("mine")[1]
    theirs = store.keys.create("theirs")[1]
    store.webhooks.add("http://a.test/", "s", ["render.completed"], api_key_id=mine.id)
    store.webhooks.add("http://b.test/", "s", ["render.completed"], api_key_id=theirs.id)
    store.webhooks.add("http://c.test/", "s", ["render.completed"])  # registered outside the API
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


# ---- internal addresses: refused at registration and at connection -----------------------------------

INTERNAL_URLS = [
    "http://127.0.0.1/hook",
    "http://10.0.0.1/",
    "http://169.254.169.254/latest/meta-data/",
    "http://[::1]/",
    "http://[::ffff:127.0.0.1]/",
    "http://user:pw@example.com/",
    "http://localhost:8080/hook",
    "https://no-such-host.invalid/hook",
]


def test_internal_webhook_urls_are_refused(make_api: Callable[..., ApiServer]) -> None:
    api = make_api()  # webhook_allow_private off, as in production
    assert api.settings.webhook_allow_private is False
    client = api.client()
    sample = client.get("/templates/bill-summary").json()["sample"]
    for url in INTERNAL_URLS:
        answer = client.post("/webhooks", json={"url": url})
        assert answer.status_code == 422, (url, answer.text)
        error = answer.json()["error"]
        assert (error["code"], error["field"]) == ("webhook_url_not_allowed", "url"), url
        assert "pw" not in error["message"] and "169.254" not in error["message"]
        body = {"recipient": sample, "outputs": ["microsite"], "webhook_url": url}
        answer = client.post("/templates/bill-summary/renders", json=body)
        assert answer.status_code == 422, (url, answer.text)
        error = answer.json()["error"]
        assert (error["code"], error["field"]) == ("webhook_url_not_allowed", "webhook_url"), url
    public = client.post("/webhooks", json={"url": "http://93.184.215.14/hook"})  # an IP: no DNS asked
    assert public.status_code == 201, public.text
    store = open_store(api.settings.database_url)
    try:
        assert [hook.url for hook in store.webhooks.subscribed_to("render.completed")] == [
            "http://93.184.215.14/hook"
        ]
    finally:
        store.close()


def test_allowing_private_addresses_still_refuses_credentials(api: ApiServer) -> None:
    assert api.settings.webhook_allow_private is True
    client = api.client()
    assert client.post("/webhooks", json={"url": "http://10.0.0.1/hook"}).status_code == 201
    answer = client.post("/webhooks", json={"url": "https://user:pw@10.0.0.1/hook"})
    assert answer.status_code == 422 and answer.json()["error"]["code"] == "webhook_url_not_allowed"
    assert "pw" not in answer.text


def _resolving_to(*addresses: str) -> Callable[[str, int], list[Any]]:
    return lambda host, port: [ip_address(address) for address in addresses]


def _unresolvable(host: str, port: int) -> list[Any]:
    raise OSError("no such host")


def test_url_refusal_judges_every_address_a_host_resolves_to() -> None:
    public = _resolving_to("93.184.215.14", "2606:2800:21f:cb07:6820:80da:af6b:8b2c")
    assert url_refusal("https://hooks.example/x", allow_private=False, resolver=public) is None
    for resolver in (
        _resolving_to("10.1.2.3"),
        _resolving_to("93.184.215.14", "127.0.0.1"),  # one internal address is enough
        _resolving_to("::ffff:192.168.1.1"),
        _resolving_to(),
        _unresolvable,
    ):
        assert url_refusal("https://hooks.example/x", allow_private=False, resolver=resolver) is not None
    assert url_refusal("https://hooks.example/x", allow_private=True, resolver=_unresolvable) is None
    assert url_refusal("ftp://hooks.example/x", allow_private=True) is not None
    assert url_refusal("https://a:b@hooks.example/x", allow_private=True) is not None


@pytest.mark.parametrize(
    ("address", "allowed"),
    [
        ("93.184.215.14", True),
        ("2606:2800:21f:cb07:6820:80da:af6b:8b2c", True),
        ("::ffff:93.184.215.14", True),
        ("127.0.0.1", False),
        ("0.0.0.0", False),
        ("10.0.0.1", False),
        ("100.64.0.1", False),  # carrier-grade NAT
        ("169.254.169.254", False),
        ("224.0.0.1", False),  # multicast
        ("::1", False),
        ("fe80::1", False),
        ("fd00::1", False),
        ("::ffff:127.0.0.1", False),  # IPv4-mapped
        ("::ffff:10.0.0.1", False),
        ("2002:7f00:1::1", False),  # 6to4 of 127.0.0.1
        ("64:ff9b::a9fe:a9fe", False),  # NAT64 of 169.254.169.254
    ],
)
def test_address_allowed(address: str, allowed: bool) -> None:
    assert address_allowed(ip_address(address)) is allowed


def _settings(tmp_path: Path, **overrides: Any) -> Settings:
    return load_settings(database_url="sqlite://", storage_url=str(tmp_path), **overrides)


def test_delivery_connections_to_internal_addresses_are_refused(
    store: JobStore, receiver: Receiver, tmp_path: Path
) -> None:
    """A hook whose host is (or has since come to resolve to) loopback: the guarded client never
    connects, the attempt fails as ``address not allowed`` and is retried like any failure."""
    hook = store.webhooks.add(receiver.url, "whsec_test", ["render.completed"])  # stored before the check
    emit(store, "render.completed", {"render_id": "r1"})
    now = datetime.now(UTC)
    with delivery_client(_settings(tmp_path)) as client:
        assert deliver_due(store, _settings(tmp_path), client, now=now) == 0
    assert receiver.requests == []
    [retry] = store.webhooks.due_deliveries(now=now + timedelta(minutes=1))
    assert (retry.webhook_id, retry.attempts, retry.last_error) == (hook.id, 1, "address not allowed")
    allowed = _settings(tmp_path, webhook_allow_private=True)
    with delivery_client(allowed) as client:  # the same receiver is reachable: the guard did it
        assert deliver_due(store, allowed, client, now=now + timedelta(minutes=1)) == 1
    assert len(receiver.requests) == 1


def test_the_guarded_backend_connects_only_to_checked_addresses(receiver: Receiver) -> None:
    port = int(receiver.url.split(":")[2].split("/")[0])
    rebound = GuardedBackend(resolver=_resolving_to("127.0.0.1"))  # a public name now pointing home
    with pytest.raises(AddressNotAllowed):
        rebound.connect_tcp("hooks.example", port, timeout=5)
    with pytest.raises(httpcore.ConnectError):
        GuardedBackend(resolver=_unresolvable).connect_tcp("hooks.example", port, timeout=5)
    with pytest.raises(AddressNotAllowed):
        GuardedBackend().connect_unix_socket("/run/docker.sock")
    stream = GuardedBackend(allow_private=True).connect_tcp("127.0.0.1", port, timeout=5)
    stream.close()


# ---- several dispatchers on one outbox ------------------------------------------------------------------


def test_concurrent_dispatchers_deliver_each_event_once(
    job_store_url: str, receiver: Receiver, tmp_path: Path
) -> None:
    settings = _settings(tmp_path, webhook_allow_private=True)
    stores = [open_store(job_store_url) for _ in range(3)]
    try:
        hook = stores[0].webhooks.add(receiver.url, "whsec_test", ["render.completed"])
        ids = {
            stores[0].webhooks.enqueue_delivery(hook.id, "render.completed", {"n": n}).id for n in range(20)
        }
        barrier = threading.Barrier(len(stores))
        delivered = [0] * len(stores)

        def dispatch(index: int) -> None:
            with delivery_client(settings) as client:
                barrier.wait()
                delivered[index] = deliver_due(stores[index], settings, client)

        threads = [threading.Thread(target=dispatch, args=(i,)) for i in range(len(stores))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        received = [headers["tailor-delivery"] for headers, _ in receiver.requests]
        assert sorted(received) == sorted(ids)  # every one, none twice
        assert sum(delivered) == len(ids)
        assert stores[0].webhooks.due_deliveries(now=datetime.now(UTC) + timedelta(days=1)) == []
    finally:
        for opened in stores:
            opened.close()


# ---- expired page links -----------------------------------------------------------------------------------


def test_the_dispatcher_purges_long_expired_page_links(store: JobStore, tmp_path: Path) -> None:
    long_ago = datetime.now(UTC) - timedelta(days=3)
    stale = store.links.create("bill-summary", "spring", "C-1", ttl_s=3600, now=long_ago)
    recent = store.links.create(
        "bill-summary", "spring", "C-2", ttl_s=60, now=datetime.now(UTC) - timedelta(hours=1)
    )
    live = store.links.create("bill-summary", "spring", "C-3", ttl_s=3600)
    dispatcher = Dispatcher(lambda: store, _settings(tmp_path), interval_s=0.05)
    dispatcher.start()
    try:
        wait_for(lambda: not store.links.exists(stale), timeout_s=10, every_s=0.05)
    finally:
        dispatcher.stop()
    assert store.links.exists(recent)  # expired an hour ago: still answers 410, not 404
    assert store.links.resolve(live) is not None


def test_the_dispatcher_purges_render_claims_whose_lease_ended(store: JobStore, tmp_path: Path) -> None:
    assert store.claims.claim(
        "cache/video/dead.m4s", "died", lease_s=1, now=datetime.now(UTC) - timedelta(minutes=1)
    )
    assert store.claims.claim("cache/video/live.m4s", "rendering", lease_s=3600)
    dispatcher = Dispatcher(lambda: store, _settings(tmp_path), interval_s=0.05)
    dispatcher.start()
    try:
        wait_for(lambda: store.claims.holder("cache/video/dead.m4s") is None, timeout_s=10, every_s=0.05)
    finally:
        dispatcher.stop()
    held = store.claims.holder("cache/video/live.m4s")
    assert held is not None and held.owner == "rendering"
