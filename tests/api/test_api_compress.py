"""The text files of a recipient's page are sent gzip-encoded to clients that accept it; media
never is, and ranged requests get the plain bytes. A gzip answer has its own ETag (``304`` when
named) and a HEAD gets a GET's headers without a body."""

from __future__ import annotations

import asyncio
import gzip
from typing import Any

import httpx
import pytest
from fixture_api import ApiServer, api_fixture  # noqa: F401
from fixture_pages import render_page
from starlette.requests import Request

from renderer.api.compress import accepts_gzip


def _files(api: ApiServer) -> tuple[str, str]:
    """The page URL and its events script URL (a content-hashed static file)."""
    page_url = render_page(api, "en-US", ("microsite", "pdf"))
    html = httpx.get(page_url, follow_redirects=True, headers={"Accept-Encoding": "identity"}).text
    name = next(part for part in html.split('"') if "/events." in part)
    page = httpx.get(page_url, follow_redirects=False).headers["location"]
    return api.url + page, str(httpx.URL(api.url + page).join(name))


@pytest.mark.parametrize(
    ("header", "accepted"),
    [
        ("gzip", True),
        ("GZIP;Q=0.5", True),
        ("br, gzip;q=0.001", True),
        ("*", True),
        ("*;q=0.5", True),
        ("x-gzip", True),
        ("", False),
        ("br, deflate", False),
        ("identity", False),
        ("gzip;q=0", False),
        ("gzip;Q=0", False),
        ("gzip; q=0.0", False),
        ("gzip;q=0.000", False),
        ("*;q=0.5, gzip;q=0", False),  # the explicit gzip entry decides, not *
        ("gzip;q=0, *", False),
        ("*;q=0", False),
        ("*;q=0, gzip", True),
        ("gzip;q=abc", False),  # a malformed q refuses
        ("gzip;q=nan", False),
    ],
)
def test_accept_encoding_is_read_by_its_q_values(header: str, accepted: bool) -> None:
    request = Request({"type": "http", "method": "GET", "headers": [(b"accept-encoding", header.encode())]})
    assert accepts_gzip(request) is accepted


@pytest.mark.slow
def test_static_scripts_and_the_page_are_gzipped_when_accepted(api: ApiServer) -> None:
    page, script = _files(api)
    for url in (script, page):
        plain = httpx.get(url, headers={"Accept-Encoding": "identity"})
        packed = httpx.get(url, headers={"Accept-Encoding": "gzip, br;q=0"})
        assert plain.status_code == packed.status_code == 200
        assert "content-encoding" not in plain.headers
        assert packed.headers["content-encoding"] == "gzip"
        assert packed.headers["vary"] == plain.headers["vary"] == "Accept-Encoding"
        assert packed.content == plain.content  # httpx decodes; the bytes are the file's
        assert int(packed.headers["content-length"]) < len(plain.content) / 2
        assert packed.headers["content-security-policy"] == plain.headers["content-security-policy"]


@pytest.mark.slow
def test_ranges_refusals_and_media_are_sent_plain(api: ApiServer) -> None:
    page, script = _files(api)
    plain = httpx.get(script, headers={"Accept-Encoding": "identity"}).content
    ranged = httpx.get(script, headers={"Accept-Encoding": "gzip", "Range": "bytes=100-199"})
    assert ranged.status_code == 206 and "content-encoding" not in ranged.headers
    assert ranged.content == plain[100:200]
    assert ranged.headers["content-range"] == f"bytes 100-199/{len(plain)}"
    for refusal in ("gzip;q=0", "*;q=0.5, gzip;q=0", "gzip;Q=0.0"):
        refused = httpx.get(script, headers={"Accept-Encoding": refusal})
        assert "content-encoding" not in refused.headers and refused.content == plain, refusal
    pdf = httpx.get(page.replace("index.html", "bill.pdf"), headers={"Accept-Encoding": "gzip"})
    assert pdf.status_code == 200 and "content-encoding" not in pdf.headers
    with httpx.stream("GET", script, headers={"Accept-Encoding": "gzip"}) as answer:
        body = b"".join(answer.iter_raw())
    assert gzip.decompress(body) == httpx.get(script, headers={"Accept-Encoding": "identity"}).content


@pytest.mark.slow
def test_a_gzip_answer_has_its_own_etag_and_revalidates(api: ApiServer) -> None:
    page, script = _files(api)
    for url in (script, page):
        plain = httpx.get(url, headers={"Accept-Encoding": "identity"})
        packed = httpx.get(url, headers={"Accept-Encoding": "gzip"})
        etag = packed.headers["etag"]
        assert etag.startswith('"') and etag.endswith('-gz"') and etag != plain.headers.get("etag")
        for named in (etag, f"W/{etag}", f'"other", {etag}', "*"):
            again = httpx.get(url, headers={"Accept-Encoding": "gzip", "If-None-Match": named})
            assert again.status_code == 304, named
            assert again.content == b"" and again.headers["etag"] == etag
            assert again.headers["vary"] == "Accept-Encoding"
            assert again.headers["cache-control"] == packed.headers["cache-control"]
        changed = httpx.get(url, headers={"Accept-Encoding": "gzip", "If-None-Match": '"other-gz"'})
        assert changed.status_code == 200 and changed.content == plain.content


async def _head_in_process(api: ApiServer, path: str) -> tuple[dict[str, str], bytes]:
    """The headers and body the ASGI app itself sends for a HEAD (no server or client in between
    to drop a body)."""
    messages: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        messages.append(message)

    headers = [(b"host", b"127.0.0.1"), (b"accept-encoding", b"gzip")]
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "HEAD",
        "scheme": "http", "path": path, "raw_path": path.encode(), "root_path": "",
        "query_string": b"", "headers": headers, "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 80),
    }  # fmt: skip
    await api.app(scope, receive, send)
    start, *bodies = messages
    sent = {name.decode().lower(): value.decode() for name, value in start["headers"]}
    return sent, b"".join(message.get("body", b"") for message in bodies)


@pytest.mark.slow
def test_head_answers_a_gets_headers_without_a_body(api: ApiServer) -> None:
    page, script = _files(api)
    for url in (script, page):
        for encoding in ("gzip", "identity"):
            got = httpx.get(url, headers={"Accept-Encoding": encoding})
            with httpx.stream("HEAD", url, headers={"Accept-Encoding": encoding}) as head:
                body = b"".join(head.iter_raw())
            assert head.status_code == 200 and body == b""
            for name in ("content-type", "content-encoding", "content-length", "etag", "vary"):
                assert head.headers.get(name) == got.headers.get(name), (url, encoding, name)
    # the app itself sends no body for HEAD (not only uvicorn dropping it)
    sent, body = asyncio.run(_head_in_process(api, httpx.URL(script).path))
    assert sent["content-encoding"] == "gzip" and int(sent["content-length"]) > 0 and body == b""
