"""Render on play through a live API: playlists before any segment exists, segments rendered
once when asked, shared ones stored once, the fallback when late, tokens, erasure; and the
stream checked against the eager MP4 of the same recipient (frames and A/V timing)."""

from __future__ import annotations

import io
import re
import socket
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import av
import httpx
import numpy as np
import pytest
from fixture_api import ApiServer, api_settings, bound_socket, make_api_fixture, port_of, serve  # noqa: F401
from fixture_pages import render_page

from renderer.jobs.onplay import render_piece
from renderer.jobs.store import open_store
from renderer.outputs.load import load_template
from renderer.outputs.video.plan import VideoOptions
from renderer.outputs.video.render import read_stream_record
from renderer.outputs.video.streaming import StreamPlan
from renderer.outputs.video.tts import open_tts
from renderer.storage import open_storage

pytestmark = [pytest.mark.video, pytest.mark.slow]
FPS = 30
RATE = 24_000


def _client() -> httpx.Client:
    return httpx.Client(timeout=120, trust_env=False, follow_redirects=True)


def _folder_url(page_url: str) -> str:
    """The page's folder under its token (where ``video.m3u8`` and ``stream/`` are)."""
    with _client() as client:
        answer = client.get(page_url)
    assert answer.status_code == 200, answer.text
    return str(answer.url).rsplit("/", 1)[0] + "/"


def _plan(api: ApiServer, folder_url: str) -> StreamPlan:
    """The stream plan the render stored beside the page (read from storage: it is never served)."""
    key = folder_url.split("/r/", 1)[1].split("/", 1)[1] + "stream.json"
    storage = open_storage(api.settings.storage_url, api.settings)
    try:
        plan, _ = read_stream_record(storage.get(key))
    finally:
        storage.close()
    return plan


def _metric(api: ApiServer, name: str) -> float:
    with _client() as client:
        text = client.get(api.url + "/metrics").text
    found = re.search(rf"^{re.escape(name)} (\S+)$", text, re.M)
    assert found, name
    return float(found.group(1))


def _segments(api: ApiServer) -> set[str]:
    root = Path(api.settings.storage_url) / "cache" / "segments"
    return {p.name for p in root.glob("*.m4s")} if root.is_dir() else set()


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ApiServer, ApiServer]]:
    """Two API servers on one job store and one storage (two processes' worth of render pools),
    fake TTS."""
    root = tmp_path_factory.mktemp("onplay")
    with ExitStack() as stack:
        servers = []
        for _ in range(2):
            sock = bound_socket()
            settings = api_settings(root, port_of(sock), tts_engine="fake", on_play_deadline_s=30.0)
            servers.append(stack.enter_context(serve(settings, sock)))
        yield servers[0], servers[1]


def _decode(init: bytes, pieces: list[bytes], kind: str) -> list[Any]:
    """Decoded frames of a track from its init segment and one media segment (as a player
    appends them), in order."""
    with av.open(io.BytesIO(init + b"".join(pieces)), format="mp4") as container:
        stream = container.streams.video[0] if kind == "video" else container.streams.audio[0]
        return list(container.decode(stream))


def test_an_on_play_stream_plays_like_the_eager_mp4(shared: tuple[ApiServer, ApiServer]) -> None:
    api, _ = shared
    folder = _folder_url(render_page(api, "en-US", ("microsite", "video"), on_play=True))
    assert not _segments(api), "nothing is encoded before the video is played"
    with _client() as client:
        master = client.get(folder + "video.m3u8")
        assert master.status_code == 200 and 'TYPE=AUDIO,GROUP-ID="audio"' in master.text
        started = time.perf_counter()
        media = {t: client.get(folder + f"stream/{t}.m3u8") for t in ("video", "audio")}
        assert time.perf_counter() - started < 5, "playlists answer before any segment is rendered"
        plan = _plan(api, folder)
        assert media["video"].text.count("#EXTINF") == len(plan.scenes)
        assert media["video"].text.count("#EXT-X-DISCONTINUITY") == len(plan.scenes) - 1
        video = [client.get(folder + f"stream/v/{k}.m4s") for k in range(len(plan.scenes))]
        audio = [client.get(folder + f"stream/a/{k}.m4s") for k in range(len(plan.scenes))]
        assert all(r.status_code == 200 for r in video + audio), [
            (r.status_code, r.text[:200]) for r in video + audio if r.status_code != 200
        ]
        inits = [client.get(folder + f"stream/{t}/init.mp4").content for t in ("v", "a")]
    eager = _folder_url(render_page(api, "en-US", ("microsite", "video")))
    with _client() as client:
        mp4 = client.get(eager + "video.mp4").content
    with av.open(io.BytesIO(mp4)) as container:
        reference = [f.to_ndarray(format="rgb24") for f in container.decode(container.streams.video[0])]
    for k, (start, scene) in enumerate(zip(plan.starts, plan.scenes, strict=True)):
        frames = _decode(inits[0], [video[k].content], "video")
        assert len(frames) == scene.frames, f"scene {scene.id}: its segment holds its frames"
        middle = scene.frames // 2
        got = frames[middle].to_ndarray(format="rgb24").astype(int)
        want = reference[round(start * FPS) + middle].astype(int)
        assert np.abs(got - want).mean() < 1.0, f"scene {scene.id}: the stream shows the MP4's frame"
    _assert_audio_in_step(inits[1], [r.content for r in audio], plan, mp4)


