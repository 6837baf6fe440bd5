"""Rendered videos, checked like a person would: probe, frames at set times, sound, caching, faults."""

from __future__ import annotations

import re
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from renderer.jobs.work import render_row
from renderer.outputs.kind import RenderOptions
from renderer.outputs.load import load_template
from renderer.outputs.render import render_recipient
from renderer.outputs.template import Template
from renderer.outputs.video import ffmpeg, mixdown
from renderer.outputs.video.audio import mix_graph
from renderer.outputs.video.render import VideoOptions, asset_opener, encode_settings, read_stream_record
from renderer.outputs.video.scenes import TimedScene, resolve_scenes, time_scenes
from renderer.outputs.video.segments import compose_frames
from renderer.outputs.video.tts import EspeakTTS, FakeTTS
from renderer.settings import PROJECT_ROOT, Settings
from renderer.storage import LocalStorage
from renderer.template.resolve import resolve
from tests.conftest import CHROMIUM, CHROMIUM_ARGS

pytestmark = [pytest.mark.video, pytest.mark.slow]
FPS = 30


def _frame(video: Path, seconds: float) -> np.ndarray:
    raw = subprocess.run(
        [
            "ffmpeg",
            "-v",
            "error",
            "-ss",
            f"{seconds:.3f}",
            "-i",
            str(video),
            "-frames:v",
            "1",
            "-f",
            "rawvideo",
            "-pix_fmt",
            "rgb24",
            "-",
        ],
        capture_output=True,
        check=True,
        timeout=60,
    ).stdout
    return np.frombuffer(raw, dtype=np.uint8).reshape(720, 1280, 3)


class RecordingStorage(LocalStorage):
    """Local storage that records every `put_if_absent` key: the renderer stores each segment it
    encodes that way, once, under ``cache/segments/``, so those keys count the encodes."""

    def __init__(self, root: Path) -> None:
        super().__init__(root)
        self.stored: list[str] = []

    def put_if_absent(self, key: str, data: bytes, content_type: str = "application/octet-stream") -> bool:
        self.stored.append(key)
        return super().put_if_absent(key, data, content_type)

    def encodes(self) -> int:
        """How many segments were stored so far (one per encode)."""
        return sum(key.startswith("cache/segments/") and "/init-" not in key for key in self.stored)


def _timeline(template: Template, recipient: dict[str, Any], storage: LocalStorage) -> list[TimedScene]:
    """The same scene timing the renderer used (narration lengths come from the cached speech)."""
    from renderer.outputs.video.render import synthesize_narrations

    spec = resolve(template, template.validator.validate(recipient))
    opener = asset_opener(template)
    scenes = resolve_scenes(template, spec, lambda ref: "d")
    narrations = synthesize_narrations(scenes, opener, VideoOptions(EspeakTTS()), storage)
    return time_scenes(scenes, {k: n.seconds for k, n in narrations.items()}, FPS)


