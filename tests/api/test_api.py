"""The HTTP API over real HTTP: auth, templates, one-off renders, recipient pages, erasure, health."""

from __future__ import annotations

import http.client
import io
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpx
import pytest
from fixture_api import ApiServer, api_fixture, make_api_fixture, wait_for  # noqa: F401
from pypdf import PdfReader

from renderer.jobs.store import open_store


def _sample(api: ApiServer, name: str = "en-US") -> dict[str, Any]:
    detail = api.client().get("/templates/bill-summary", params={"sample": name})
    assert detail.status_code == 200, detail.text
    sample: dict[str, Any] = detail.json()["sample"]
    return sample


def _render(api: ApiServer, recipient: dict[str, Any], **body: Any) -> httpx.Response:
    return api.client().post("/templates/bill-summary/renders", json={"recipient": recipient, **body})


def _error(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    error: dict[str, Any] = response.json()["error"]
    assert error["code"] == code, error
    assert set(error) >= {"code", "message", "field", "row"}
    return error


# ---- auth ------------------------------------------------------------------------------------------


def test_every_resource_needs_a_valid_api_key(api: ApiServer) -> None:
    for key in (None, "tk_not-a-key", "x" * 500):
        for method, path in [("GET", "/templates"), ("POST", "/campaigns"), ("DELETE", "/recipients/C-1")]:
            answer = api.client(key=key).request(method, path)
            _error(answer, 401, "unauthorized")
            assert answer.headers["www-authenticate"] == "Bearer"
    basic = api.client(key=None, headers={"Authorization": "Basic dXNlcjpwYXNz"}).get("/templates")
    _error(basic, 401, "unauthorized")
    open_paths = ["/healthz", "/readyz", "/metrics", "/docs", "/openapi.json"]
    assert all(api.client(key=None).get(path).status_code == 200 for path in open_paths)


def test_openapi_documents_every_resource(api: ApiServer) -> None:
    spec = api.client(key=None).get("/openapi.json").json()
    paths = set(spec["paths"])
    assert {"/templates", "/templates/{name}/renders", "/renders/{render_id}", "/campaigns"} <= paths
    assert {
        "/campaigns/{campaign_id}/results",
        "/r/{token}",
        "/recipients/{recipient_id}",
        "/webhooks",
    } <= paths
    upload = spec["paths"]["/campaigns"]["post"]["requestBody"]["content"]
    assert {"multipart/form-data", "application/json"} <= set(upload)
    assert "HTTPBearer" in spec["components"]["securitySchemes"]


# ---- templates --------------------------------------------------------------------------------------


def test_templates_list_their_outputs(api: ApiServer) -> None:
    listed = api.client().get("/templates").json()
    bill = next(item for item in listed if item["name"] == "bill-summary")
    assert bill["outputs"] == ["microsite", "pdf", "video"]
    _error(api.client().get("/templates/no-such-template"), 404, "template_not_found")
    assert api.client().get("/templates/..%2F..%2Fetc").status_code == 404


def test_template_contract_is_json_schema(api: ApiServer) -> None:
    detail = api.client().get("/templates/bill-summary").json()
    schema = detail["contract"]
    assert schema["$schema"].endswith("2020-12/schema")
    assert schema["x-recipient-id"] == detail["recipient_id_field"] == "customer_id"
    fields = schema["properties"]
    assert {"customer_id", "first_name", "locale", "line_items", "pay_url"} <= set(schema["required"])
    assert "email" not in schema["required"]
    assert fields["customer_id"]["pattern"] == "^[A-Za-z0-9][A-Za-z0-9-]*$"
    assert fields["customer_id"]["maxLength"] == 40 and "x-personal" not in fields["customer_id"]
    assert fields["first_name"]["x-personal"] is True
    assert fields["plan"] == {
        "type": "string", "x-tailor-type": "enum", "enum": ["basic", "plus", "green"], "default": "basic",
    }  # fmt: skip
    assert fields["previous_amount"]["minimum"] == 0 and fields["previous_amount"]["x-tailor-type"] == "money"
    assert fields["period_start"]["format"] == "date" and fields["email"]["format"] == "email"
    items = fields["line_items"]
    assert (items["type"], items["minItems"], items["maxItems"]) == ("array", 1, 30)
    assert items["items"]["properties"]["code"]["enum"][0] == "energy"
    assert detail["sample"]["customer_id"] == "US-1001"  # the default locale's sample (fictional)
    assert "fa-IR" in detail["samples"]
    _error(api.client().get("/templates/bill-summary", params={"sample": "xx"}), 404, "sample_not_found")


# ---- one-off renders --------------------------------------------------------------------------------


@pytest.mark.pdf
def test_render_answers_links_to_the_page_and_the_pdf(api: ApiServer) -> None:
    answer = _render(api, _sample(api), outputs=["microsite", "pdf"])
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["status"] == "done" and body["recipient_id"] == "US-1001"
    assert set(body["links"]) == {"microsite", "pdf"}
    assert re.fullmatch(rf"{api.url}/r/[A-Za-z0-9_-]{{32}}", body["page_url"])
    assert datetime.fromisoformat(body["page_expires_at"]) > datetime.now(UTC) + timedelta(days=29)

    pdf = api.client(key=None).get(body["links"]["pdf"])
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.content)).pages)
    assert "Emily" in text

    page = api.client(key=None).get(body["links"]["microsite"])
    assert page.status_code == 200 and "Emily" in page.text

    polled = api.client().get(f"/renders/{body['id']}").json()
    assert polled["status"] == "done" and polled["page_url"] == body["page_url"]  # its one link