def _assert_audio_in_step(init: bytes, pieces: list[bytes], plan: StreamPlan, mp4: bytes) -> None:
    """Each audio segment, placed as a player places it (its playlist start plus its decode
    time), is the MP4's own audio at that place: the lag that best matches their samples is
    under a frame (it is 0: both decode the same AAC frames), so the stream adds no A/V drift."""
    with av.open(io.BytesIO(mp4)) as container:
        frames = list(container.decode(container.streams.audio[0]))
        first = float(frames[0].pts * frames[0].time_base)
        whole = np.concatenate([f.to_ndarray()[0] for f in frames])
    lags = []
    for start, piece in zip(plan.starts, pieces, strict=True):
        decoded = _decode(init, [piece], "audio")
        offset = float(decoded[0].pts * decoded[0].time_base)  # its decode time in the segment
        samples = np.concatenate([f.to_ndarray()[0] for f in decoded])[2048:6144]  # past the decoder warm-up
        at = round((start + offset - first) * RATE) + 2048
        window = whole[at - 1600 : at + 1600 + len(samples)]
        errors = [float(np.mean((window[i : i + len(samples)] - samples) ** 2)) for i in range(3200)]
        best = int(np.argmin(errors))
        assert errors[best] < 1e-6, "the segment's samples are the MP4's samples"
        lags.append(abs(best - 1600) / RATE)
    assert max(lags) < 1 / FPS, f"audio segments drift from the video by up to {max(lags) * 1000:.1f} ms"


def test_shared_scenes_are_one_object_and_one_segment_renders_once(
    shared: tuple[ApiServer, ApiServer],
) -> None:
    first, second = shared
    folders = [
        _folder_url(render_page(first, "en-US", ("microsite", "video"), on_play=True, data=data))
        for data in (
            {"first_name": "Orla", "customer_id": "US-2001"},
            {"first_name": "Piet", "customer_id": "US-2002"},
        )
    ]
    plans = [_plan(first, folder) for folder in folders]
    assert plans[0].scenes[0].segment == plans[1].scenes[0].segment, "the intro is one storage object"
    assert plans[0].scenes[1].segment != plans[1].scenes[1].segment, "each greeting is its own"
    asked = {plans[1].scenes[1].segment, plans[1].scenes[2].segment}  # scene 1, and 2 started ahead
    missing = {key for key in asked if key.rsplit("/", 1)[1] not in _segments(first)}
    renders = sum(_metric(api, 'tailor_stream_renders_total{piece="video"}') for api in shared)
    # ten concurrent requests for one personal segment, spread over two API servers
    urls = [folders[1].replace(first.url, api.url) + "stream/v/1.m4s" for api in (first, second) * 5]
    with ThreadPoolExecutor(10) as pool, _client() as client:
        answers = list(pool.map(client.get, urls))
    assert all(a.status_code == 200 for a in answers)
    assert len({a.content for a in answers}) == 1, "everyone got the same segment"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not {k.rsplit("/", 1)[1] for k in asked} <= _segments(first):
        time.sleep(0.1)
    time.sleep(0.5)  # the metrics of renders that just finished
    rendered = sum(_metric(api, 'tailor_stream_renders_total{piece="video"}') for api in shared) - renders
    assert rendered == len(missing) >= 1, "each missing segment was rendered once across both servers"


