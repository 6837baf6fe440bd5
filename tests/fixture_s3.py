"""S3 fixtures: moto in server mode as a real subprocess, fake credentials, a bucket per test, and a
flaky proxy that answers ``503 SlowDown`` before relaying requests to moto verbatim.

Nothing here reads or writes ``~/.aws``; every process and thread started here is stopped here.
"""

from __future__ import annotations

import http.client
import os
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from renderer.settings import load_settings
from renderer.storage import open_storage

if TYPE_CHECKING:  # boto3 loads only when an S3 test runs
    from renderer.storage.s3 import S3Storage

REGION = "us-east-1"
MOTO_SERVER = Path(sys.executable).with_name("moto_server")
_HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "proxy-connection", "te", "upgrade"}
SLOW_DOWN = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>SlowDown</Code>'
    b"<Message>Please reduce your request rate.</Message><RequestId>flaky-proxy</RequestId></Error>"
)
NOT_IMPLEMENTED = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>NotImplemented</Code>'
    b"<Message>A header you provided implies functionality that is not implemented.</Message></Error>"
)


def free_port() -> int:
    """A loopback port that was free a moment ago (the caller retries if it is taken meanwhile)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _answers(port: int) -> bool:
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
        conn.request("GET", "/moto-api/")
        ok = conn.getresponse().status < 500
        conn.close()
        return ok
    except OSError:
        return False


def _start_moto(log: Path) -> tuple[subprocess.Popen[bytes], int]:
    for _try in range(3):
        port = free_port()
        command = [str(MOTO_SERVER), "-H", "127.0.0.1", "-p", str(port)]
        env = {name: value for name, value in os.environ.items() if not name.startswith("AWS_")}
        with log.open("ab") as sink:
            proc = subprocess.Popen(
                command, stdout=sink, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env
            )
        deadline = time.monotonic() + 30
        while proc.poll() is None and time.monotonic() < deadline:
            if _answers(port):
                return proc, port
            time.sleep(0.1)
        _stop(proc)  # exited (port taken?) or never answered: try another port
    raise RuntimeError(f"moto_server did not start; see {log}")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


@pytest.fixture(scope="session")
def moto_endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The URL of a moto S3 server running as a subprocess for the whole session."""
    log = tmp_path_factory.mktemp("moto") / "moto_server.log"
    proc, port = _start_moto(log)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        _stop(proc)


