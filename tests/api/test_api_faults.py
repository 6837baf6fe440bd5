"""API answers to render faults: the right status and code, and nothing of the server's layout."""

from __future__ import annotations

import contextlib
import shutil
import socket
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from fixture_api import ApiServer, csv_bytes, make_api_fixture, sample_rows, wait_for  # noqa: F401

from renderer.errors import RenderTimeout
from renderer.outputs.document import time_limit
from renderer.outputs.video.ffmpeg import tool_message
from renderer.settings import PROJECT_ROOT


def _error(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    error: dict[str, Any] = response.json()["error"]
    assert error["code"] == code, error
    return error


def _sample(api: ApiServer, name: str = "en-US") -> dict[str, Any]:
    sample: dict[str, Any] = api.client().get("/templates/bill-summary", params={"sample": name}).json()
    return sample["sample"]


@pytest.mark.pdf
def test_a_pdf_past_its_time_limit_answers_504(make_api: Callable[..., ApiServer]) -> None:
    api = make_api(pdf_timeout_s=0.001)
    body = {"recipient": _sample(api), "outputs": ["microsite", "pdf"]}
    answer = api.client().post("/templates/bill-summary/renders", json=body)
    error = _error(answer, 504, "render_timeout")
    assert error["message"].startswith("pdf output: PDF of template 'bill-summary' took longer than")


def test_a_time_limit_holds_when_the_block_swallows_the_timeout() -> None:
    swallowed = 0
    started = time.monotonic()
    with pytest.raises(RenderTimeout, match=r"slow thing took longer than 0\.05 s"):  # noqa: SIM117
        with time_limit(0.05, "slow thing"):
            while time.monotonic() - started < 5:
                try:
                    time.sleep(0.01)
                except Exception:  # as WeasyPrint does around an image it cannot load
                    if swallowed:
                        raise
                    swallowed += 1
    assert swallowed == 1 and time.monotonic() - started < 1


def test_a_time_limit_raises_after_a_block_that_swallowed_every_timeout() -> None:
    with pytest.raises(RenderTimeout), time_limit(0.02, "quiet thing"):
        for _ in range(20):
            with contextlib.suppress(Exception):
                time.sleep(0.01)


# ---- no server path in what clients read ------------------------------------------------------------


def _template_with_corrupt_video(templates: Path) -> Path:
    root = templates / "bill-summary"
    shutil.copytree(PROJECT_ROOT / "templates" / "bill-summary", root)
    (root / "media").mkdir()
    (root / "media" / "corrupt.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42" + b"garbage" * 100)
    manifest = root / "template.yaml"
    intro = 'background: {colour: "#0b3d91"}\n        layers:\n          - {type: image'
    text = manifest.read_text(encoding="utf-8")
    assert intro in text
    manifest.write_text(
        text.replace(intro, intro.replace('colour: "#0b3d91"', 'video: "media/corrupt.mp4"'), 1)
    )
    return root


@pytest.mark.video
@pytest.mark.slow
def test_a_broken_asset_is_named_relative_to_its_template(
    make_api: Callable[..., ApiServer], tmp_path: Path
) -> None:
    templates = tmp_path / "templates"
    _template_with_corrupt_video(templates)
    api = make_api(templates_dir=templates)
    body = {"recipient": _sample(api), "outputs": ["video"]}
    queued = api.client().post("/templates/bill-summary/renders", json=body)
    assert queued.status_code == 202, queued.text

    def failed() -> dict[str, Any] | None:
        job: dict[str, Any] = api.client().get(f"/renders/{queued.json()['id']}").json()
        return job if job["status"] == "failed" else None

    error = wait_for(failed, timeout_s=180, every_s=0.5)["error"]
    assert "media/corrupt.mp4: Invalid data" in error, error
    assert str(tmp_path) not in error and "/templates/" not in error, error


def test_tool_messages_hold_no_server_path() -> None:
    named = b"/srv/t/bill/media/a b.mp4: Invalid data found"
    assert tool_message(named, {"/srv/t/bill/media/a b.mp4": "media/a b.mp4"}) == (
        "media/a b.mp4: Invalid data found"
    )
    temp = b"frame 1\nError opening input file /tmp/tailor-seg-x1/scene-001/list.txt."
    assert tool_message(temp) == "Error opening input file list.txt."
    quoted = b"Impossible to open 'file:/srv/x/y.mp4' at 128 kb/s, ratio 16/9"
    assert tool_message(quoted) == "Impossible to open 'file:y.mp4' at 128 kb/s, ratio 16/9"
    assert tool_message(b"") == "no message"


# ---- allowed hosts -----------------------------------------------------------------------------------


def test_a_made_up_host_is_refused_and_never_reflected(make_api: Callable[..., ApiServer]) -> None:
    api = make_api()
    client = api.client(key=None)
    fine = client.get("/templates/")
    assert fine.status_code == 307 and fine.headers["location"] == f"{api.url}/templates"
    for host in ("evil.example", "evil.example:80", "127.0.0.1.evil.example", "[::2]:8000"):
        answer = client.get("/templates/", headers={"Host": host})
        _error(answer, 400, "invalid_host")
        assert "location" not in answer.headers and "evil" not in answer.text
    for host in ("localhost", "LOCALHOST:1234", "[::1]:8000"):
        assert client.get("/templates/", headers={"Host": host}).status_code == 307
    assert client.get("/healthz", headers={"Host": "10.1.2.3:8000"}).status_code == 200  # probes by IP


def test_configured_hosts_replace_the_default(make_api: Callable[..., ApiServer]) -> None:
    api = make_api(allowed_hosts="api.example, *.tailor.example")
    client = api.client(key=None)
    moved = client.get("/templates/", headers={"Host": "api.example"})
    assert moved.status_code == 307 and moved.headers["location"] == "http://api.example/templates"
    assert client.get("/templates/", headers={"Host": "eu.tailor.example:443"}).status_code == 307
    for host in ("tailor.example", "evil.example", "127.0.0.1"):
        _error(client.get("/templates/", headers={"Host": host}), 400, "invalid_host")


# ---- multipart caps -----------------------------------------------------------------------------------

_BOUNDARY = "tailorboundary"


def _part(name: str | None, value: bytes = b"", filename: str | None = None) -> bytes:
    head = f"--{_BOUNDARY}\r\n"
    if name is not None:
        head += f'Content-Disposition: form-data; name="{name}"'
        head += f'; filename="{filename}"\r\nContent-Type: text/csv\r\n' if filename else "\r\n"
    return head.encode() + b"\r\n" + value + b"\r\n"


def _campaign_form(api: ApiServer) -> bytes:
    rows = sample_rows(api.settings, 1)
    return (
        _part("template", b"bill-summary")
        + _part("outputs", b"microsite")
        + _part("file", csv_bytes(rows), filename="recipients.csv")
    )


def _post_parts(api: ApiServer, body: Any) -> httpx.Response:
    headers = {"Content-Type": f"multipart/form-data; boundary={_BOUNDARY}"}
    return api.client().post("/campaigns", content=body, headers=headers)


def _uploads_left(api: ApiServer) -> list[Path]:
    uploads = Path(api.settings.storage_url) / "_uploads"
    return [path for path in uploads.rglob("*") if path.is_file()] if uploads.exists() else []


def test_a_campaign_upload_with_thousands_of_parts_is_refused(make_api: Callable[..., ApiServer]) -> None:
    api = make_api()
    end = f"--{_BOUNDARY}--\r\n".encode()
    for empty in (_part(None), _part("x")):
        answer = _post_parts(api, _campaign_form(api) + empty * 10_000 + end)
        error = _error(answer, 413, "too_many_parts")
        assert "32 parts" in error["message"]
    assert _uploads_left(api) == []
    huge_header = f"--{_BOUNDARY}\r\nX-Pad: {'a' * 20_000}\r\n\r\nv\r\n".encode()
    _error(_post_parts(api, _campaign_form(api) + huge_header + end), 400, "malformed_multipart")
    fine = _post_parts(api, _campaign_form(api) + _part(None) * 3 + end)
    assert fine.status_code == 201, fine.text


def test_too_many_parts_are_answered_before_the_body_ends(make_api: Callable[..., ApiServer]) -> None:
    api = make_api()
    head = (
        f"POST /campaigns HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {api.key}\r\n"
        f"Content-Type: multipart/form-data; boundary={_BOUNDARY}\r\nTransfer-Encoding: chunked\r\n\r\n"
    )
    chunk = _campaign_form(api) + _part("x") * 40  # and the body never ends
    port = int(api.url.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=20) as sock:
        sock.sendall(head.encode() + f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
        received = b""
        while b"too_many_parts" not in received:
            data = sock.recv(65536)  # socket.timeout (a failure) if the server waits for more
            if not data:
                break
            received += data
    answer = received.decode("latin-1")
    assert answer.startswith("HTTP/1.1 413"), answer[:200]
    assert '"too_many_parts"' in answer
