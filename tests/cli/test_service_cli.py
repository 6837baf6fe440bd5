"""The service commands as a user runs them: `tailor serve` in its own process, `tailor api-key`."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from renderer.api.keys import create_key
from renderer.settings import load_settings, served_url

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _environment(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TAILOR_")}
    env.update(
        TAILOR_STORAGE_URL=str(tmp_path / "out"),
        TAILOR_DATABASE_URL=f"sqlite:///{tmp_path / 'jobs.db'}",
        TAILOR_WORKERS="1",
        PYTHONPATH=str(ROOT),
        **extra,
    )
    return env


@contextmanager
def tailor_serve(env: dict[str, str], port: int, log: Path) -> Iterator[str]:
    """`tailor serve --port PORT` in a child process until the block ends; yields its base URL."""
    command = [sys.executable, "-m", "renderer", "serve", "--host", "127.0.0.1", "--port", str(port)]
    url = f"http://127.0.0.1:{port}"
    with log.open("wb") as stderr:
        process = subprocess.Popen(command, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=stderr)
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, log.read_text()
            assert time.monotonic() < deadline, "tailor serve did not start"
            try:
                if httpx.get(url + "/healthz", timeout=2, trust_env=False).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.2)
        yield url
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)


def _settings(env: dict[str, str]) -> Any:
    return load_settings(storage_url=env["TAILOR_STORAGE_URL"], database_url=env["TAILOR_DATABASE_URL"])


# ---- tailor serve ----------------------------------------------------------------------------------


def test_served_url_names_a_reachable_host() -> None:
    assert served_url("127.0.0.1", 8123) == "http://127.0.0.1:8123"
    assert served_url("0.0.0.0", 80) == "http://localhost:80"
    assert served_url("::", 9000) == "http://localhost:9000"
    assert served_url("::1", 9000) == "http://[::1]:9000"
    assert served_url("api.example", 443) == "http://api.example:443"


@pytest.mark.slow
def test_serve_without_public_url_links_to_the_port_it_binds(tmp_path: Path) -> None:
    env, port = _environment(tmp_path), _free_port()
    key = create_key(_settings(env), "serve-test")
    with tailor_serve(env, port, tmp_path / "serve.log") as url:
        client = httpx.Client(
            base_url=url, headers={"Authorization": f"Bearer {key}"}, timeout=60, trust_env=False
        )
        with client:
            sample = client.get("/templates/bill-summary", params={"sample": "en-US"}).json()["sample"]
            body = {"recipient": sample, "outputs": ["microsite"]}
            render = client.post("/templates/bill-summary/renders", json=body)
            assert render.status_code == 200, render.text
            made = render.json()
            assert made["page_url"].startswith(f"{url}/r/"), made["page_url"]
            assert made["status_url"] == f"{url}/renders/{made['id']}"
            page = client.get(made["page_url"], follow_redirects=True)
            assert page.status_code == 200 and page.url.port == port


@pytest.mark.slow
def test_serve_keeps_a_configured_public_url(tmp_path: Path) -> None:
    env, port = _environment(tmp_path, TAILOR_PUBLIC_URL="https://tailor.example/"), _free_port()
    key = create_key(_settings(env), "serve-test")
    with tailor_serve(env, port, tmp_path / "serve.log") as url:
        headers = {"Authorization": f"Bearer {key}"}
        with httpx.Client(base_url=url, headers=headers, timeout=60, trust_env=False) as client:
            sample = client.get("/templates/bill-summary", params={"sample": "en-US"}).json()["sample"]
            render = client.post(
                "/templates/bill-summary/renders", json={"recipient": sample, "outputs": ["microsite"]}
            )
            assert render.status_code == 200, render.text
            assert render.json()["page_url"].startswith("https://tailor.example/r/")


# ---- tailor api-key ----------------------------------------------------------------------------------


def _tailor(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "renderer", *args]
    return subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True, timeout=120)


def test_api_keys_are_listed_and_revoked(tmp_path: Path) -> None:
    env = {**_environment(tmp_path), "COLUMNS": "200"}
    created = _tailor(env, "api-key", "create", "crm")
    assert created.returncode == 0, created.stderr
    secret = created.stdout.strip()
    key_id = created.stderr.split("created API key ", 1)[1].split()[0]
    _tailor(env, "api-key", "create", "billing")

    listed = _tailor(env, "api-key", "list")
    assert listed.returncode == 0, listed.stderr
    rows = [line for line in listed.stdout.splitlines() if key_id in line]
    assert len(rows) == 1 and "crm" in rows[0] and rows[0].rstrip(" │|").endswith("-")
    assert "billing" in listed.stdout and secret not in listed.stdout and "tk_" not in listed.stdout

    store_settings = _settings(env)
    from renderer.jobs.store import open_store

    store = open_store(store_settings.database_url)
    try:
        assert store.keys.verify(secret) is not None
        revoked = _tailor(env, "api-key", "revoke", key_id)
        assert revoked.returncode == 0, revoked.stderr
        assert store.keys.verify(secret) is None
    finally:
        store.close()
    again = _tailor(env, "api-key", "revoke", key_id)
    assert again.returncode == 1 and "no active API key" in again.stderr
    after = _tailor(env, "api-key", "list").stdout
    (row,) = [line for line in after.splitlines() if key_id in line]
    assert not row.rstrip(" │|").endswith("-")  # a revocation time
