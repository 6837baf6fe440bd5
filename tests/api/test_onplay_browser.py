"""An on-play video played in Debian Chromium from the first request to the end: the page's
player drives hls.js over a stream whose personal segments do not exist yet, and never waits
more than half a second once the first frame is shown."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from fixture_api import ApiServer, api_settings, bound_socket, port_of, serve
from fixture_pages import chromium, render_page  # noqa: F401

pytestmark = [pytest.mark.browser, pytest.mark.video, pytest.mark.slow]

WATCH = """() => {
  const v = document.querySelector('video');
  window.watch = {events: [], t0: performance.now()};
  for (const name of ['waiting', 'playing', 'ended', 'error']) {
    v.addEventListener(name, () => window.watch.events.push([name, performance.now(), v.currentTime]));
  }
}"""


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiServer]:
    sock = bound_socket()
    settings = api_settings(tmp_path_factory.mktemp("onplay-browser"), port_of(sock), tts_engine="fake")
    with serve(settings, sock) as running:
        yield running


def _stalls(events: list[list[Any]]) -> list[float]:
    """Seconds of each `waiting` after the first `playing`, until playback resumed (or ended)."""
    stalls, started, waiting_since = [], False, None
    for name, at, _ in events:
        if name == "playing":
            if started and waiting_since is not None:
                stalls.append((at - waiting_since) / 1000)
            started, waiting_since = True, None
        elif name == "waiting" and started:
            waiting_since = at
        elif name == "ended" and waiting_since is not None:
            stalls.append((at - waiting_since) / 1000)
    return stalls


def test_an_on_play_video_plays_to_the_end_without_stalling(api: ApiServer, chromium: Any) -> None:  # noqa: F811
    page_url = render_page(api, "en-US", ("microsite", "video"), on_play=True)
    context = chromium.new_context(viewport={"width": 1100, "height": 1300})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    try:
        page.goto(page_url)
        page.wait_for_selector("[data-tailor-player][data-ready]")
        assert page.evaluate("document.querySelector('[data-tailor-player]').dataset.stream") == "hls.js"
        assert not any(url.endswith(".mp4") and "/stream/" not in url for url in requested), "no MP4 on play"
        page.evaluate(WATCH)
        page.evaluate("document.querySelector('video').muted = true; document.querySelector('video').play()")
        deadline = time.monotonic() + 90
        while not page.evaluate("document.querySelector('video').ended") and time.monotonic() < deadline:
            page.wait_for_timeout(250)
        state = page.evaluate(
            "(() => { const v = document.querySelector('video'); return {ended: v.ended, at: v.currentTime,"
            " duration: v.duration, audio: v.webkitAudioDecodedByteCount, frames:"
            " v.getVideoPlaybackQuality().totalVideoFrames, events: window.watch.events}; })()"
        )
    finally:
        context.close()
    assert state["ended"] and state["at"] == pytest.approx(state["duration"], abs=0.1), state
    assert state["audio"] > 0, "the audio rendition played"
    assert state["frames"] >= 0.95 * round(state["duration"] * 30), "every frame was shown"
    stalls = _stalls(state["events"])
    assert not stalls or max(stalls) <= 0.5, f"the player waited {max(stalls):.2f} s for a segment"
    assert not [e for e in state["events"] if e[0] == "error"] and errors == []
    assert any("/stream/v/1.m4s" in url for url in requested), "the personal greeting came on request"