def test_a_late_personal_segment_is_served_as_its_fallback(make_api: Any) -> None:
    late = make_api(tts_engine="fake", on_play_deadline_s=0.01)  # any real render is late
    folder = _folder_url(render_page(late, "de-DE", ("microsite", "video"), on_play=True))
    plan = _plan(late, folder)
    greeting = plan.scenes[1]
    assert greeting.personal and greeting.fallback
    # the fallback is shared: another recipient's play (here: this process) has cached it
    store = open_store(late.settings.database_url)
    storage = open_storage(late.settings.storage_url, late.settings)
    try:
        key_folder = folder.split("/r/", 1)[1].split("/", 1)[1]
        options = VideoOptions(open_tts("fake"), 60.0)
        render_piece(
            store, storage, load_template("bill-summary", late.settings), key_folder, "fallback:1", options
        )
    finally:
        store.close()
        storage.close()
    before = _metric(late, "tailor_stream_fallbacks_total")
    with _client() as client:
        served = client.get(folder + "stream/v/1.m4s")
    assert served.status_code == 200
    assert _metric(late, "tailor_stream_fallbacks_total") == before + 1, "the miss is counted"
    storage = open_storage(late.settings.storage_url, late.settings)
    try:
        assert served.content == storage.get(greeting.fallback), "the fallback's segment is what played"
        deadline = time.monotonic() + 60
        while not storage.exists(greeting.segment) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert storage.exists(greeting.segment), "the personal segment is still rendered for next time"
    finally:
        storage.close()


def test_no_token_no_stream_and_nothing_rendered(shared: tuple[ApiServer, ApiServer]) -> None:
    api, _ = shared
    folder = _folder_url(render_page(api, "tr-TR", ("microsite", "video"), on_play=True))
    token, rest = folder.split("/r/", 1)[1].split("/", 1)
    template, campaign, recipient = rest.strip("/").split("/")
    before = _segments(api)
    store = open_store(api.settings.database_url)
    try:
        expired = store.links.create(template, campaign, recipient, 1.0, now=_long_ago())
    finally:
        store.close()
    with _client() as client:
        for bad, status in ((socket.gethostname().encode().hex()[:32].ljust(32, "x"), 404), (expired, 410)):
            for name in ("video.m3u8", "stream/video.m3u8", "stream/v/1.m4s", "stream/a/0.m4s"):
                assert client.get(f"{api.url}/r/{bad}/{name}").status_code == status, name
            assert client.get(f"{api.url}/r/{bad}/{rest}stream/v/1.m4s").status_code == status
        assert client.get(folder + "stream.json").status_code == 404, "the plan holds data: never served"
        assert client.get(folder + "stream/v/99.m4s").status_code == 404
    time.sleep(0.5)
    assert _segments(api) == before, "nothing was rendered for them"
    assert token


def _long_ago() -> Any:
    from datetime import UTC, datetime, timedelta

    return datetime.now(UTC) - timedelta(days=3)


def test_erasure_removes_the_recipients_stream_and_keeps_shared_segments(
    shared: tuple[ApiServer, ApiServer],
) -> None:
    api, _ = shared
    folder = _folder_url(render_page(api, "it-IT", ("microsite", "video"), on_play=True))
    plan = _plan(api, folder)
    with _client() as client:
        for k in range(len(plan.scenes)):
            assert client.get(folder + f"stream/v/{k}.m4s").status_code == 200
        assert client.get(folder + "stream/a/0.m4s").status_code == 200
    root = Path(api.settings.storage_url)
    key_folder = folder.split("/r/", 1)[1].split("/", 1)[1]
    assert list((root / key_folder).glob(f"{plan.audio_stem}-*.m4s")), "the audio was rendered"
    answer = api.client().delete("/recipients/IT-3003")
    assert answer.status_code == 200, answer.text
    assert not (root / key_folder).exists(), "the page, plan and audio segments are gone"
    for scene in plan.scenes:
        kept = (root / scene.segment).exists()
        assert kept != scene.personal, f"scene {scene.id}: personal segments go, shared ones stay"
    with _client() as client:
        assert client.get(folder + "stream/v/1.m4s").status_code == 404, "the link went with the recipient"
