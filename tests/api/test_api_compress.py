"""The text files of a recipient's page are sent gzip-encoded to clients that accept it; media
never is, and ranged requests get the plain bytes."""

from __future__ import annotations

import gzip

import httpx
import pytest
from fixture_api import ApiServer, api_fixture  # noqa: F401
from fixture_pages import render_page

pytestmark = pytest.mark.slow


def _files(api: ApiServer) -> tuple[str, str]:
    """The page URL and its events script URL (a content-hashed static file)."""
    page_url = render_page(api, "en-US", ("microsite", "pdf"))
    html = httpx.get(page_url, follow_redirects=True, headers={"Accept-Encoding": "identity"}).text
    name = next(part for part in html.split('"') if "/events." in part)
    page = httpx.get(page_url, follow_redirects=False).headers["location"]
    return api.url + page, str(httpx.URL(api.url + page).join(name))


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


def test_ranges_refusals_and_media_are_sent_plain(api: ApiServer) -> None:
    page, script = _files(api)
    ranged = httpx.get(script, headers={"Accept-Encoding": "gzip", "Range": "bytes=0-99"})
    assert "content-encoding" not in ranged.headers
    refused = httpx.get(script, headers={"Accept-Encoding": "gzip;q=0"})
    assert "content-encoding" not in refused.headers
    pdf = httpx.get(page.replace("index.html", "bill.pdf"), headers={"Accept-Encoding": "gzip"})
    assert pdf.status_code == 200 and "content-encoding" not in pdf.headers
    with httpx.stream("GET", script, headers={"Accept-Encoding": "gzip"}) as answer:
        body = b"".join(answer.iter_raw())
    assert gzip.decompress(body) == httpx.get(script, headers={"Accept-Encoding": "identity"}).content
