"""`tailor serve` as a real process, stopped with SIGTERM (what `docker stop` and systemd send):
nothing stays in the temporary folder (multiprocessing's ``pymp-*``, an ingest's
``tailor-ingest-*``), and a campaign interrupted mid-ingest stops within a batch, resumable."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fixture_api import csv_bytes, sample_rows, wait_for
from fixture_s3 import free_port

from renderer.api.keys import create_key
from renderer.settings import PROJECT_ROOT, load_settings

pytestmark = pytest.mark.slow


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[bytes], str, str, Path]]:
    """A `tailor serve` process with its own TMPDIR, storage and SQLite store; its URL and key."""
    tmp, out = tmp_path / "tmp", tmp_path / "out"
    tmp.mkdir()
    port = free_port()
    env = {
        **os.environ,
        "TMPDIR": str(tmp),
        "TAILOR_STORAGE_URL": str(out),
        "TAILOR_DATABASE_URL": f"sqlite:///{tmp_path / 'jobs.db'}",
        "TAILOR_WORKERS": "2",
        "TAILOR_PUBLIC_URL": f"http://127.0.0.1:{port}",
        "PYTHONPATH": str(PROJECT_ROOT),
    }
    env.pop("TAILOR_BROKER_URL", None)
    key = create_key(load_settings(database_url=env["TAILOR_DATABASE_URL"], storage_url=str(out)), "t")
    command = [sys.executable, "-m", "renderer", "serve", "--port", str(port)]
    process = subprocess.Popen(
        command, cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    url = f"http://127.0.0.1:{port}"

    def ready() -> bool:
        try:
            return httpx.get(f"{url}/healthz", timeout=2).status_code == 200
        except httpx.TransportError:
            assert process.poll() is None, "tailor serve exited"
            return False

    try:
        wait_for(ready, 60)
        yield process, url, key, tmp
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(10)


def _stop(process: subprocess.Popen[bytes]) -> int:
    process.send_signal(signal.SIGTERM)
    return process.wait(90)


def test_a_graceful_shutdown_leaves_no_pymp_folder(
    server: tuple[subprocess.Popen[bytes], str, str, Path],
) -> None:
    process, _url, _key, tmp = server
    assert list(tmp.glob("pymp-*")), "the render processes started (a fork server)"
    assert _stop(process) == 128 + signal.SIGTERM
    assert list(tmp.iterdir()) == []


def test_a_server_stopped_mid_ingest_leaves_nothing_and_the_campaign_resumable(
    server: tuple[subprocess.Popen[bytes], str, str, Path], tmp_path: Path
) -> None:
    process, url, key, tmp = server
    data = csv_bytes(sample_rows(load_settings(), 3000, seed=8))
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {key}"}, timeout=60) as client:
        form = {"template": "bill-summary", "outputs": "microsite,pdf"}
        created = client.post("/campaigns", data=form, files={"file": ("r.csv", data, "text/csv")})
        assert created.status_code == 201, created.text
        campaign_id = created.json()["id"]
        wait_for(lambda: client.get(f"/campaigns/{campaign_id}").json()["done"] >= 2, 120)
        assert list(tmp.glob("tailor-ingest-*")), "the ingest is under way"
    assert _stop(process) == 128 + signal.SIGTERM
    assert list(tmp.iterdir()) == [], "no tailor-ingest-* or pymp-* folder is left"
    with sqlite3.connect(tmp_path / "jobs.db") as connection:
        status, error, total = connection.execute(
            "select status, error, total from campaigns where id = ?", (campaign_id,)
        ).fetchone()
        rows = connection.execute("select count(*) from campaign_rows").fetchone()[0]
    assert (status, total) == ("failed", None) and "resume it" in error
    assert rows < 3000, "the ingest stopped instead of streaming the whole file"