@pytest.mark.pdf
def test_recipient_page_loads_with_its_static_files(api: ApiServer) -> None:
    body = _render(api, _sample(api, "de-DE")).json()
    browser = api.client(key=None)
    first = browser.get(body["page_url"])
    assert first.status_code == 307
    assert first.headers["location"].endswith(f"/bill-summary/{api.segment}/DE-2002/index.html")
    page = browser.get(body["page_url"], follow_redirects=True)
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    for name, value in {
        "cache-control": "private, no-cache",
        "x-robots-tag": "noindex, nofollow",
        "referrer-policy": "no-referrer",
    }.items():
        assert page.headers[name] == value
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    css = re.search(r'href="(\.\./\.\./_static/[^"]+\.css)"', page.text)
    pdf = re.search(r'href="(bill\.pdf)" download', page.text)
    assert css and pdf, "the page links its stylesheet and PDF relatively"
    stylesheet = browser.get(urljoin(str(page.url), css.group(1)))
    assert stylesheet.status_code == 200 and stylesheet.headers["content-type"].startswith("text/css")
    assert "immutable" in stylesheet.headers["cache-control"]
    assert browser.get(urljoin(str(page.url), pdf.group(1))).content.startswith(b"%PDF")


def test_render_refuses_bad_input_with_clear_json(api: ApiServer) -> None:
    recipient = {**_sample(api), "email": "leaky@@example", "first_name": ""}
    del recipient["pay_url"]
    error = _error(_render(api, recipient), 422, "invalid_recipient")
    assert {issue["field"] for issue in error["issues"]} == {"email", "first_name", "pay_url"}
    assert "leaky" not in str(error), "personal values are never echoed"
    client = api.client()
    url = "/templates/bill-summary/renders"
    bad_json = client.post(url, content=b'{"recipient": {', headers={"Content-Type": "application/json"})
    _error(bad_json, 400, "malformed_json")
    _error(client.post(url, json={"recipient": []}), 422, "invalid_request")
    _error(client.post(url, json={"recipient": {}, "extra": 1}), 422, "invalid_request")
    _error(_render(api, _sample(api), outputs=["hologram"]), 422, "invalid_outputs")
    _error(_render(api, _sample(api), webhook_url="ftp://example.com/x"), 422, "invalid_request")
    _error(client.post("/templates/nope/renders", json={"recipient": {}}), 404, "template_not_found")
    huge = {"recipient": {"note": "x" * (2 << 20)}}
    _error(client.post(url, json=huge), 413, "payload_too_large")


def test_multipart_bodies_outside_the_upload_route_are_held_to_the_small_limit(api: ApiServer) -> None:
    """A big multipart body sent to a JSON route is refused before it is read (and before the key
    is checked), so nobody can make the API buffer it."""
    body = b"--x\r\n" + b"a" * (3 << 20) + b"\r\n--x--\r\n"
    headers = {"Content-Type": "multipart/form-data; boundary=x"}
    with api.client(key=None) as client:
        response = client.post("/webhooks", content=body, headers=headers)
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"


def test_unknown_and_foreign_renders_are_not_found(api: ApiServer) -> None:
    _error(api.client().get("/renders/0123456789abcdef0123456789abcdef"), 404, "render_not_found")


