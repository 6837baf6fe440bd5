"""The OpenAPI document says what the server does (over real HTTP), and schemathesis agrees.

The schemathesis run installs the version pinned in ``requirements/schemathesis.lock`` (with
hashes) into a throwaway virtualenv under ``.cache/`` (its own pins clash with the dev lock),
then runs its CLI with every check against a live server: bounded examples and a fixed seed.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from fixture_api import ApiServer, api_fixture  # noqa: F401

from renderer.settings import PROJECT_ROOT

LOCK = PROJECT_ROOT / "requirements" / "schemathesis.lock"
CONFIG = PROJECT_ROOT / "tests" / "schemathesis.toml"
CACHE = PROJECT_ROOT / ".cache" / "schemathesis"
MAX_EXAMPLES = 5


def _spec(api: ApiServer) -> dict[str, Any]:
    spec: dict[str, Any] = api.client(key=None).get("/openapi.json").json()
    return spec


def test_every_error_the_server_sends_is_documented(api: ApiServer) -> None:
    spec = _spec(api)
    paths = spec["paths"]
    render = paths["/templates/{name}/renders"]["post"]["responses"]
    assert {"400", "413", "422", "503"} <= set(render)
    assert render["422"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/ErrorOut"}
    assert "HTTPValidationError" not in spec["components"]["schemas"]
    assert {"400", "409", "413", "415", "422"} <= set(paths["/campaigns"]["post"]["responses"])
    assert "416" in paths["/r/{token}/{key}"]["get"]["responses"]
    client = api.client()
    malformed = client.post(
        "/templates/bill-summary/renders", content=b"\x00", headers={"Content-Type": "application/json"}
    )
    assert malformed.status_code == 400 and malformed.json()["error"]["code"] == "malformed_json"
    refused = client.post("/campaigns", content=b"x", headers={"Content-Type": "text/plain"})
    assert refused.status_code == 415


def test_outputs_the_schema_allows_are_outputs_the_server_takes(api: ApiServer) -> None:
    spec = _spec(api)
    campaign = spec["paths"]["/campaigns"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    for model in (spec["components"]["schemas"]["RenderRequest"], campaign):
        [listed, _null] = model["properties"]["outputs"]["anyOf"]
        assert listed["minItems"] == 1, model
        assert listed["items"]["enum"] == ["microsite", "pdf", "video"], model
    assert campaign["examples"] and spec["components"]["schemas"]["WebhookCreate"]["examples"]
    example = spec["paths"]["/templates/{name}/renders"]["post"]["requestBody"]["content"]["application/json"]
    body = example["example"]
    assert body["outputs"] == ["microsite", "pdf"]
    empty = api.client().post("/templates/bill-summary/renders", json={**body, "outputs": []})
    assert empty.status_code == 422  # refused, as the schema (minItems 1) says
    rendered = api.client().post("/templates/bill-summary/renders", json=body)
    assert rendered.status_code == 200, rendered.text  # the documented example works as is


def test_options_on_recipient_pages_lists_get_and_head(api: ApiServer) -> None:
    client = api.client(key=None)
    for path in ("/r/some-token-0000000000", "/r/some-token-0000000000/bill-summary/x/index.html"):
        answer = client.options(path)
        assert answer.status_code == 405
        assert sorted(m.strip() for m in answer.headers["allow"].split(",")) == ["GET", "HEAD"]
        assert client.head(path).status_code == 404  # HEAD is still served (unknown token)
    assert set(_spec(api)["paths"]["/r/{token}"]) == {"get"}  # HEAD goes with GET


def test_a_405_lists_every_method_of_the_path(api: ApiServer) -> None:
    client = api.client()
    for path, documented in (("/webhooks", {"get", "post"}), ("/campaigns", {"post"})):
        answer = client.request("PATCH", path)
        assert answer.status_code == 405
        allowed = {m.strip().lower() for m in answer.headers["allow"].split(",")}
        assert documented <= allowed <= documented | {"head"}
        assert set(_spec(api)["paths"][path]) == documented
        for method in allowed:  # every method named is served (whatever its answer), none is 405
            assert client.request(method.upper(), path).status_code != 405, (method, path)


def _schemathesis() -> Path:
    """The schemathesis CLI from the lock, installed once per lock content under .cache/ (a
    virtualenv names its interpreter by path, so it is built where it stays; ``complete`` marks
    an install that finished)."""
    venv = CACHE / hashlib.sha256(LOCK.read_bytes()).hexdigest()[:16]
    if not (venv / "complete").is_file():
        shutil.rmtree(venv, ignore_errors=True)
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
        pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
        subprocess.run([*pip, "--require-hashes", "--no-deps", "-r", str(LOCK)], check=True, timeout=600)
        (venv / "complete").write_text(LOCK.read_text())
    return venv / "bin" / "schemathesis"


@pytest.mark.slow
def test_schemathesis_finds_nothing(api: ApiServer, tmp_path: Path) -> None:
    cli = _schemathesis()
    command = [
        str(cli), "--config-file", str(CONFIG), "run", f"{api.url}/openapi.json",
        "-H", f"Authorization: Bearer {api.key}", "--checks", "all", "--workers", "1",
        "--max-examples", str(MAX_EXAMPLES), "--seed", "1", "--no-color",
    ]  # fmt: skip
    env = {**os.environ, "NO_COLOR": "1"}
    # its own files (replay cache) go to the working folder: a throwaway one
    done = subprocess.run(command, capture_output=True, text=True, timeout=300, env=env, cwd=tmp_path)
    report = done.stdout + done.stderr
    assert done.returncode == 0, report[-8000:]
    operations = sum(len(item) for item in _spec(api)["paths"].values())
    tested = re.search(r"Tested: (\d+)", report)
    assert tested and int(tested.group(1)) == operations, report[-4000:]  # every operation ran
    assert re.search(r"\d+ generated, \d+ passed", report), report[-4000:]
