"""API fixtures: the real app in a real uvicorn server on a free loopback port, talked to over HTTP.

`serve(settings)` starts ``create_app(settings)`` in uvicorn on a background thread (lifespan on,
no access log: page tokens stay out of the test output) and stops it, lifespan included, on exit.
`api` is one server per test module on a throwaway SQLite job store and local storage, with an
API key; `make_api` starts more servers with other settings for one test. `Receiver` is a tiny
loopback HTTP server that records webhook deliveries.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from renderer.api import create_app
from renderer.api.keys import create_key
from renderer.data.synthetic import synthetic_rows
from renderer.jobs.store import open_store
from renderer.outputs.load import load_template
from renderer.settings import Settings, load_settings

START_TIMEOUT_S = 30.0


def bound_socket() -> socket.socket:
    """A loopback TCP socket bound to a port of the system's choosing, handed to uvicorn as is:
    the port is never chosen first and bound later, so no other process can take it between."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


def port_of(sock: socket.socket) -> int:
    """The port `sock` is bound to."""
    return int(sock.getsockname()[1])


@dataclass
class ApiServer:
    """A running API: its base URL, settings and one valid API key."""

    url: str
    settings: Settings
    key: str
    app: Any
    clients: list[httpx.Client] = field(default_factory=list)

    @property
    def segment(self) -> str:
        """The campaign segment of this key's one-off renders in storage keys (``api-<key id>``)."""
        store = open_store(self.settings.database_url)
        try:
            record = store.keys.verify(self.key)
        finally:
            store.close()
        assert record is not None
        return f"api-{record.id}"

    def client(self, key: str | None = "default", **options: Any) -> httpx.Client:
        """An httpx client on the server, sending `key` (the server's own by default, None: none)."""
        token = self.key if key == "default" else key
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        headers.update(options.pop("headers", {}))
        client = httpx.Client(base_url=self.url, headers=headers, timeout=60, trust_env=False, **options)
        self.clients.append(client)
        return client


def api_settings(root: Path, port: int, **overrides: Any) -> Settings:
    """Settings for a test server: SQLite and a local folder under `root`, 2 workers, no broker."""
    values: dict[str, Any] = {
        "database_url": f"sqlite:///{root / 'jobs.db'}",
        "storage_url": str(root / "out"),
        "workers": 2,
        "public_url": f"http://127.0.0.1:{port}",
        "chunk_size": 4,
    }
    values.update(overrides)
    settings = load_settings(**values)
    if "broker_url" not in overrides:
        settings = settings.model_copy(update={"broker_url": None})
    return settings


@contextmanager
def uvicorn_on(app: Any, sock: socket.socket, *, graceful_s: float | None = None) -> Iterator[int]:
    """Serve the ASGI `app` with uvicorn on the bound socket `sock` (lifespan on, no access log)
    from a background thread until the block ends, then stop it (lifespan included) and close
    the socket; the block gets the port."""
    port = port_of(sock)
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, log_level="warning", access_log=False,
        lifespan="on", ws="none", http="h11", loop="asyncio", timeout_graceful_shutdown=graceful_s,
    )  # fmt: skip
    server = uvicorn.Server(config)
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name=f"uvicorn-{port}", daemon=True
    )
    thread.start()
    deadline = time.monotonic() + START_TIMEOUT_S
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError(f"the server did not start on port {port}")
        time.sleep(0.02)
    try:
        yield port
    finally:
        server.should_exit = True
        thread.join(30)
        sock.close()


@contextmanager
def serve(settings: Settings, sock: socket.socket, *, key: bool = True) -> Iterator[ApiServer]:
    """Run the app for `settings` on the bound socket `sock` until the block ends (then closed)."""
    app = create_app(settings)
    with uvicorn_on(app, sock) as port:
        running = ApiServer(
            f"http://127.0.0.1:{port}", settings, create_key(settings, "tests") if key else "", app
        )
        try:
            yield running
        finally:
            for client in running.clients:
                client.close()


@contextmanager
def private_api(folder: Path) -> Iterator[ApiServer]:
    """A running API whose webhooks may reach loopback receivers (``webhook_allow_private``)."""
    sock = bound_socket()
    with serve(api_settings(folder, port_of(sock), webhook_allow_private=True), sock) as running:
        yield running


@pytest.fixture(scope="module", name="api")
def api_fixture(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiServer]:
    """One API server for the test module (SQLite, local storage, workers=2, no broker)."""
    sock = bound_socket()
    with serve(api_settings(tmp_path_factory.mktemp("api"), port_of(sock)), sock) as running:
        yield running


@pytest.fixture(name="make_api")
def make_api_fixture(tmp_path: Path) -> Iterator[Callable[..., ApiServer]]:
    """Start a server with settings overrides (``key=False`` when the store is unreachable)."""
    stack: list[Any] = []

    def make(*, key: bool = True, **overrides: Any) -> ApiServer:
        sock = bound_socket()
        root = tmp_path / f"api-{port_of(sock)}"
        root.mkdir()
        context = serve(api_settings(root, port_of(sock), **overrides), sock, key=key)
        stack.append(context)
        return context.__enter__()

    yield make
    for context in reversed(stack):
        context.__exit__(None, None, None)


# ---- data ----------------------------------------------------------------------------------------


def sample_rows(settings: Settings, rows: int, seed: int = 1) -> list[dict[str, Any]]:
    """Deterministic bill-summary recipients (the `tailor sample-data` generator)."""
    template = load_template("bill-summary", settings)
    locales = ["de-DE", "en-US", "fa-IR", "id-ID", "it-IT", "tr-TR"]
    return list(synthetic_rows(template.manifest.contract, locales, rows, seed))


def _cell(value: Any) -> str:
    if isinstance(value, list):
        return json.dumps(value, default=_cell, ensure_ascii=False)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.date | Decimal):
        return str(value) if isinstance(value, Decimal) else value.isoformat()
    return str(value)


def csv_bytes(rows: list[dict[str, Any]]) -> bytes:
    """The rows as a UTF-8 CSV file with a header."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({name: _cell(value) for name, value in row.items()})
    return buffer.getvalue().encode()


def wait_for(predicate: Callable[[], Any], timeout_s: float = 120.0, every_s: float = 0.2) -> Any:
    """Poll until `predicate()` is truthy; its value, or AssertionError after `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(every_s)
    raise AssertionError(f"condition not met within {timeout_s} s")


# ---- a webhook receiver ----------------------------------------------------------------------------


class Receiver:
    """A loopback HTTP server recording every POST (headers, body); answers `status` each time."""

    def __init__(self, statuses: list[int] | None = None) -> None:
        self.requests: list[tuple[dict[str, str], bytes]] = []
        self.statuses = list(statuses or [])
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                receiver.requests.append(({k.lower(): v for k, v in self.headers.items()}, body))
                status = receiver.statuses.pop(0) if receiver.statuses else 204
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self._thread = threading.Thread(target=self.server.serve_forever, name="receiver", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop serving."""
        self.server.shutdown()
        self.server.server_close()
        self._thread.join(10)


@pytest.fixture(name="receiver")
def receiver_fixture() -> Iterator[Receiver]:
    """A webhook receiver on a loopback port, stopped after the test."""
    running = Receiver()
    try:
        yield running
    finally:
        running.stop()