# ---- recipient pages ----------------------------------------------------------------------------------


def _link(api: ApiServer, recipient_id: str, *, ttl_s: float = 3600, now: datetime | None = None) -> str:
    store = open_store(api.settings.database_url)
    try:
        return store.links.create("bill-summary", api.segment, recipient_id, ttl_s, now=now)
    finally:
        store.close()


def test_expired_and_unknown_tokens(api: ApiServer) -> None:
    expired = _link(api, "US-1001", ttl_s=60, now=datetime.now(UTC) - timedelta(hours=1))
    browser = api.client(key=None)
    _error(browser.get(f"/r/{expired}"), 410, "link_expired")
    _error(browser.get(f"/r/{expired}/bill-summary/{api.segment}/US-1001/index.html"), 410, "link_expired")
    _error(browser.get("/r/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"), 404, "link_not_found")
    _error(browser.get("/r/short"), 404, "link_not_found")


@pytest.mark.pdf
def test_a_token_reaches_only_its_recipients_files(api: ApiServer) -> None:
    _render(api, _sample(api, "it-IT"))
    mine = _render(api, _sample(api, "tr-TR")).json()
    token = urlsplit(mine["page_url"]).path.split("/")[2]
    browser = api.client(key=None)
    prefix = f"/r/{token}/bill-summary/{api.segment}"
    assert browser.get(f"{prefix}/TR-4004/index.html").status_code == 200
    for path in [
        f"{prefix}/IT-3003/index.html",  # another recipient
        f"{prefix}/TR-4004/%2e%2e/IT-3003/index.html",
        f"/r/{token}/%2e%2e/%2e%2e/etc/passwd",
        f"{prefix}/TR-4004//index.html",
        f"/r/{token}/other-template/_static/site.css",
        f"{prefix}/TR-4004/missing.pdf",
        f"/r/{token}/jobs.db",
    ]:
        _error(browser.get(path), 404, "not_found")
    raw = http.client.HTTPConnection("127.0.0.1", int(api.url.rsplit(":", 1)[1]), timeout=10)
    try:
        raw.request("GET", f"/r/{token}/../../jobs.db")  # sent as is, no client-side normalisation
        assert raw.getresponse().status == 404
    finally:
        raw.close()


# ---- erasure ------------------------------------------------------------------------------------------


@pytest.mark.pdf
def test_erasing_a_recipient_removes_outputs_rows_and_links(api: ApiServer) -> None:
    body = _render(api, _sample(api, "id-ID")).json()
    folder = f"{api.settings.storage_url}/bill-summary/{api.segment}/ID-5005"
    assert (urlsplit(body["links"]["pdf"]).path.endswith("/bill.pdf")) and len(list(_files(folder))) == 2
    erased = api.client().delete("/recipients/ID-5005")
    assert erased.status_code == 200, erased.text
    counts = erased.json()
    assert counts["recipient_id"] == "ID-5005" and counts["stored_keys"] >= 2
    assert counts["objects_deleted"] >= 2 and not list(_files(folder))
    _error(api.client(key=None).get(body["page_url"]), 404, "link_not_found")
    _error(api.client().get(f"/renders/{body['id']}"), 404, "render_not_found")
    again = api.client().delete("/recipients/ID-5005").json()
    assert (again["stored_keys"], again["objects_deleted"]) == (0, 0)


@pytest.mark.pdf
def test_one_keys_erasure_leaves_another_keys_renders_alone(api: ApiServer) -> None:
    from renderer.api.keys import create_key

    body = _render(api, _sample(api, "fa-IR")).json()
    folder = f"{api.settings.storage_url}/bill-summary/{api.segment}/IR-6006"
    other = create_key(api.settings, "another tenant")
    erased = api.client(key=other).delete("/recipients/IR-6006").json()
    assert (erased["stored_keys"], erased["objects_deleted"]) == (0, 0)
    assert len(_files(folder)) == 2, "the first key's outputs are still there"
    assert api.client(key=None).get(body["page_url"]).status_code in (200, 307)


def _files(folder: str) -> list[str]:
    from pathlib import Path

    root = Path(folder)
    return [p.name for p in root.iterdir()] if root.is_dir() else []


# ---- health and metrics ----------------------------------------------------------------------------------


