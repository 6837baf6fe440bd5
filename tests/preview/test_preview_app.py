"""The studio over real HTTP: the template's facts, field checks, page and draft-video renders
with their scene timeline, live reload over server-sent events, a broken save keeping the last
good template, and the files it refuses."""

from __future__ import annotations

import io
import json
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import av
import httpx
import pytest
from fixture_preflight import write_card
from fixture_studio import StudioServer, run_studio, studio_settings
from PIL import Image
from pypdf import PdfReader

pytestmark = [pytest.mark.slow, pytest.mark.pdf]


def _render(server: StudioServer, output: str, **state: Any) -> dict[str, Any]:
    body = {"sample": "de-DE", **state, "output": output}
    response = server.client.post("/api/render", json=body)
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


def test_the_template_facts_come_from_its_contract(make_studio: Callable[..., StudioServer]) -> None:
    server = make_studio("bill-summary", watch=False)
    info = server.client.get("/api/template").json()
    template = info["template"]
    assert template["name"] == "bill-summary" and info["problems"] == []
    assert set(template["samples"]) == {"de-DE", "en-US", "fa-IR", "id-ID", "it-IT", "tr-TR"}
    schema = template["schema"]
    assert schema["properties"]["first_name"]["maxLength"] == 60
    assert schema["properties"]["plan"]["enum"] == ["basic", "plus", "green"]
    assert "first_name" in schema["required"]
    assert template["experiments"] == {"headline": ["plain", "warm"]}
    assert template["outputs"] == ["microsite", "pdf", "video"]


def test_field_errors_name_the_field_as_the_designer_types(make_studio: Callable[..., StudioServer]) -> None:
    server = make_studio("bill-summary", watch=False)
    edits = {"first_name": "x" * 61, "plan": "gold"}
    answer = server.client.post("/api/check", json={"sample": "de-DE", "edits": edits}).json()
    assert set(answer["errors"]) == {"first_name", "plan"}
    assert "x" * 61 not in json.dumps(answer) and "gold" not in json.dumps(answer)
    refused = server.client.post("/api/render", json={"sample": "de-DE", "edits": edits, "output": "pdf"})
    assert refused.status_code == 422 and set(refused.json()["errors"]) == {"first_name", "plan"}
    ok = server.client.post("/api/check", json={"sample": "de-DE", "edits": {"first_name": "Ada"}})
    assert ok.json() == {"errors": {}}


def test_a_page_render_shows_the_edit_in_the_microsite_and_the_pdf(
    make_studio: Callable[..., StudioServer],
) -> None:
    server = make_studio("bill-summary", watch=False)
    answer = _render(server, "microsite", edits={"first_name": "Zebulon"})
    pdf_answer = _render(server, "pdf", edits={"first_name": "Zebulon"}, into=answer["id"])
    assert pdf_answer["id"] == answer["id"]
    page = server.client.get(answer["outputs"]["microsite"]["url"])
    assert page.status_code == 200 and "Zebulon" in page.text
    assert "default-src 'none'" in page.headers["content-security-policy"]
    pdf = server.client.get(httpx.URL(page.url).join("bill.pdf")).content  # the page's own link
    reader = PdfReader(io.BytesIO(pdf))
    assert "Zebulon" in reader.pages[0].extract_text()
    pages = pdf_answer["outputs"]["pdf"]["pages"]
    assert len(pages) == len(reader.pages)
    image = Image.open(io.BytesIO(server.client.get(pages[0]).content))
    assert image.width == 820 and image.height > image.width  # A4, portrait
    css = [line for line in page.text.split('"') if "_static/" in line]
    assert css and all(server.client.get(httpx.URL(page.url).join(href)).status_code == 200 for href in css)
    assert answer["decision"]["variants"]["headline"] in ("plain", "warm")
    assert answer["query"].startswith("sample=de-DE&edits=")


def _first_frame(data: bytes, at: float) -> Image.Image:
    with av.open(io.BytesIO(data)) as container:
        stream = container.streams.video[0]
        for frame in container.decode(stream):
            if frame.time is not None and frame.time >= at:
                return frame.to_image()
    raise AssertionError(f"no frame at {at} s")


@pytest.mark.video
def test_a_draft_encodes_only_the_scenes_whose_content_changed(
    make_studio: Callable[..., StudioServer],
) -> None:
    server = make_studio("bill-summary", watch=False)
    first = _render(server, "video")
    video = first["outputs"]["video"]
    rows = video["timeline"]
    assert [row["cached"] for row in rows] == [False] * len(rows)
    assert sum(row["duration"] for row in rows) == pytest.approx(video["length"], abs=0.05)
    again = _render(server, "video")["outputs"]["video"]
    assert again["encoded"] == 0
    renamed = _render(server, "video", edits={"first_name": "Zebulon"})["outputs"]["video"]
    changed = [row["id"] for row in renamed["timeline"] if not row["cached"]]
    assert changed and all(row["personal"] for row in renamed["timeline"] if row["id"] in changed)
    assert len(changed) < len(rows)
    cache = server.studio.storage  # the edit's personal segments stay in memory, shared ones are stored
    for row in renamed["timeline"]:
        assert cache.exists(row["key"]) and cache.base.exists(row["key"]) != row["personal"], row["id"]
    greeting = next(row for row in rows if row["id"] in changed)
    at = greeting["start"] + greeting["duration"] / 2
    before = _first_frame(server.client.get(video["url"]).content, at)
    after = _first_frame(server.client.get(renamed["url"]).content, at)
    assert before.size == after.size and before.size[0] <= 960  # half size
    assert before.tobytes() != after.tobytes()
    whole = server.client.get(renamed["url"]).content  # a player seeks with byte ranges
    head = server.client.get(renamed["url"], headers={"Range": "bytes=0-99"})
    assert head.status_code == 206 and head.content == whole[:100]
    assert head.headers["content-range"] == f"bytes 0-99/{len(whole)}"
    tail = server.client.get(renamed["url"], headers={"Range": "bytes=-10"})
    assert tail.status_code == 206 and tail.content == whole[-10:]
    past = server.client.get(renamed["url"], headers={"Range": f"bytes={len(whole)}-"})
    assert past.status_code == 416 and past.headers["content-range"] == f"bytes */{len(whole)}"
    poster = Image.open(io.BytesIO(server.client.get(renamed["poster"]).content))
    assert renamed["poster_scene"] == changed[0] and poster.size == before.size
    captions = server.client.get(renamed["captions"]).text
    assert captions.startswith("WEBVTT") and "Zebulon" in captions