@pytest.fixture
def aws_credentials(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Fake credentials for this test only; profiles, ~/.aws files and instance metadata are cut off."""
    for name in list(os.environ):
        if name.startswith("AWS_") or name.startswith("TAILOR_S3_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    for name in ("NO_PROXY", "no_proxy"):  # loopback traffic never goes through a configured proxy
        monkeypatch.setenv(name, "127.0.0.1,localhost")


@pytest.fixture
def s3_admin(moto_endpoint: str, aws_credentials: None) -> Iterator[Any]:
    """A raw boto3 client on moto, for set-up and for looking behind S3Storage's back."""
    import boto3

    client = boto3.session.Session().client("s3", endpoint_url=moto_endpoint, region_name=REGION)
    yield client
    client.close()


@pytest.fixture
def s3_bucket(s3_admin: Any) -> Iterator[str]:
    """A new, empty bucket with a unique name, emptied and removed after the test."""
    name = f"tailor-test-{uuid.uuid4().hex[:16]}"
    s3_admin.create_bucket(Bucket=name)
    yield name
    for page in s3_admin.get_paginator("list_objects_v2").paginate(Bucket=name):
        for item in page.get("Contents", ()):
            s3_admin.delete_object(Bucket=name, Key=item["Key"])
    s3_admin.delete_bucket(Bucket=name)


@pytest.fixture
def make_s3_storage(moto_endpoint: str, s3_bucket: str) -> Iterator[Callable[..., S3Storage]]:
    """Open ``s3://{bucket}/root`` through `open_storage` with settings overrides (closed after the test)."""
    opened: list[S3Storage] = []

    from renderer.storage.s3 import S3Storage

    def make(endpoint: str | None = None, **overrides: Any) -> S3Storage:
        settings = load_settings(s3_endpoint_url=endpoint or moto_endpoint, s3_region=REGION, **overrides)
        storage = open_storage(f"s3://{s3_bucket}/root", settings)
        assert isinstance(storage, S3Storage)
        opened.append(storage)
        return storage

    yield make
    for storage in opened:
        storage.close()


@pytest.fixture
def s3_storage(make_s3_storage: Callable[..., S3Storage]) -> S3Storage:
    """An S3Storage on moto under ``s3://{unique bucket}/root``."""
    return make_s3_storage()


class FlakyProxy:
    """A loopback HTTP proxy in front of moto that records every request it sees.

    The next `failures` requests get ``503 SlowDown``; with `refuse_conditional` set, a request
    carrying ``If-None-Match`` gets ``501 NotImplemented`` (an S3 clone without conditional writes);
    every other request is relayed verbatim (method, path, query, headers, body) and so is the answer.
    """

    def __init__(self, upstream: str) -> None:
        host, port = upstream.removeprefix("http://").split(":")
        self.upstream = (host, int(port))
        self.failures = 0
        self.failed = 0
        self.relayed = 0
        self.refuse_conditional = False
        self.seen: list[tuple[str, str, dict[str, str]]] = []
        self._lock = threading.Lock()
        handler = type("Handler", (_ProxyHandler,), {"proxy": self})
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, name="flaky-proxy", daemon=True)
        self._thread.start()

    def fail_next(self, count: int) -> None:
        """Answer the next `count` requests with 503 SlowDown."""
        with self._lock:
            self.failures = count

    def answer(self, method: str, path: str, headers: dict[str, str]) -> int:
        """Record one request; the status to refuse it with, or 0 to relay it."""
        with self._lock:
            self.seen.append((method, path, headers))
            if self.refuse_conditional and "if-none-match" in headers:
                self.failed += 1
                return 501
            if self.failures > 0:
                self.failures -= 1
                self.failed += 1
                return 503
            self.relayed += 1
            return 0

    def stop(self) -> None:
        """Stop serving and join the server thread."""
        self.server.shutdown()
        self.server.server_close()
        self._thread.join(timeout=10)


class _ProxyHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    proxy: FlakyProxy

    def log_message(self, format: str, *args: Any) -> None:  # quiet: pytest shows stderr on failure
        pass

    def _body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            chunks = []
            while size := int(self.rfile.readline().split(b";")[0], 16):
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            while self.rfile.readline() not in (b"\r\n", b"\n", b""):  # trailers
                pass
            return b"".join(chunks)
        return self.rfile.read(int(self.headers.get("Content-Length", 0)))

    def _relay(self) -> None:
        body = self._body()
        headers = {name.lower(): value for name, value in self.headers.items()}
        refusal = self.proxy.answer(self.command, self.path, headers)
        if refusal:
            error = SLOW_DOWN if refusal == 503 else NOT_IMPLEMENTED
            self.send_response(refusal)
            self.send_header("Content-Type", "application/xml")
            self.send_header("Content-Length", str(len(error)))
            self.end_headers()
            if self.command != "HEAD":  # a body after a HEAD answer would corrupt the next response
                self.wfile.write(error)
            return
        conn = http.client.HTTPConnection(*self.proxy.upstream, timeout=30)
        try:
            conn.putrequest(self.command, self.path, skip_host=True, skip_accept_encoding=True)
            for name, value in self.headers.items():
                if name.lower() not in _HOP_BY_HOP:
                    conn.putheader(name, value)
            if "chunked" in headers.get("transfer-encoding", "").lower():
                conn.putheader("Content-Length", str(len(body)))  # same bytes, framed by length
            conn.endheaders(body or None)
            response = conn.getresponse()
            payload = response.read()
        finally:
            conn.close()
        self.send_response_only(response.status, response.reason)  # moto's Date and Server follow
        for name, value in response.getheaders():
            if name.lower() not in _HOP_BY_HOP and name.lower() != "content-length":
                self.send_header(name, value)
        length = response.getheader("Content-Length")
        self.send_header("Content-Length", length if self.command == "HEAD" and length else str(len(payload)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)

    do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _relay


@pytest.fixture
def flaky_proxy(moto_endpoint: str) -> Iterator[FlakyProxy]:
    """A FlakyProxy in front of moto; call ``fail_next(k)`` to make the next k requests fail."""
    proxy = FlakyProxy(moto_endpoint)
    yield proxy
    proxy.stop()