def test_metrics_count_requests_renders_and_rows(api: ApiServer) -> None:
    api.client().get("/templates")
    text = api.client(key=None).get("/metrics").text
    assert re.search(
        r'tailor_http_requests_total\{method="GET",route="/templates",status="200"\} [1-9]', text
    )
    assert 'tailor_http_request_duration_seconds_bucket{le="0.005",method="GET",route="/templates"}' in text
    assert "tailor_job_store_up 1.0" in text
    assert "# TYPE tailor_campaign_rows gauge" in text
    assert "/r/" not in text.replace('route="/r/{token}', "")


@pytest.mark.pdf
def test_metrics_count_renders_by_output(api: ApiServer) -> None:
    _render(api, _sample(api, "fa-IR"))
    text = api.client(key=None).get("/metrics").text
    assert re.search(r'tailor_renders_total\{output="pdf",status="ok"\} [1-9]', text)


def test_ready_when_database_and_storage_answer(api: ApiServer) -> None:
    ready = api.client(key=None).get("/readyz")
    assert ready.status_code == 200
    assert ready.json() == {
        "status": "ready",
        "checks": {"database": {"status": "ok"}, "storage": {"status": "ok"}},
    }


def test_unreachable_database_reports_not_ready(make_api: Callable[..., ApiServer]) -> None:
    down = make_api(key=False, database_url="postgresql+psycopg://u:p@127.0.0.1:1/x")
    client = down.client(key=None)
    assert client.get("/healthz").status_code == 200
    ready = client.get("/readyz")
    assert ready.status_code == 503
    checks = ready.json()["checks"]
    assert checks["database"]["status"] == "down" and checks["storage"]["status"] == "ok"
    assert "u:p" not in ready.text
    answer = down.client(key="tk_whatever").get("/templates")
    error = _error(answer, 503, "database_unavailable")
    assert answer.headers["retry-after"] and "u:p" not in error["message"]
    assert "tailor_job_store_up 0.0" in client.get("/metrics").text


# ---- video: a background job --------------------------------------------------------------------------


@pytest.mark.video
@pytest.mark.slow
def test_video_render_is_a_job_to_poll(api: ApiServer) -> None:
    answer = _render(api, _sample(api, "tr-TR"), outputs=["microsite", "video"])
    assert answer.status_code == 202, answer.text
    job = answer.json()
    assert job["status"] in ("queued", "rendering") and job["links"] is None
    assert answer.headers["location"] == f"/renders/{job['id']}"

    def finished() -> dict[str, Any] | None:
        polled: dict[str, Any] = api.client().get(job["status_url"]).json()
        return polled if polled["status"] in ("done", "failed") else None

    done = wait_for(finished, timeout_s=280, every_s=1)
    assert done["status"] == "done", done["error"]
    assert {"microsite", "video", "video:poster.jpg", "video:captions.vtt"} <= set(done["links"])
    browser = api.client(key=None)
    video = browser.get(done["links"]["video"], headers={"Range": "bytes=0-99"})
    assert video.status_code == 206 and video.headers["content-type"] == "video/mp4"
    assert len(video.content) == 100 and video.content[4:8] == b"ftyp"
    page = browser.get(done["page_url"], follow_redirects=True)
    assert 'src="video.mp4"' in page.text or "video.mp4" in page.text
    assert not any(name.startswith("cache") for name in done["links"]), "cache objects are never linked"
    _erase_reaches_the_video_cache(api, job["id"], job["recipient_id"])


def _erase_reaches_the_video_cache(api: ApiServer, job_id: str, recipient_id: str) -> None:
    """DELETE /recipients/{id} removes the recipient's personal cached segments and narrations
    (greeting, amount, usage) and keeps the ones every recipient shares (intro, tips, outro)."""
    from pathlib import Path

    store = open_store(api.settings.database_url)
    try:
        record = store.render_jobs.get(job_id)
    finally:
        store.close()
    assert record is not None and record.result is not None
    personal = {key for name, key in record.result.items() if name.startswith("cache:")}
    root = Path(api.settings.storage_url)
    cached = {p.relative_to(root).as_posix() for p in (root / "cache").rglob("*") if p.is_file()}
    assert len(personal) == 6 and personal <= cached, "a segment and a narration for each personal scene"
    assert api.client().delete(f"/recipients/{recipient_id}").status_code == 200
    left = {p.relative_to(root).as_posix() for p in (root / "cache").rglob("*") if p.is_file()}
    assert left == cached - personal
    shared = [key for key in left if key.startswith("cache/segments/") and "/init-" not in key]
    assert len(shared) == 3, "intro, tips, outro stay (and the init segments every stream shares)"
