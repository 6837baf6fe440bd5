"""A real Redis for tests: Debian's redis-server on a free loopback port, one per test session.

`redis_server` (session) yields a `RedisServer` with `.url`, `.port`, `.stop()` and `.start()`, so a
test can take Redis down and bring it back on the same port. `redis_url` (function) makes sure the
server is up, empties it (FLUSHALL) and returns its URL. The process is terminated at the end of the
session whatever the tests did; nothing is persisted to disk (no RDB snapshots, no AOF).
"""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

REDIS_SERVER = Path("/usr/bin/redis-server")  # Debian's package; `make test` installs it
START_TIMEOUT_S = 10.0
STOP_TIMEOUT_S = 5.0


class RedisStartError(RuntimeError):
    """redis-server exited or did not answer PING in time; the message carries its log."""


def _free_port() -> int:
    """A loopback TCP port nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def connect(url: str) -> redis.Redis:
    """A client that fails at once when Redis is down (no retries, short connect timeout)."""
    return redis.Redis.from_url(url, socket_connect_timeout=0.5, retry=Retry(NoBackoff(), 0))


class RedisServer:
    """One redis-server process bound to 127.0.0.1:`port`; stop() and start() keep the port."""

    def __init__(self, workdir: Path, port: int) -> None:
        self.port = port
        self.url = f"redis://127.0.0.1:{port}/0"
        self.workdir = workdir
        self.log_path = workdir / "redis-server.log"
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def start(self) -> None:
        """Start redis-server (a no-op when it runs) and wait until it answers PING."""
        if self.running:
            return
        command = [
            str(REDIS_SERVER),
            "--port", str(self.port),
            "--bind", "127.0.0.1",
            "--save", "",
            "--appendonly", "no",
            "--dir", str(self.workdir),
        ]  # fmt: skip
        with self.log_path.open("ab") as log:
            self._process = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self._wait_until_ready()

    def stop(self) -> None:
        """Terminate redis-server (SIGTERM, then SIGKILL) and reap it; a no-op when it is down."""
        process, self._process = self._process, None
        if process is None:
            return
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                process.kill()
        process.wait()

    def _wait_until_ready(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT_S
        with connect(self.url) as client:
            while True:
                if self._process is not None and self._process.poll() is not None:
                    self._process.wait()
                    self._process = None
                    raise RedisStartError(f"redis-server exited on port {self.port}:\n{self._log_tail()}")
                try:
                    if client.ping():
                        return
                except redis.ConnectionError:
                    pass
                if time.monotonic() > deadline:
                    self.stop()
                    raise RedisStartError(
                        f"redis-server gave no PING answer on port {self.port} in {START_TIMEOUT_S:g}s:\n"
                        f"{self._log_tail()}"
                    )
                time.sleep(0.02)

    def _log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    """A real redis-server for the whole session, terminated at its end even if tests fail."""
    if not REDIS_SERVER.is_file():
        pytest.fail(
            f"{REDIS_SERVER} is missing: tests need a real Redis. `make test` installs it "
            "(Debian package redis-server), or: sudo apt-get install -y redis-server"
        )
    workdir = tmp_path_factory.mktemp("redis")
    server = None
    for attempt in range(3):  # another process may take the free port before redis-server binds it
        server = RedisServer(workdir, _free_port())
        try:
            server.start()
            break
        except RedisStartError:
            if attempt == 2:
                raise
    assert server is not None
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def redis_url(redis_server: RedisServer) -> str:
    """The session's Redis, started again if a test stopped it, emptied (FLUSHALL) before the test."""
    redis_server.start()
    with connect(redis_server.url) as client:
        client.flushall()
    return redis_server.url