@pytest.fixture(scope="module")
def rendered(bill: Template, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Two en-US recipients on the same plan rendered into one storage; segment encodes counted."""
    storage = RecordingStorage(tmp_path_factory.mktemp("video"))
    first = bill.samples["en-US"]
    history = [{**row, "kwh": str(round(float(row["kwh"]) * 1.3))} for row in first["usage_history"]]
    second = {
        **first,
        "customer_id": "US-2002",
        "first_name": "Bartholomew",
        "previous_amount": "90.00",
        "line_items": [{"code": "energy", "amount": "250.10"}, {"code": "taxes", "amount": "20.00"}],
        "usage_history": history,
    }
    counts = []
    folders = {}
    for recipient in (first, second):
        before = storage.encodes()
        keys = render_recipient(
            bill, bill.validator.validate(recipient), ["microsite", "video"], storage, "vid"
        ).to_record()
        counts.append(storage.encodes() - before)
        folders[recipient["customer_id"]] = storage.path(keys["video"]).parent
    return {"storage": storage, "folders": folders, "counts": counts, "recipients": (first, second)}


def test_video_stream_audio_and_companions(rendered: dict[str, Any], bill: Template) -> None:
    folder = rendered["folders"]["US-1001"]
    info = ffmpeg.probe(folder / "video.mp4")
    video = next(s for s in info["streams"] if s["codec_type"] == "video")
    audio = next(s for s in info["streams"] if s["codec_type"] == "audio")
    assert (video["codec_name"], video["width"], video["height"], video["pix_fmt"]) == (
        "h264",
        1280,
        720,
        "yuv420p",
    )
    assert video["r_frame_rate"] == video["avg_frame_rate"] == "30/1" and audio["codec_name"] == "aac"
    timed = _timeline(bill, rendered["recipients"][0], rendered["storage"])
    frames = sum(t.frames for t in timed)
    assert int(video["nb_frames"]) == frames
    assert float(info["format"]["duration"]) == pytest.approx(frames / FPS, abs=0.1)
    assert 20 <= frames / FPS <= 40, "the sample video is about 30 s"
    assert float(audio["duration"]) == pytest.approx(frames / FPS, abs=0.15), "audio and video end together"
    master = (folder / "video.m3u8").read_text(encoding="utf-8")
    assert 'TYPE=AUDIO,GROUP-ID="audio"' in master and 'AUDIO="audio"' in master, "audio is its own rendition"
    plan, data = read_stream_record((folder / "stream.json").read_bytes())
    assert data is None, "an eager render stores no data for later"
    assert [scene.frames for scene in plan.scenes] == [t.frames for t in timed], "one segment per scene"
    assert [scene.personal for scene in plan.scenes] == [False, True, True, True, False, False]
    assert len(list(folder.glob(f"{plan.audio_stem}-*.m4s"))) == len(timed), "one audio segment per scene"
    assert (folder / "poster.jpg").read_bytes()[:3] == b"\xff\xd8\xff"
    with Image.open(folder / "thumbnail.webp") as thumb:
        shown = 0  # libwebp stores a run of equal frames as one longer frame
        for index in range(getattr(thumb, "n_frames", 1)):
            thumb.seek(index)
            thumb.load()
            shown += thumb.info["duration"]
        assert thumb.width == 480 and getattr(thumb, "n_frames", 1) >= 5 and shown == 3000, "3 s animated"
    vtt = (folder / "captions.vtt").read_text(encoding="utf-8")
    assert vtt.startswith("WEBVTT") and "Hi Emily!" in vtt and "$137.88" in vtt
    assert "Hi Emily!" in (folder / "captions.srt").read_text(encoding="utf-8")


def test_second_recipient_reencodes_only_personal_scenes(rendered: dict[str, Any]) -> None:
    first, second = rendered["counts"]
    assert first == 6, "every scene is new for the first recipient"
    assert second == 3, "intro, plan tips and outro come from the cache; greeting, amount, usage are personal"


def test_frames_show_each_recipients_text_where_expected(
    rendered: dict[str, Any], bill: Template, artifacts: Path
) -> None:
    settings = encode_settings(bill, VideoOptions(FakeTTS()))  # frames only: no speech is made
    opener = asset_opener(bill)
    crops = []
    for recipient in rendered["recipients"]:
        timed = _timeline(bill, recipient, rendered["storage"])
        amount = next(t for t in timed if t.scene.id == "amount")
        index = amount.frames - 5  # well after the enter animations
        decoded = _frame(
            rendered["folders"][recipient["customer_id"]] / "video.mp4", amount.start + index / FPS
        )
        reference = np.frombuffer(
            list(compose_frames(amount, settings, opener))[index], dtype=np.uint8
        ).reshape(720, 1280, 3)
        box = amount.scene.layers[1].spec.box
        region = (slice(box.y, box.y + box.h), slice(box.x, box.x + box.w))
        Image.fromarray(decoded).save(artifacts / f"video-amount-{recipient['customer_id']}.png")
        assert np.abs(decoded[region].astype(int) - reference[region].astype(int)).mean() < 4, (
            "matches the reference render"
        )
        assert (reference[region] != reference[0, 0]).any(), "the box holds drawn text"
        crops.append(decoded[region])
    assert np.abs(crops[0].astype(int) - crops[1].astype(int)).mean() > 5, "two recipients, two amounts"


def test_a_very_long_name_stays_inside_its_box(bill: Template, tmp_path: Path) -> None:
    recipient = {**bill.samples["en-US"], "first_name": "Maximilian-Alexander Wolfeschlegelsteinhausenberger"}
    spec = resolve(bill, bill.validator.validate(recipient))
    greeting = next(s for s in resolve_scenes(bill, spec, lambda ref: "d") if s.id == "greeting")
    [timed] = time_scenes([greeting], {}, FPS)
    frame = np.frombuffer(
        list(compose_frames(timed, encode_settings(bill, VideoOptions(FakeTTS())), asset_opener(bill)))[-1],
        dtype=np.uint8,
    ).reshape(720, 1280, 3)
    shape, text = greeting.layers[0].spec.box, greeting.layers[1].spec.box
    inset = 24  # the panel's rounded corners
    panel = frame[
        shape.y + inset : shape.y + shape.h - inset, shape.x + inset : shape.x + shape.w - inset
    ].copy()
    top, left = text.y - shape.y - inset, text.x - shape.x - inset
    inner = (slice(top, top + text.h), slice(left, left + text.w))
    assert (panel[inner] != panel[0, 0]).any(), "the name is drawn"
    panel[inner] = panel[0, 0]
    assert (panel == panel[0, 0]).all(), "nothing outside the text box"


def _rms(samples: np.ndarray, rate: int, start: float, seconds: float) -> float:
    chunk = samples[int(start * rate) : int((start + seconds) * rate)].astype(float)
    return float(np.sqrt(np.mean(chunk**2))) if len(chunk) else 0.0


def _decode(path: Path, rate: int) -> np.ndarray:
    raw = subprocess.run(
        ["ffmpeg", "-v", "error", "-i", str(path), "-f", "s16le", "-ac", "1", "-ar", str(rate), "-"],
        capture_output=True,
        check=True,
        timeout=60,
    ).stdout
    return np.frombuffer(raw, dtype=np.int16)


def test_narration_starts_with_its_scene(rendered: dict[str, Any], bill: Template) -> None:
    """In the rendered video, speech energy rises at the amount scene's first frame (±50 ms)."""
    timed = _timeline(bill, rendered["recipients"][0], rendered["storage"])
    samples = _decode(rendered["folders"]["US-1001"] / "video.mp4", 24_000)
    amount = next(t for t in timed if t.scene.id == "amount")
    quiet = _rms(samples, 24_000, amount.start - 0.45, 0.4)  # music alone, the greeting has ended
    window = 0.01
    onset = next(
        amount.start - 0.3 + i * window
        for i in range(100)
        if _rms(samples, 24_000, amount.start - 0.3 + i * window, window) > 3 * quiet + 300
    )
    assert onset == pytest.approx(amount.start, abs=0.05)


def test_the_mix_is_normalized_to_about_minus_16_lufs(rendered: dict[str, Any]) -> None:
    """Measured independently of the renderer's own report: EBU R128 over the finished MP4."""
    video = rendered["folders"]["US-1001"] / "video.mp4"
    measure = ["-map", "0:a", "-af", "ebur128=peak=true:framelog=verbose", "-f", "null", "-"]
    command = ["ffmpeg", "-hide_banner", "-nostats", "-i", str(video), *measure]
    report = subprocess.run(command, capture_output=True, text=True, check=True, timeout=60).stderr
    summary = report[report.rindex("Summary:") :]
    level = float(re.search(r"I:\s+(-?[\d.]+) LUFS", summary).group(1))  # type: ignore[union-attr]
    peak = float(re.search(r"Peak:\s+(-?[\d.]+) dBFS", summary).group(1))  # type: ignore[union-attr]
    assert level == pytest.approx(-16.0, abs=1.0)
    assert peak <= -1.0, "the true-peak limiter keeps headroom"


def test_music_ducks_under_narration(bill: Template, tmp_path: Path) -> None:
    """A 1.5 kHz tone stands in for speech so the music's own band can be measured under it."""
    rate = 24_000
    voice = tmp_path / "voice.wav"
    tone = FakeTTS(3.0, sample_rate=rate, tone_hz=1500, level=0.125)  # ffmpeg's sine source level
    voice.write_bytes(tone.synthesize("speech", "en-US"))  # one word: 3 s
    scene = next(
        s
        for s in resolve_scenes(
            bill, resolve(bill, bill.validator.validate(bill.samples["en-US"])), lambda r: "d"
        )
        if s.id == "amount"
    )
    timed = time_scenes([scene], {}, FPS)
    timed = [TimedScene(scene, 4.0, 8 * FPS, FPS)]  # speech from 4 s to 7 s on an 12 s timeline
    music = asset_opener(bill)("@assets/music/calm-bed.ogg")

    def mix(voices: dict[str, Path]) -> np.ndarray:
        return mixdown.mix(mix_graph(timed, voices, music, 12.0), 12.0).samples

    def music_band(samples: np.ndarray, start: float) -> float:
        chunk = samples[int(start * rate) : int((start + 1.0) * rate)].astype(float)
        spectrum = np.abs(np.fft.rfft(chunk))
        freqs = np.fft.rfftfreq(len(chunk), 1 / rate)
        return float(spectrum[(freqs > 180) & (freqs < 340)].sum())

    ducked, plain = mix({"amount": voice}), mix({})
    before = music_band(ducked, 2.0) / music_band(plain, 2.0)
    during = music_band(ducked, 5.0) / music_band(plain, 5.0)
    after = music_band(ducked, 9.5) / music_band(plain, 9.5)
    assert before == pytest.approx(1.0, abs=0.1), "no ducking before speech"
    assert during < 0.5, f"music keeps {during:.0%} of its level under speech"
    assert after == pytest.approx(1.0, abs=0.15), "the music comes back after speech"


def test_huge_image_fails_its_row_quickly(tmp_path: Path, settings: Settings) -> None:
    from renderer.outputs.images import limit_image_size

    root = tmp_path / "bill-summary"
    shutil.copytree(PROJECT_ROOT / "templates" / "bill-summary", root)
    Image.new("1", (20_000, 20_000)).save(root / "huge.png")
    text = (
        (root / "template.yaml")
        .read_text(encoding="utf-8")
        .replace(
            'src: "@assets/brand/logo-white.png", box: {x: 492, y: 250',
            'src: "huge.png", box: {x: 492, y: 250',
            1,
        )
    )
    (root / "template.yaml").write_text(text, encoding="utf-8")
    template = load_template(root, settings)
    limit_image_size(settings.max_image_pixels)
    started = time.perf_counter()
    result = render_row(
        template,
        2,
        template.validator.validate(template.samples["en-US"]),
        ["video"],
        LocalStorage(tmp_path / "o"),
        "c",
        RenderOptions(),
    )
    assert time.perf_counter() - started < 10
    assert result.status == "failed"
    assert result.issues[0].reason == (  # the same rule and words as the PDF (test_image_rule.py)
        "video output: image huge.png of template 'bill-summary' is over the image pixel limit of "
        "40,000,000 pixels (TAILOR_MAX_IMAGE_PIXELS)"
    )


def test_playlists_and_outside_media_are_refused(bill: Template, tmp_path: Path) -> None:
    from renderer.errors import AssetError

    opener = asset_opener(bill)
    with pytest.raises(AssetError, match="points outside"):
        opener("../../../etc/passwd")
    playlist = bill.root / "playlist-test.mp4"
    playlist.write_text("#EXTM3U\nhttp://127.0.0.1/x.ts\n", encoding="utf-8")
    try:
        with pytest.raises(AssetError, match="playlist"):
            opener("playlist-test.mp4")
    finally:
        playlist.unlink()


def _ffmpeg_children(marker: str) -> list[str]:
    out = subprocess.run(["pgrep", "-af", marker], capture_output=True, text=True).stdout
    return [line for line in out.splitlines() if "pgrep" not in line]


def test_ffmpeg_timeouts_leave_no_processes(tmp_path: Path) -> None:
    from renderer.errors import RenderTimeout

    marker = "testsrc=size=322x242"
    with pytest.raises(RenderTimeout, match="took longer than"):
        ffmpeg.run(
            ["-v", "error", "-re", "-f", "lavfi", "-i", f"{marker}:rate=30", "-t", "60", "-f", "null", "-"],
            timeout_s=0.5,
            what="slow test",
        )
    time.sleep(0.2)
    assert _ffmpeg_children(marker) == []

    def endless() -> Any:
        frame = bytes(16 * 16 * 3)
        while True:
            yield frame

    args = ffmpeg.segment_args(ffmpeg.EncodeSettings(16, 16, 30), tmp_path / "x.mp4", 10**9)
    started = time.perf_counter()
    with pytest.raises(RenderTimeout):
        ffmpeg.encode_frames(args, endless(), timeout_s=1.0, what="endless encode")
    assert time.perf_counter() - started < 5
    time.sleep(0.2)
    assert _ffmpeg_children(str(tmp_path / "x.mp4")) == []


@pytest.mark.browser
def test_the_microsite_plays_the_video_with_captions(rendered: dict[str, Any], artifacts: Path) -> None:
    """Served over HTTP on loopback (browsers refuse caption files from file:// pages)."""
    import functools
    import threading
    from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

    from playwright.sync_api import sync_playwright

    storage: LocalStorage = rendered["storage"]

    class Quiet(SimpleHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(storage.root)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    errors: list[str] = []
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.on(
                "console", lambda message: errors.append(message.text) if message.type == "error" else None
            )
            page.on("pageerror", lambda error: errors.append(str(error)))
            page.goto(f"http://127.0.0.1:{server.server_port}/bill-summary/vid/US-1001/index.html")
            state: dict[str, Any] = {}
            for _ in range(100):
                state = page.evaluate(
                    """() => { const v = document.querySelector('video'); const c = v.textTracks[0].cues;
                               return {ready: v.readyState, duration: v.duration, width: v.videoWidth,
                                       cues: c ? Array.from(c).map(q => q.text) : []}; }"""
                )
                if state["ready"] >= 1 and state["cues"]:
                    break
                time.sleep(0.1)
            page.locator("video").scroll_into_view_if_needed()
            page.screenshot(path=str(artifacts / "microsite-with-video.png"))
            browser.close()
    finally:
        server.shutdown()
        server.server_close()
    info = ffmpeg.probe(rendered["folders"]["US-1001"] / "video.mp4")
    assert state["width"] == 1280
    assert state["duration"] == pytest.approx(float(info["format"]["duration"]), abs=0.1)
    assert "Hi Emily!" in state["cues"]
    # a plain file server has no stream (the API plans it): the player falls back to the MP4
    assert [e for e in errors if "404" not in e] == []


def test_chapters_track_starts_each_chapter_on_its_scene(rendered: dict[str, Any], bill: Template) -> None:
    """``chapters.vtt`` holds the template's chapters the recipient's video has, in English, each
    cue from its scene's first frame to the next chapter."""
    first = rendered["recipients"][0]
    folder = rendered["folders"][first["customer_id"]]
    blocks = _vtt_blocks((folder / "chapters.vtt").read_text(encoding="utf-8"))
    timeline = _timeline(bill, first, rendered["storage"])
    starts = {scene.scene.id: scene.start for scene in timeline}
    english = bill.manifest.text["en"]
    expected = [
        (c.scene, _vtt_stamp(starts[c.scene]), english[c.title])
        for c in bill.manifest.interactions.chapters
        if c.scene in starts
    ]
    assert [(cue_id, times.split(" --> ")[0], text) for cue_id, times, text in blocks] == expected
    assert len(expected) == 5  # one tips scene of three plays for this plan
    scenes = _vtt_blocks((folder / "scenes.vtt").read_text(encoding="utf-8"))
    assert [(cue_id, times.split(" --> ")[0], text) for cue_id, times, text in scenes] == [
        (scene.scene.id, _vtt_stamp(scene.start), scene.scene.id) for scene in timeline
    ]


def _vtt_blocks(track: str) -> list[tuple[str, str, str]]:
    """(identifier, timing line, text) of each cue of a WebVTT file whose cues all have an id."""
    assert track.startswith("WEBVTT\n\n")
    blocks = [block.splitlines() for block in track.split("\n\n")[1:] if block.strip()]
    return [(lines[0], lines[1], "\n".join(lines[2:])) for lines in blocks]


def _vtt_stamp(seconds: float) -> str:
    millis = round(seconds * 1000)
    return (
        f"{millis // 3_600_000:02d}:{millis // 60_000 % 60:02d}:{millis // 1000 % 60:02d}.{millis % 1000:03d}"
    )