def test_a_save_reloads_and_a_broken_save_keeps_the_last_good_template(
    make_studio: Callable[..., StudioServer],
) -> None:
    server = make_studio("bill-summary")
    events: list[dict[str, Any]] = []
    ready = threading.Event()

    def listen() -> None:
        client = httpx.Client(base_url=server.url, timeout=30, trust_env=False)
        with client, client.stream("GET", "/events") as stream:
            name = ""
            for line in stream.iter_lines():
                if line.startswith("event:"):
                    name = line.split(":", 1)[1].strip()
                elif line.startswith("data:") and name:
                    events.append({"event": name, **json.loads(line[5:])})
                    ready.set()
                    if len(events) >= 3:
                        return

    thread = threading.Thread(target=listen, daemon=True)
    thread.start()
    assert ready.wait(10)
    generation = server.studio.generation
    server.edit("pdf/bill.css", "}", "} /* saved */")
    generation = server.wait_generation(generation)
    server.edit("template.yaml", "title: Interactive bill summary", "title: [unclosed")
    server.wait_generation(generation)
    thread.join(15)
    hello, saved, broken = events[:3]
    assert hello["event"] == "hello" and saved["event"] == "change" and saved["ok"]
    assert saved["files"] == ["pdf/bill.css"] and saved["affects"] == ["pdf"]
    assert not broken["ok"] and broken["problems"][0]["file"] == "template.yaml"
    assert broken["problems"][0]["line"] is not None
    answer = _render(server, "microsite")  # the last good template still renders
    assert answer["outputs"]["microsite"]["url"]
    info = server.client.get("/api/template").json()
    assert info["problems"] and info["template"]["name"] == "bill-summary"


REFUSED = [
    "/source/template/../../../../etc/passwd",
    "/source/template/%2e%2e/%2e%2e/etc/passwd",
    "/source/template/..%2f..%2fetc/passwd",
    "/source/assets/..%2f..%2frenderer/settings.py",
    "/source/home/etc/passwd",
    "/source/template/outside-link.yaml",
    "/studio/..%2f..%2fapp.py",
    "/out/unknown/index.html",
    "/_static/..%2f..%2ftemplate.yaml",
]


def test_files_outside_the_template_and_assets_are_refused(make_studio: Callable[..., StudioServer]) -> None:
    server = make_studio("bill-summary", watch=False)
    (server.root / "outside-link.yaml").symlink_to("/etc/passwd")
    for path in REFUSED:
        response = server.client.get(path)
        assert response.status_code == 404 and "root:" not in response.text, path
    own = server.client.get("/source/template/template.yaml")
    assert own.status_code == 200 and own.headers["content-type"].startswith("text/plain")
    assert "name: bill-summary" in own.text


def test_other_hosts_and_form_posts_are_refused(make_studio: Callable[..., StudioServer]) -> None:
    server = make_studio("bill-summary", watch=False)
    assert server.client.get("/api/template", headers={"Host": "attacker.example"}).status_code == 400
    form = server.client.post("/api/render", data={"sample": "de-DE"})
    assert form.status_code == 415


@pytest.mark.parametrize("path", ["/", "/locales", "/studio/studio.html", "/studio/locales.html"])
def test_no_other_site_can_frame_the_studio_pages(
    make_studio: Callable[..., StudioServer], path: str
) -> None:
    server = make_studio("bill-summary", watch=False)
    response = server.client.get(path)
    assert response.status_code == 200 and "<html" in response.text
    policy = response.headers.get("content-security-policy", "")
    assert "frame-ancestors 'none'" in policy and "script-src 'self'" in policy


def test_a_preflight_runs_beside_the_live_preview(tmp_path: Path) -> None:
    """The report comes from a process of its own: a page render asked meanwhile answers first."""
    write_card(tmp_path, studio_settings(tmp_path))
    with run_studio(tmp_path, "preflight-card", watch=False) as server:
        order: list[str] = []

        def preflight() -> None:
            response = server.client.post("/api/preflight", json={"synthetic": 2, "campaign_size": 100})
            assert response.status_code == 200, response.text
            report = response.json()
            assert report["recipients"] == 3 and {f["check"] for f in report["findings"]} >= {
                "glyphs",
                "text-fit",
            }
            order.append("preflight")

        thread = threading.Thread(target=preflight)
        thread.start()
        time.sleep(0.2)
        page = server.client.post("/api/render", json={"sample": "en-US", "output": "microsite"})
        assert page.status_code == 200
        order.append("page")
        thread.join(120)
        assert order == ["page", "preflight"]
        server.edit("template.yaml", "name: preflight-card", "name: [broken")
        broken = server.client.post("/api/preflight", json={})
        assert broken.status_code == 409 and broken.json()["problems"][0]["file"] == "template.yaml"
