"""The interactive player, played in headless Chromium on pages a live API serves.

Each journey opens a recipient's real page (rendered with its video into the server's storage)
through its token link and plays it: the HLS stream (the browser's own HLS and hls.js), the
captions, a chapter jump landing on its scene's first frame, the "Pay now" call to action only
during the amount scene, the events the page sends, resume, keyboard use, right-to-left controls,
reduced motion, and axe-core. Events are caught at the page's side here (the request the browser
makes); the API's handling of them is tested in ``test_api_events.py``.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Iterator
from typing import Any

import pytest
from fixture_api import api_settings, bound_socket, port_of, serve
from fixture_pages import chromium, render_page  # noqa: F401

from renderer.jobs.store import open_store
from renderer.settings import PROJECT_ROOT

pytestmark = [pytest.mark.browser, pytest.mark.video, pytest.mark.slow]

AXE_JS = PROJECT_ROOT / "node_modules" / "axe-core" / "axe.min.js"
FORCE_HLS_JS = """
const native = HTMLMediaElement.prototype.canPlayType;
HTMLMediaElement.prototype.canPlayType = function (type) {
  return /mpegurl/i.test(type) ? "" : native.call(this, type);
};
"""


@pytest.fixture(scope="module")
def pages(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """A live API and the en-US and fa-IR sample pages on it (microsite, PDF, video)."""
    sock = bound_socket()
    with serve(api_settings(tmp_path_factory.mktemp("player"), port_of(sock)), sock) as api:
        yield {sample: render_page(api, sample) for sample in ("en-US", "fa-IR")}


def wait_in(page: Any, condition: str, timeout_s: float = 15.0) -> None:
    """Poll the JavaScript expression `condition` in `page` until it is true."""
    deadline = time.monotonic() + timeout_s
    while not page.evaluate(condition):
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {condition}")
        page.wait_for_timeout(100)


class Journey:
    """One page in a fresh browser context, with the events it sends and its errors."""

    def __init__(self, browser: Any, url: str, *, hls_js: bool = False, **context: Any) -> None:
        self.context = browser.new_context(viewport={"width": 1100, "height": 1300}, **context)
        if hls_js:
            self.context.add_init_script(FORCE_HLS_JS)
        self.events: list[dict[str, Any]] = []
        self.errors: list[str] = []
        self.page = self.context.new_page()
        self.page.on("pageerror", lambda error: self.errors.append(str(error)))
        self.page.route("**/events", self._catch_events)
        # each journey starts fresh: the position other journeys' beacons left is not theirs
        self.page.route("**/position", lambda route: route.fulfill(json={"position": None}))
        self.page.route("https://pay.example.com/**", lambda route: route.fulfill(body="paid"))
        self.page.goto(url)
        self.page.wait_for_selector("[data-tailor-player][data-ready]")
        self.page.evaluate("document.querySelector('video').muted = true")

    def _catch_events(self, route: Any) -> None:
        body = json.loads(route.request.post_data or "{}")
        self.events.extend(body.get("events", []))
        route.fulfill(status=202, json={"accepted": len(body.get("events", [])), "duplicates": 0})

    def sent(self, kind: str) -> list[dict[str, Any]]:
        """Events of `kind` the page sent so far (flushing its queue first)."""
        self.page.evaluate("window.tailorEvents.flush()")
        self.page.wait_for_timeout(300)
        return [event for event in self.events if event["kind"] == kind]

    def js(self, script: str) -> Any:
        return self.page.evaluate(script)

    def wait(self, condition: str, timeout_s: float = 15.0) -> None:
        """Poll `condition` in the page until it holds (`wait_for_function` evaluates strings,
        which the page's CSP refuses)."""
        wait_in(self.page, condition, timeout_s)

    def scenes(self) -> dict[str, tuple[float, float]]:
        """Scene id -> (start, end) from the page's scenes track."""
        cues = self.js(
            "[...[...document.querySelector('video').textTracks].find(t => t.kind === 'metadata').cues]"
            ".map(c => [c.id, c.startTime, c.endTime])"
        )
        return {scene: (start, end) for scene, start, end in cues}

    def seek(self, seconds: float) -> None:
        """Seek and wait until the player has caught up (the scenes track has fired)."""
        self.js(f"document.querySelector('video').currentTime = {seconds}")
        self.wait(f"Math.abs(document.querySelector('video').currentTime - {seconds}) < 0.05")
        self.page.wait_for_timeout(400)

    def close(self) -> None:
        self.context.close()


@pytest.fixture
def journey(chromium: Any, pages: dict[str, str]) -> Iterator[Any]:  # noqa: F811
    opened: list[Journey] = []

    def open_page(sample: str = "en-US", **options: Any) -> Journey:
        opened.append(Journey(chromium, pages[sample], **options))
        return opened[-1]

    yield open_page
    for item in opened:
        assert item.errors == [], item.errors
        item.close()


@pytest.mark.parametrize("hls_js", [False, True], ids=["native-hls", "hls.js"])
def test_the_player_plays_the_hls_stream_with_captions(journey: Any, hls_js: bool) -> None:
    page = journey(hls_js=hls_js)
    page.js("document.querySelector('video').play()")
    page.wait("document.querySelector('video').currentTime > 5.5", 30)
    source = page.js("document.querySelector('video').currentSrc")
    if hls_js:
        assert page.js("document.querySelector('[data-tailor-player]').dataset.stream") == "hls.js"
        assert source.startswith("blob:"), source  # Media Source Extensions, fed by hls.js
    else:
        assert source.endswith("/video.m3u8"), source
    caption = page.js("document.querySelector('[data-tp=captions-box]').textContent")
    cues = page.js(
        "[...[...document.querySelector('video').textTracks].find(t => t.kind === 'captions').activeCues]"
        ".map(c => c.text).join('\\n')"
    )
    assert caption and caption == cues
    assert page.js("!document.querySelector('[data-tp=captions-box]').hidden")
    assert page.js("document.querySelector('[data-tp=captions]').getAttribute('aria-pressed')") == "true"


def test_a_chapter_jump_lands_on_its_scenes_first_frame(journey: Any) -> None:
    page = journey()
    scenes = page.scenes()
    page.js(
        "const v = document.querySelector('video');"
        "v.addEventListener('seeked', () => { window.seekedAt = v.currentTime; }, {once: true})"
    )
    page.page.get_by_role("button", name="Your usage").click()
    page.wait("window.seekedAt !== undefined")
    at = page.js("window.seekedAt")
    assert at == pytest.approx(scenes["usage"][0], abs=0.1)
    jumps = page.sent("chapter_jump")
    assert [(e["target"], e["scene"], e["position"]) for e in jumps] == [
        ("usage", "usage", pytest.approx(scenes["usage"][0], abs=1e-3))
    ]
    current = page.js("document.querySelector('.tp-chapters [aria-current=true]').textContent")
    assert current.startswith("Your usage")


def test_pay_now_shows_only_during_the_amount_scene_and_counts_one_click(journey: Any) -> None:
    page = journey()
    scenes = page.scenes()
    overlay = page.page.locator("[data-tp=overlay] [data-cta=pay-now]")
    for scene, visible in (("intro", False), ("amount", True), ("usage", False), ("amount", True)):
        start, end = scenes[scene]
        page.seek((start + end) / 2)
        assert overlay.count() == (1 if visible else 0), scene
    assert page.js("document.querySelector('[data-tp=live]').textContent").endswith(overlay.inner_text())
    shown = page.sent("cta_shown")
    assert [e["target"] for e in shown if e["target"] == "pay-now"] == ["pay-now"]  # once per view
    with page.page.expect_navigation():
        overlay.click()
    clicks = [e for e in page.events if e["kind"] == "cta_click"]
    assert [(e["target"], e["scene"]) for e in clicks] == [("pay-now", "amount")]


def test_the_cta_never_covers_the_captions(journey: Any) -> None:
    page = journey()
    start, _ = page.scenes()["amount"]
    page.js("document.querySelector('video').play()")
    page.seek(start + 0.5)
    page.wait("document.querySelector('[data-tp=captions-box]').textContent.length > 0")
    cta = page.page.locator("[data-tp=overlay] [data-cta=pay-now]").bounding_box()
    caption = page.page.locator("[data-tp=captions-box] span").bounding_box()
    assert cta and caption
    assert cta["y"] + cta["height"] < caption["y"]  # the call to action sits above the captions


def test_quartiles_arrive_once_each_in_order(journey: Any) -> None:
    page = journey()
    page.js("const v = document.querySelector('video'); v.playbackRate = 4; v.play()")
    page.wait("document.querySelector('video').ended", 60)
    page.seek(1.0)  # watching again sends nothing new
    page.js("document.querySelector('video').play()")
    page.page.wait_for_timeout(1500)
    progress = page.sent("video_progress")
    assert [e["value"] for e in progress] == [25, 50, 75, 100]
    skipper = journey()  # a seek is not watching: only the quarter played through counts
    duration = skipper.js("document.querySelector('video').duration")
    skipper.seek(duration * 0.8)
    assert skipper.sent("video_progress") == []
    skipper.js("const v = document.querySelector('video'); v.playbackRate = 4; v.play()")
    skipper.wait("document.querySelector('video').ended", 30)
    assert [e["value"] for e in skipper.sent("video_progress")] == [100]
    assert len(page.sent("video_play")) == 1
    assert len({e["id"] for e in page.events}) == len(page.events)  # every event has its own id
    assert {e["view"] for e in page.events} == {page.events[0]["view"]}


def test_resume_from_the_position_the_server_saw(journey: Any, chromium: Any, pages: dict[str, str]) -> None:  # noqa: F811
    context = chromium.new_context()
    context.route("**/position", lambda route: route.fulfill(json={"position": 12.5}))
    page = context.new_page()
    page.goto(pages["en-US"])
    page.wait_for_selector("[data-tp=status]:not([hidden])")
    assert page.evaluate("document.querySelector('video').currentTime") == pytest.approx(12.5, abs=0.05)
    page.get_by_role("button", name="Start over").click()
    assert page.evaluate("document.querySelector('video').currentTime") == pytest.approx(0, abs=0.05)
    assert context.cookies() == []
    assert page.evaluate("localStorage.length + sessionStorage.length") == 0
    context.close()


def test_the_whole_journey_works_by_keyboard(journey: Any) -> None:
    page = journey()
    keyboard = page.page.keyboard
    for _ in range(60):  # tab from the top of the page to the play button
        keyboard.press("Tab")
        if page.js("document.activeElement === document.querySelector('[data-tp=play]')"):
            break
    else:
        pytest.fail("the play button is not reachable with Tab")
    keyboard.press("Enter")
    page.wait("document.querySelector('[data-tp=play]').getAttribute('aria-label') === 'Pause'")
    assert not page.js("document.querySelector('video').paused")
    keyboard.press("Enter")
    page.wait("document.querySelector('[data-tp=play]').getAttribute('aria-label') === 'Play'")
    assert page.js("document.querySelector('video').paused")
    for _ in range(20):  # on to the chapter list's "Amount due"
        keyboard.press("Tab")
        if page.js("document.activeElement.dataset.chapter === 'amount'"):
            break
    else:
        pytest.fail("the chapter list is not reachable with Tab")
    keyboard.press("Enter")  # jumps there and plays
    page.page.wait_for_selector("[data-tp=overlay] [data-cta=pay-now]")
    keyboard.press("k")  # pause, from the keyboard too
    page.wait("document.querySelector('video').paused")
    for _ in range(40):  # the call to action over the player is in the tab order
        keyboard.press("Shift+Tab")
        if page.js("document.activeElement.dataset.cta === 'pay-now'"):
            break
    else:
        pytest.fail("the call to action over the player is not reachable with the keyboard")
    with page.page.expect_navigation():
        keyboard.press("Enter")


def test_persian_controls_run_right_to_left(journey: Any) -> None:
    page = journey("fa-IR")
    play = page.page.locator("[data-tp=play]").bounding_box()
    full = page.page.locator("[data-tp=fullscreen]").bounding_box()
    assert play and full and play["x"] > full["x"]  # play at the right, full screen at the left
    assert page.js("getComputedStyle(document.querySelector('.tp-seek')).direction") == "rtl"
    assert page.page.locator("[data-tp=chapters] h3").inner_text() == "فصل‌ها"


def test_reduced_motion_turns_the_cta_animation_off(journey: Any) -> None:
    page = journey(reduced_motion="reduce")
    assert page.js("document.querySelector('[data-tailor-player]').classList.contains('tp-reduced-motion')")
    start, end = page.scenes()["amount"]
    page.seek((start + end) / 2)
    name = page.js("getComputedStyle(document.querySelector('[data-cta=pay-now].tp-cta')).animationName")
    assert name == "none"


@pytest.mark.parametrize("sample", ["en-US", "fa-IR"])
def test_axe_finds_no_violations_on_the_interactive_page(journey: Any, sample: str) -> None:
    page = journey(sample, bypass_csp=True)  # the page's CSP would refuse the injected axe-core
    start, end = page.scenes()["amount"]
    page.seek((start + end) / 2)  # with the call to action over the player
    page.page.add_script_tag(content=AXE_JS.read_text(encoding="utf-8"))
    result = page.js("axe.run(document, {resultTypes: ['violations']})")
    violations = [(v["id"], [n["target"] for n in v["nodes"]]) for v in result["violations"]]
    assert violations == []


def test_the_chat_page_opens_with_the_template_context_only(journey: Any) -> None:
    page = journey()
    page.context.route("https://chat.example.com/**", lambda route: route.fulfill(body="chat"))
    with page.context.expect_page() as popup:
        page.page.locator("footer [data-tailor-cta=chat]").click()
    assert popup.value.url == "https://chat.example.com/tailor-energy?plan=plus&locale=en_US"
    assert [e["target"] for e in page.sent("chat_open")] == ["chat"]
    popup.value.close()


def test_a_chat_widget_loads_from_its_declared_origin_only(
    chromium: Any,  # noqa: F811
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    templates = tmp_path_factory.mktemp("templates")
    shutil.copytree(PROJECT_ROOT / "templates" / "bill-summary", templates / "bill-summary")
    manifest = templates / "bill-summary" / "template.yaml"
    text = manifest.read_text(encoding="utf-8")
    text = text.replace(
        'chat: {url: "https://chat.example.com/tailor-energy"',
        'chat: {script: "https://chat.example.test/widget.js"',
    )
    timed = "{id: chat, label: cta_chat, chat: true, start: 1.0, end: 2.5}"
    text = text.replace("{id: chat, label: cta_chat, chat: true, scenes: [outro]}", timed)
    manifest.write_text(text, encoding="utf-8")
    sock = bound_socket()
    settings = api_settings(tmp_path_factory.mktemp("widget"), port_of(sock), templates_dir=templates)
    with serve(settings, sock) as api:
        url = render_page(api, "en-US")
        context = chromium.new_context()
        widget = "document.addEventListener('tailor:chat-open', e => { document.body.dataset.chat = JSON.stringify(e.detail.context); });"
        context.route(
            "https://chat.example.test/widget.js",
            lambda route: route.fulfill(body=widget, content_type="text/javascript"),
        )
        context.route(
            "https://elsewhere.example/**",
            lambda route: route.fulfill(body="window.pwned = 1", content_type="text/javascript"),
        )
        context.route(
            "**/events", lambda route: route.fulfill(status=202, json={"accepted": 1, "duplicates": 0})
        )
        page = context.new_page()
        answer = page.goto(url)
        assert answer is not None
        csp = answer.headers["content-security-policy"]
        assert "script-src 'self' https://chat.example.test;" in csp and "elsewhere" not in csp
        page.wait_for_selector("[data-tailor-player][data-ready]")
        overlay = page.locator("[data-tp=overlay] [data-cta=chat]")
        for at, shown in ((1.5, True), (3.0, False), (2.0, True)):  # a time range inside the intro scene
            page.evaluate(f"document.querySelector('video').currentTime = {at}")
            page.wait_for_timeout(500)
            assert overlay.count() == (1 if shown else 0), at
        button = page.locator("footer button[data-tailor-cta=chat]")
        button.click()  # revealed by the page's script
        wait_in(page, "document.body.dataset.chat !== undefined")
        assert json.loads(page.evaluate("document.body.dataset.chat")) == {"plan": "plus", "locale": "en_US"}
        page.evaluate(
            "const s = document.createElement('script'); s.src = 'https://elsewhere.example/x.js'; document.head.appendChild(s)"
        )
        page.wait_for_timeout(500)
        assert page.evaluate("window.pwned") is None  # the CSP allows the chat's origin and nothing wider
        context.close()


PAGE_BUDGET = 250 * 1024  # the bound: page + player + hls.js, gzip, before the video


def test_the_interactive_page_transfers_under_250_kb_before_the_video(
    chromium: Any,  # noqa: F811
    pages: dict[str, str],
) -> None:
    """Every response the page loads until it is ready to play, as transferred (gzip bodies);
    the video's playlist and segments, and the poster image, come after and are left out."""
    context = chromium.new_context(extra_http_headers={"Accept-Encoding": "gzip"})
    context.add_init_script(FORCE_HLS_JS)  # hls.js is fetched and run, as where HLS is not native
    page = context.new_page()
    loaded: list[Any] = []
    page.on("requestfinished", lambda request: loaded.append(request))
    page.goto(pages["en-US"])
    page.wait_for_selector("[data-tailor-player][data-ready]")
    page.wait_for_load_state("networkidle")
    media = (".m3u8", ".m4s", ".mp4", ".jpg")
    sizes = {
        request.url.rsplit("/", 1)[-1]: request.sizes()["responseBodySize"]
        for request in loaded
        if not request.url.split("?")[0].endswith(media)
    }
    context.close()
    names = " ".join(sizes)
    assert "hls.min." in names and "player." in names and "index.html" in names, sizes
    assert sum(sizes.values()) < PAGE_BUDGET, sizes


def test_events_reach_the_store_once_and_the_next_visit_resumes_there(
    chromium: Any,  # noqa: F811
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """End to end through the real ``POST /events``: one ``cta_click`` stored for one click,
    quartiles once each, and a new visit starts where the last ``video_pause`` left off."""
    sock = bound_socket()
    with serve(api_settings(tmp_path_factory.mktemp("live"), port_of(sock)), sock) as api:
        url = render_page(api, "en-US")
        context = chromium.new_context()
        context.route("https://pay.example.com/**", lambda route: route.fulfill(body="paid"))
        page = context.new_page()
        page.goto(url)
        page.wait_for_selector("[data-tailor-player][data-ready]")
        cues = page.evaluate(
            "[...[...document.querySelector('video').textTracks].find(t => t.kind === 'metadata').cues]"
            ".map(c => [c.id, c.startTime, c.endTime])"
        )
        start, end = next((s, e) for scene, s, e in cues if scene == "amount")
        page.evaluate(
            f"const v = document.querySelector('video'); v.muted = true; v.currentTime = {start + 0.5}; v.play()"
        )
        wait_in(page, "document.querySelector('[data-tp=overlay] [data-cta=pay-now]') !== null")
        page.evaluate("document.querySelector('video').pause()")
        paused_at = page.evaluate("document.querySelector('video').currentTime")
        reached = [
            q
            for q in (25.0, 50.0)
            if paused_at / page.evaluate("document.querySelector('video').duration") * 100 >= q
        ]
        with page.expect_navigation():
            page.locator("[data-tp=overlay] [data-cta=pay-now]").click()
        page.wait_for_timeout(500)
        store = open_store(api.settings.database_url)
        try:
            events = [e for e in store.events.for_campaign("bill-summary", api.segment)]
        finally:
            store.close()
        kinds = [e.kind for e in events]
        assert kinds.count("page_view") == 1 and kinds.count("video_play") == 1
        assert [(e.target, e.scene) for e in events if e.kind == "cta_click"] == [("pay-now", "amount")]
        shown = [e.target for e in events if e.kind == "cta_shown"]  # the page's buttons in sight count
        assert (
            shown.count("pay-now") == 1 and "chat" not in shown
        )  # once per view; the footer is out of sight
        assert [e.value for e in events if e.kind == "video_progress"] == reached
        pauses = [e.position for e in events if e.kind == "video_pause"]
        assert pauses and pauses[-1] == pytest.approx(paused_at, abs=0.01)
        second = context.new_page()  # the next visit: a new view, resumed where the last one paused
        second.goto(url)
        wait_in(second, "!document.querySelector('[data-tp=status]').hidden")
        assert second.evaluate("document.querySelector('video').currentTime") == pytest.approx(
            paused_at, abs=0.05
        )
        assert end > paused_at
        context.close()


def test_a_broken_stream_falls_back_to_the_mp4(chromium: Any, pages: dict[str, str]) -> None:  # noqa: F811
    context = chromium.new_context()
    context.route("**/video.m3u8", lambda route: route.fulfill(status=404, body="gone"))
    context.route("**/events", lambda route: route.fulfill(status=202, json={"accepted": 0, "duplicates": 0}))
    context.route("**/position", lambda route: route.fulfill(json={"position": None}))
    page = context.new_page()
    page.goto(pages["en-US"])
    page.wait_for_selector("[data-tailor-player][data-ready]")
    wait_in(page, "document.querySelector('[data-tailor-player]').dataset.stream === 'mp4'")
    page.evaluate("const v = document.querySelector('video'); v.muted = true; v.play()")
    wait_in(page, "document.querySelector('video').currentTime > 1")
    assert page.evaluate("document.querySelector('video').currentSrc").endswith("/video.mp4")
    context.close()
