"""The studio in Debian's Chromium, used as a designer uses it: pick a sample, edit the first
name and watch the microsite and the draft video's greeting frame change, type an invalid value
and read the error beside the field, save a template file and see the page update by itself,
break the template and read the lint message while the last render stays."""

from __future__ import annotations

import io
import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import av
import numpy as np
import pytest
from fixture_preflight import write_card
from fixture_studio import StudioServer, run_studio, studio_settings
from PIL import Image

pytestmark = [pytest.mark.browser, pytest.mark.video, pytest.mark.pdf, pytest.mark.slow]
WAIT_S = 60.0


@pytest.fixture(name="chromium", scope="module")
def chromium_fixture() -> Iterator[Any]:
    from tests.conftest import launch_chromium

    with launch_chromium() as browser:
        yield browser


def until(page: Any, script: str, timeout_s: float = WAIT_S) -> Any:
    """Poll `script` (an expression) in the page until it is truthy; its value. (The studio's
    CSP forbids the eval that Playwright's wait_for_function needs.)"""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = page.evaluate(f"() => {script}")
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {script}")


def site_text(page: Any) -> str:
    """The text of the studio's microsite frame once it has loaded (it reloads when the draft
    video lands: a frame navigating away is asked again)."""
    from playwright.sync_api import Error

    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        frame = page.frame(url=lambda url: "/out/" in url and "/index.html" in url)
        try:
            if frame is not None:
                frame.wait_for_load_state("load")
                return str(frame.evaluate("() => document.body.innerText"))
        except Error:  # navigated while asked
            pass
        time.sleep(0.05)
    return ""


def greeting_frame(server: StudioServer, page: Any) -> Image.Image:
    """The draft video's frame in the middle of its greeting scene, decoded from the MP4 the
    studio's player plays."""
    src = page.evaluate("() => document.getElementById('video').src")
    row = page.evaluate(
        "() => { const r = document.querySelector('#timeline tr[data-scene=greeting]');"
        " return [Number(r.cells[2].textContent.split(' ')[0]), Number(r.cells[3].textContent.split(' ')[0])]; }"
    )
    at = row[0] + row[1] / 2
    with av.open(io.BytesIO(server.client.get(src).content)) as container:
        for frame in container.decode(video=0):
            if frame.time is not None and frame.time >= at:
                return frame.to_image()
    raise AssertionError("the draft has no frame in its greeting scene")


def test_the_studio_as_a_designer_uses_it(
    make_studio: Callable[..., StudioServer], chromium: Any, artifacts: Any
) -> None:
    server = make_studio("bill-summary")
    sample = server.studio.template.samples["de-DE"]  # type: ignore[union-attr]
    page = chromium.new_page(viewport={"width": 1500, "height": 1100})
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(f"{server.url}/?sample=en-US")
    until(page, "document.body.dataset.rendered")
    page.select_option("#sample", "de-DE")
    until(page, "document.getElementById('video').src && !document.body.dataset.rendering")
    assert sample["first_name"] in site_text(page)
    before = greeting_frame(server, page)
    shown = until(page, "document.body.dataset.rendered")

    page.fill("#field-first_name", "Zebulon")
    until(page, f"document.body.dataset.rendered !== '{shown}' && !document.body.dataset.rendering")
    assert "Zebulon" in site_text(page)
    assert "Zebulon" in page.evaluate("() => decodeURIComponent(location.search)")  # shareable
    after = greeting_frame(server, page)
    diff = np.abs(np.asarray(before, dtype=int) - np.asarray(after, dtype=int)).sum(axis=2)
    assert (diff > 40).sum() > 200, "the greeting frame must show the new name"
    page.screenshot(path=str(artifacts / "studio-edit.png"), full_page=True)

    page.fill("#field-first_name", "")
    until(page, "document.getElementById('error-first_name').textContent")
    assert "required" in page.text_content("#error-first_name")
    assert "Zebulon" in site_text(page)  # the last good render stays
    page.fill("#field-first_name", "Zebulon")
    until(page, "!document.getElementById('error-first_name').textContent")

    page.evaluate("() => { window.studioKept = true; }")
    shown = page.evaluate("() => document.body.dataset.rendered")
    server.edit("microsite/index.html", "<main", '<p id="saved-marker">Saved on disk</p><main')
    until(page, f"document.body.dataset.rendered !== '{shown}'", 15)
    deadline = time.monotonic() + 15
    while "Saved on disk" not in site_text(page):
        assert time.monotonic() < deadline, "the saved page never showed"
        time.sleep(0.05)
    assert page.evaluate("() => window.studioKept") is True  # no manual reload

    server.edit("microsite/index.html", '<p id="saved-marker">', '<p id="saved-marker">{% if %}')
    until(page, "!document.getElementById('problems').hidden", 15)
    problem = page.text_content("#problem-list")
    assert problem.startswith("microsite/index.html:")
    assert "Saved on disk" in site_text(page)
    page.screenshot(path=str(artifacts / "studio-broken.png"), full_page=True)
    assert errors == []
    page.close()


