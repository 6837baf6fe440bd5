"""`tailor --version`, settings from a `.env` file, and JSON logs (`TAILOR_LOG_FORMAT=json`) that
carry the request id (API) or campaign id (workers) and no personal values, from real processes."""

from __future__ import annotations

import json
import logging
import os
import re
import signal
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path
from typing import Any

import httpx
import pytest
from fixture_api import wait_for
from fixture_s3 import free_port

from renderer.api.keys import create_key
from renderer.logs import bind, configure_logging
from renderer.settings import PROJECT_ROOT, load_settings


def _tailor(cwd: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("TAILOR_")}
    environment.update(PYTHONPATH=str(PROJECT_ROOT), **env)
    command = [sys.executable, "-m", "renderer", *args]
    return subprocess.run(command, cwd=cwd, env=environment, capture_output=True, text=True, timeout=300)


def _json_lines(text: str) -> list[dict[str, Any]]:
    lines = [line for line in text.splitlines() if line.strip() and "━" not in line]
    return [json.loads(line) for line in lines]  # every log line is one JSON object


def test_version(tmp_path: Path) -> None:
    result = _tailor(tmp_path, "--version")
    assert result.returncode == 0 and result.stdout.strip() == f"tailor {version('tailor')}"


def test_settings_come_from_a_dotenv_file_under_the_environment(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text(
        f"# deployment\nTAILOR_STORAGE_URL={tmp_path / 'from-env-file'}\nAWS_PROFILE=elsewhere\n",
        encoding="utf-8",
    )
    args = ("render", "bill-summary", "--sample", "de-DE", "--outputs", "microsite")
    result = _tailor(tmp_path, *args)
    assert result.returncode == 0, result.stderr
    assert len(list((tmp_path / "from-env-file").rglob("index.html"))) == 1
    over = _tailor(tmp_path, *args, TAILOR_STORAGE_URL=str(tmp_path / "from-environment"))
    assert over.returncode == 0, over.stderr
    assert len(list((tmp_path / "from-environment").rglob("index.html"))) == 1, "the environment wins"


def test_worker_log_lines_are_json_with_the_campaign_id(tmp_path: Path) -> None:
    data = tmp_path / "r.csv"
    assert _tailor(tmp_path, "sample-data", "bill-summary", "--rows", "4", "--out", str(data)).returncode == 0
    env = {"TAILOR_LOG_FORMAT": "json", "TAILOR_LOG_LEVEL": "DEBUG", "TAILOR_WORKERS": "2"}
    args = ("campaign", "bill-summary", str(data), "--out", str(tmp_path / "o"), "--campaign", "logged")
    result = _tailor(tmp_path, *args, "--outputs", "microsite", **env)
    assert result.returncode == 0, result.stderr
    lines = _json_lines(result.stderr)
    chunks = [line for line in lines if line["logger"] == "tailor.worker"]
    assert chunks and all(line["campaign_id"] == "logged" for line in chunks)
    assert "alembic" not in result.stderr, "job store opens are not logged"


def test_a_pdf_campaign_logs_no_library_progress(tmp_path: Path) -> None:
    data = tmp_path / "r.csv"
    assert _tailor(tmp_path, "sample-data", "bill-summary", "--rows", "3", "--out", str(data)).returncode == 0
    args = ("campaign", "bill-summary", str(data), "--out", str(tmp_path / "o"), "--outputs", "pdf")
    result = _tailor(tmp_path, *args, TAILOR_WORKERS="1")
    assert result.returncode == 0, result.stderr
    assert "3 rendered, 0 rejected, 0 failed" in result.stdout
    assert "weasyprint" not in result.stderr.lower(), "WeasyPrint's layout steps are not the operator's"


def test_api_json_logs_carry_the_request_id_and_no_personal_value(tmp_path: Path) -> None:
    port, database = free_port(), f"sqlite:///{tmp_path / 'jobs.db'}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("TAILOR_")}
    env.update(
        PYTHONPATH=str(PROJECT_ROOT), TAILOR_LOG_FORMAT="json", TAILOR_DATABASE_URL=database,
        TAILOR_STORAGE_URL=str(tmp_path / "out"), TAILOR_WORKERS="1",
    )  # fmt: skip
    key = create_key(load_settings(database_url=database, storage_url=str(tmp_path / "out")), "t")
    log = (tmp_path / "stderr.log").open("w")
    command = [sys.executable, "-m", "renderer", "serve", "--port", str(port)]
    process = subprocess.Popen(command, cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=log)
    url = f"http://127.0.0.1:{port}"
    try:

        def ready() -> bool:
            try:
                return httpx.get(f"{url}/healthz", timeout=2).status_code == 200
            except httpx.TransportError:
                return False

        wait_for(ready, 60)
        given = httpx.get(f"{url}/healthz", headers={"X-Request-ID": "req-42"})
        assert given.headers["X-Request-ID"] == "req-42"
        made = httpx.get(f"{url}/healthz", headers={"X-Request-ID": "not ok!"}).headers["X-Request-ID"]
        assert re.fullmatch("[0-9a-f]{32}", made)
        recipient = json.loads((PROJECT_ROOT / "templates/bill-summary/samples/de-DE.json").read_text())
        recipient["first_name"] = "Zebulonia"
        auth = {"Authorization": f"Bearer {key}", "X-Request-ID": "render-7"}
        body = {"recipient": recipient, "outputs": ["microsite"]}
        rendered = httpx.post(f"{url}/templates/bill-summary/renders", json=body, headers=auth, timeout=60)
        assert rendered.status_code in (200, 201), rendered.text
        missing = httpx.get(f"{url}/templates/nope", headers={**auth, "X-Request-ID": "r-404"})
        assert missing.status_code == 404
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(60)
        log.close()
    text = (tmp_path / "stderr.log").read_text(encoding="utf-8")
    lines = _json_lines(text)
    access = {line.get("request_id"): line for line in lines if line["logger"] == "tailor.api.access"}
    assert access["req-42"]["message"].startswith("GET /healthz 200")
    assert access["render-7"]["message"].startswith("POST /templates/{name}/renders 20")
    assert access["r-404"]["message"].startswith("GET /templates/{name} 404")
    assert made in access
    assert "Zebulonia" not in text


def test_json_formatter_names_an_exception_by_type_only(capsys: pytest.CaptureFixture[str]) -> None:
    handler = configure_logging("json", "INFO")
    try:
        with bind(campaign_id="c-1"):
            try:
                raise ValueError("Zebulonia is not a number")
            except ValueError:
                logging.getLogger("tailor.test").exception("row 3 failed")
    finally:
        logging.getLogger().removeHandler(handler)
    written = capsys.readouterr().err
    line = json.loads(written)
    assert line["message"] == "row 3 failed" and line["campaign_id"] == "c-1"
    assert line["exc_type"] == "ValueError" and "Zebulonia" not in written
