"""The CLI on S3 storage (moto in server mode): `--out s3://...` and `TAILOR_STORAGE_URL=s3://...`
render, store reports as objects, and keep the job store in the per-user state folder, never in
the folder the command ran from."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from fixture_s3 import REGION

from renderer.settings import PROJECT_ROOT

pytestmark = [pytest.mark.s3, pytest.mark.slow]


def _tailor(cwd: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """`tailor ARGS` run from `cwd` (this checkout's code), without TAILOR_DATABASE_URL."""
    environment = {
        k: v for k, v in os.environ.items() if k not in ("TAILOR_DATABASE_URL", "TAILOR_STORAGE_URL")
    }
    environment.update(PYTHONPATH=str(PROJECT_ROOT), **env)
    command = [sys.executable, "-m", "renderer", *args]
    return subprocess.run(command, cwd=cwd, env=environment, capture_output=True, text=True, timeout=300)


def _keys(s3_admin: Any, bucket: str) -> list[str]:
    pages = s3_admin.get_paginator("list_objects_v2").paginate(Bucket=bucket)
    return sorted(item["Key"] for page in pages for item in page.get("Contents", ()))


@pytest.fixture
def s3_env(tmp_path: Path, moto_endpoint: str, aws_credentials: None) -> dict[str, str]:
    """S3 options for moto and a per-test state folder (XDG_STATE_HOME)."""
    return {
        "TAILOR_S3_ENDPOINT_URL": moto_endpoint,
        "TAILOR_S3_REGION": REGION,
        "XDG_STATE_HOME": str(tmp_path / "state"),
        "TAILOR_WORKERS": "2",
    }


def test_a_cli_campaign_to_s3_stores_outputs_and_reports(
    tmp_path: Path, s3_env: dict[str, str], s3_admin: Any, s3_bucket: str
) -> None:
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    data = tmp_path / "r.csv"
    made = _tailor(cwd, "sample-data", "bill-summary", "--rows", "3", "--out", str(data))
    assert made.returncode == 0, made.stderr
    url = f"s3://{s3_bucket}/root"
    args = ["campaign", "bill-summary", str(data), "--out", url, "--outputs", "microsite", "--campaign", "c"]
    result = _tailor(cwd, *args, **s3_env)
    assert result.returncode == 0, result.stderr
    assert "3 rendered, 0 rejected, 0 failed" in result.stdout
    assert f"manifest: {url}/bill-summary/c/_campaign/manifest.jsonl" in result.stdout
    keys = _keys(s3_admin, s3_bucket)
    assert len([k for k in keys if k.startswith("root/bill-summary/c/") and k.endswith("/index.html")]) == 3
    manifest = s3_admin.get_object(Bucket=s3_bucket, Key="root/bill-summary/c/_campaign/manifest.jsonl")
    lines = [json.loads(line) for line in manifest["Body"].read().decode().splitlines()]
    assert sorted(line["row"] for line in lines) == [2, 3, 4]
    assert "root/bill-summary/c/_campaign/rejects.csv" in keys
    assert list(cwd.iterdir()) == [], "nothing lands in the working directory"
    stores = list((tmp_path / "state" / "tailor").glob("jobs-*.db"))
    assert len(stores) == 1, "the job store is in the per-user state folder"

    again = _tailor(cwd, *args, **s3_env)  # the same store is found again: a resume
    assert again.returncode == 0, again.stderr
    assert "3 recipients were already rendered" in again.stdout and "0 rendered" in again.stdout


def test_render_and_api_key_create_on_s3_storage(
    tmp_path: Path, s3_env: dict[str, str], s3_bucket: str, s3_admin: Any
) -> None:
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    url = f"s3://{s3_bucket}/root"
    rendered = _tailor(
        cwd,
        "render",
        "bill-summary",
        "--sample",
        "de-DE",
        "--outputs",
        "microsite",
        **s3_env,
        TAILOR_STORAGE_URL=url,
    )
    assert rendered.returncode == 0, rendered.stderr
    assert f"{url}/bill-summary/single/" in rendered.stdout
    assert any(k.endswith("/index.html") for k in _keys(s3_admin, s3_bucket))
    created = _tailor(cwd, "api-key", "create", "crm", **s3_env, TAILOR_STORAGE_URL=url)
    assert created.returncode == 0, created.stderr
    assert list(cwd.iterdir()) == [], "no tailor-jobs.db in the working directory"
    assert len(list((tmp_path / "state" / "tailor").glob("jobs-*.db"))) == 1
    refused = _tailor(cwd, "render", "bill-summary", "--sample", "de-DE", "--out", "memory://")
    assert refused.returncode == 2 and "not memory://" in refused.stderr