def test_every_locale_side_by_side(
    make_studio: Callable[..., StudioServer], chromium: Any, artifacts: Any
) -> None:
    server = make_studio("bill-summary", watch=False)
    page = chromium.new_page(viewport={"width": 1500, "height": 1000})
    page.goto(f"{server.url}/locales")
    until(page, "document.body.dataset.rendered")
    rows = page.query_selector_all(".locale-row")
    assert len(rows) == 6
    scenes = len(server.studio.template.manifest.outputs.video.scenes)  # type: ignore[union-attr]
    for row in rows:
        stills = row.query_selector_all(".stills img")
        assert 0 < len(stills) <= scenes
    until(
        page,
        "[...document.querySelectorAll('.stills img')].every((i) => i.complete && i.naturalWidth === 320)",
    )
    pages = [frame for frame in page.frames if "/out/" in frame.url]
    assert len(pages) == 6
    deadline = time.monotonic() + WAIT_S
    while not all(frame.evaluate("() => document.readyState") == "complete" for frame in pages):
        assert time.monotonic() < deadline, "the locale pages never loaded"
        time.sleep(0.05)
    directions = sorted(frame.evaluate("() => document.documentElement.dir || 'ltr'") for frame in pages)
    assert directions == ["ltr"] * 5 + ["rtl"]
    height = page.evaluate("() => document.documentElement.scrollHeight")
    page.set_viewport_size({"width": 1500, "height": height})  # offscreen frames are not painted
    time.sleep(0.3)
    page.screenshot(path=str(artifacts / "studio-locales.png"))
    page.close()


def test_a_save_during_a_render_leaves_no_output_of_the_data_before(
    make_studio: Callable[..., StudioServer], chromium: Any
) -> None:
    """A save that arrives while an edit's draft video is still rendering (its answer held back
    here): the studio ends up showing one render of the edit, the page and the video alike."""
    server = make_studio("bill-summary")
    page = chromium.new_page(viewport={"width": 1500, "height": 1100})
    page.goto(f"{server.url}/?sample=de-DE")
    until(page, "document.getElementById('video').src && !document.body.dataset.rendering")
    held: list[Any] = []
    hold = {"video": True}

    def route(request_route: Any) -> None:
        body = json.loads(request_route.request.post_data or "{}")
        if body.get("output") == "video" and hold["video"]:
            held.append(request_route)  # answered after the save
        else:
            request_route.continue_()

    page.route("**/api/render", route)
    page.fill("#field-first_name", "Zebulon")
    deadline = time.monotonic() + WAIT_S
    while not (held and "Zebulon" in site_text(page)):
        assert time.monotonic() < deadline, "the edit's microsite never showed"
        page.wait_for_timeout(50)  # routes are answered while the page is waited on
    hold["video"] = False
    generation = server.studio.generation
    server.edit("pdf/bill.css", "}", "} /* saved during a render */")
    server.wait_generation(generation)
    until(page, "!document.body.dataset.rendering", 30)
    for late in held:
        late.continue_()
    page.wait_for_timeout(500)
    until(page, "!document.body.dataset.rendering")
    ids = page.evaluate(
        "() => [document.getElementById('site').src, document.getElementById('video').src]"
        ".map((url) => new URL(url).pathname.split('/')[2])"
    )
    assert ids[0] == ids[1], "the video shown is not the edit's"
    assert "Zebulon" in site_text(page)
    page.close()


def test_opening_the_studio_renders_each_output_once(
    make_studio: Callable[..., StudioServer], chromium: Any
) -> None:
    server = make_studio("bill-summary", watch=False)
    page = chromium.new_page(viewport={"width": 1500, "height": 1100})
    outputs: list[str] = []
    page.on(
        "request",
        lambda request: (
            outputs.append(json.loads(request.post_data or "{}").get("output", ""))
            if request.url.endswith("/api/render")
            else None
        ),
    )
    page.goto(f"{server.url}/?sample=de-DE")
    until(page, "document.getElementById('video').src && !document.body.dataset.rendering")
    page.wait_for_timeout(1000)  # a second render would have started by now
    assert sorted(outputs) == ["microsite", "pdf", "video"]
    page.close()


def test_a_shared_link_opens_the_same_preview(
    make_studio: Callable[..., StudioServer], chromium: Any
) -> None:
    server = make_studio("bill-summary", watch=False)
    page = chromium.new_page(viewport={"width": 1500, "height": 1100})
    edits = json.dumps({"first_name": "Quentin"})
    page.goto(f"{server.url}/?{urlencode({'sample': 'it-IT', 'edits': edits, 'force': 'headline:warm'})}")
    until(page, "document.body.dataset.rendered && !document.body.dataset.rendering")
    assert page.input_value("#sample") == "it-IT"
    assert page.input_value("#field-first_name") == "Quentin"
    assert page.input_value("#force-headline") == "warm"
    assert "Che piacere rivederti, Quentin" in site_text(page)  # the warm headline, forced
    assert page.text_content("#variant-key") == "headline=warm"
    page.select_option("#force-headline", "plain")
    until(page, "new URLSearchParams(location.search).get('force') === 'headline:plain'")
    deadline = time.monotonic() + WAIT_S
    while "Ciao Quentin, ecco la tua bolletta" not in site_text(page):
        assert time.monotonic() < deadline, "the forced plain headline never showed"
        time.sleep(0.05)
    page.fill("#field-line_items", "[{")
    until(page, "document.getElementById('error-line_items').textContent")
    assert "JSON" in page.text_content("#error-line_items")
    page.close()


def test_the_preflight_finds_the_broken_texts_of_a_test_template(
    tmp_path: Path, chromium: Any, artifacts: Any
) -> None:
    write_card(tmp_path, studio_settings(tmp_path))
    with run_studio(tmp_path, "preflight-card", watch=False) as server:
        page = chromium.new_page(viewport={"width": 1500, "height": 1100})
        page.goto(f"{server.url}/")
        until(page, "document.body.dataset.rendered")
        page.click("#preflight-form button[type=submit]")
        until(page, "document.querySelector('.findings tbody tr')", WAIT_S * 2)
        rows = page.query_selector_all(".findings tbody tr")
        found = {
            (row.get_attribute("data-check"), row.query_selector("td:nth-child(2)").text_content())
            for row in rows
        }
        assert ("text-fit", "error") in found and ("glyphs", "error") in found
        assert {"contrast", "narration", "link"} <= {check for check, _ in found}
        text = page.text_content("#preflight")
        assert "U+12000" in text and "Zebulon" not in text
        assert "A campaign of 10,000" in text
        page.locator("#pane-preflight").screenshot(path=str(artifacts / "studio-preflight.png"))
        page.close()
