"""The poster and thumbnail composed without an encode (`stills.render_stills`), checked against
what ffmpeg takes from the encoded MP4: the same frames, the same look, the same files."""

from __future__ import annotations

import io
import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from renderer.outputs.render import render_recipient
from renderer.outputs.template import Template
from renderer.outputs.video import assemble, ffmpeg, stills
from renderer.outputs.video.ffmpeg import EncodeSettings
from renderer.outputs.video.render import VideoOptions, asset_opener, synthesize_narrations
from renderer.outputs.video.scenes import ResolvedScene, TimedScene, resolve_scenes, time_scenes
from renderer.outputs.video.segments import compose_frames
from renderer.outputs.video.spec import Background
from renderer.outputs.video.tts import EspeakTTS
from renderer.storage import LocalStorage
from renderer.template.resolve import resolve

pytestmark = [pytest.mark.video, pytest.mark.slow]
SMALL = EncodeSettings(320, 180, 30)
BITS = 10  # a coded frame shows its number as 10 black or white stripes, 32 px each


def _coded(index: int, settings: EncodeSettings = SMALL) -> bytes:
    frame = np.zeros((settings.height, settings.width, 3), np.uint8)
    for bit in range(BITS):
        if index >> bit & 1:
            frame[:, bit * 32 : (bit + 1) * 32] = 255
    return frame.tobytes()


def _number(image: Image.Image) -> int:
    """The frame number a coded frame (or its picture at any width) shows."""
    grey = np.asarray(image.convert("L"), dtype=np.float64)
    scale = grey.shape[1] / SMALL.width
    return sum(1 << bit for bit in range(BITS) if grey[:, int((bit * 32 + 16) * scale)].mean() > 128)


def _thumbnail_numbers(data: bytes) -> list[int]:
    """The thumbnail's frame numbers, one per 100 ms shown (a merged frame counts its length)."""
    numbers = []
    with Image.open(io.BytesIO(data)) as image:
        assert image.info["loop"] == 0 and image.width == stills.THUMBNAIL_WIDTH
        for frame in range(image.n_frames):
            image.seek(frame)
            image.load()
            shown, rest = divmod(image.info["duration"], 100)
            assert rest == 0, "every frame lasts a whole number of 100 ms steps"
            numbers += [_number(image)] * shown
    return numbers


def _ffmpeg_stills(video: Path, at: float, start: float, folder: Path) -> tuple[bytes, bytes]:
    """The poster and thumbnail as ffmpeg took them from an encoded MP4 before render_stills."""
    poster, thumb = folder / "poster.jpg", folder / "thumbnail.webp"
    args = [
        "-hide_banner", "-loglevel", "error", "-nostdin", "-y",
        "-ss", f"{start:.3f}", "-t", "3.000", "-i", str(video),
        "-ss", f"{at:.3f}", "-t", "0.5", "-i", str(video),
        "-map", "0:v:0", "-vf", "fps=10,scale=480:-2:flags=lanczos", "-an",
        "-c:v", "libwebp", "-loop", "0", "-q:v", "60", "-preset", "picture", "-compression_level", "2",
        str(thumb), "-map", "1:v:0", "-frames:v", "1", "-q:v", "3", str(poster),
    ]  # fmt: skip
    ffmpeg.run(args, timeout_s=60, what="reference stills")
    return poster.read_bytes(), thumb.read_bytes()


def _coded_video(folder: Path, settings: EncodeSettings, lengths: list[int]) -> Path:
    """An MP4 made like a render (one encoded segment per scene, concatenated) of coded frames."""
    paths, done = [], 0
    for number, length in enumerate(lengths):
        path = folder / f"scene-{number:03d}.mp4"
        frames = [_coded(done + index, settings) for index in range(length)]
        ffmpeg.encode_frames(ffmpeg.segment_args(settings, path, length), frames, timeout_s=60, what="test")
        paths.append(path)
        done += length
    return assemble.assemble(paths, None, folder)


@pytest.mark.parametrize("fps", [30, 25])
def test_frames_are_the_ones_ffmpeg_takes(fps: int, tmp_path: Path) -> None:
    settings = EncodeSettings(SMALL.width, SMALL.height, fps)
    # scenes of whole milliseconds: the concat demuxer counts a plain MP4's length in whole ms,
    # so a scene after one that is not would start up to 2/3 ms off i / fps
    lengths = [fps + 9, fps + 12, 2 * fps - 3]
    video = _coded_video(tmp_path, settings, lengths)
    frames = sum(lengths)
    total = frames / fps
    times = [0.0, 0.01, 1 / fps, 2 / fps + 0.0004, 0.05, 1.49, 1.517, 2.2, 2.3456, 99.0]
    for at in times:
        poster_at, start = stills.poster_time(total, at), stills.thumbnail_start(total, at)
        poster, thumb = _ffmpeg_stills(video, poster_at, start, tmp_path)
        with Image.open(io.BytesIO(poster)) as image:
            assert stills.poster_frame(poster_at, fps, frames) == _number(image), at
        expected = stills.thumbnail_frames(start, fps, frames)
        assert _thumbnail_numbers(thumb) == expected, at
        assert 29 <= len(expected) <= 30, "3 s at 10 fps"


def test_frame_choice_at_the_edges() -> None:
    assert stills.poster_frame(stills.poster_time(5.0, 99.0), 30, 150) == 149
    assert stills.poster_frame(stills.poster_time(5.0, 99.0), 15, 75) == 74, "never past the last frame"
    assert stills.thumbnail_start(5.0, 99.0) == 2.0 and stills.thumbnail_start(2.0, 1.0) == 0.0
    assert stills.thumbnail_frames(0.0, 30, 60) == list(range(1, 60, 3)), "a 2 s video: 20 frames"
    assert stills.thumbnail_frames(0.0, 5, 50) == [n // 2 for n in range(30)], "5 fps: each frame twice"
    assert stills.thumbnail_size(1280, 720) == (480, 270) and stills.thumbnail_size(1080, 1920) == (480, 854)


def test_the_poster_uses_ffmpegs_q3_tables(tmp_path: Path) -> None:
    video = _coded_video(tmp_path, SMALL, [30])
    poster, _ = _ffmpeg_stills(video, 0.5, 0.0, tmp_path)
    mine = stills.poster_jpeg(Image.frombytes("RGB", (SMALL.width, SMALL.height), _coded(5)))
    with Image.open(io.BytesIO(poster)) as theirs, Image.open(io.BytesIO(mine)) as ours:
        assert list(ours.quantization[0]) == list(theirs.quantization[0])
        assert list(ours.quantization[1]) == list(theirs.quantization[0]), "one table for every channel"


def _moving_scene(clip: str, frames: int, trim: tuple[float, float] | None = None) -> TimedScene:
    background = Background(video=clip, trim=trim)
    scene = ResolvedScene("moving", None, background, "d", (), None, None, "none", "en_US")
    return TimedScene(scene, 0.0, frames, SMALL.fps)


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 5 s coded clip: its frame n shows the number n."""
    path = tmp_path_factory.mktemp("clip") / "clip.mp4"
    frames = [_coded(index) for index in range(150)]
    ffmpeg.encode_frames(ffmpeg.segment_args(SMALL, path, 150), frames, timeout_s=60, what="test")
    return path


def test_a_moving_background_shows_the_clip_frame_of_that_time(clip: Path) -> None:
    timed = _moving_scene("clip.mp4", 60, trim=(0.5, 2.0))  # scene frame i is clip frame 15 + i
    poster, thumb = stills.render_stills([timed], SMALL, lambda ref: clip, 1.0, 0.0, timeout_s=60)
    with Image.open(io.BytesIO(poster)) as image:
        assert image.format == "JPEG" and image.size == (320, 180)
        assert _number(image) == 15 + 30
    assert _thumbnail_numbers(thumb) == [15 + index for index in range(1, 60, 3)]


def test_times_past_the_end_take_the_last_frame_and_the_last_3_s(clip: Path) -> None:
    timed = _moving_scene("clip.mp4", 120)
    poster, thumb = stills.render_stills([timed], SMALL, lambda ref: clip, 99.0, 99.0, timeout_s=60)
    with Image.open(io.BytesIO(poster)) as image:
        assert _number(image) == 119
    assert _thumbnail_numbers(thumb) == list(range(31, 120, 3)), "30 frames from 1.0 s"


def test_chosen_frames_are_the_frames_of_the_whole_run(clip: Path, bill: Template, tmp_path: Path) -> None:
    moving = _moving_scene("clip.mp4", 40, trim=(1.0, 2.0))
    every = list(compose_frames(moving, SMALL, lambda ref: clip))
    chosen = list(compose_frames(moving, SMALL, lambda ref: clip, indexes=[3, 4, 39]))
    assert chosen == [every[3], every[4], every[39]]
    timed, _ = _bill_timeline(bill, LocalStorage(tmp_path))
    scene = timed[1]
    settings = EncodeSettings(1280, 720, 30)
    every = list(compose_frames(scene, settings, asset_opener(bill)))
    wanted = [0, 7, scene.frames // 2, scene.frames - 1]
    assert list(compose_frames(scene, settings, asset_opener(bill), indexes=wanted)) == [
        every[index] for index in wanted
    ]
    with pytest.raises(ValueError, match="scene"):
        list(compose_frames(scene, settings, asset_opener(bill), indexes=[5, 5]))


def _bill_timeline(bill: Template, storage: LocalStorage) -> tuple[list[TimedScene], dict[str, Any]]:
    recipient = bill.samples["en-US"]
    spec = resolve(bill, bill.validator.validate(recipient))
    scenes = resolve_scenes(bill, spec, lambda ref: "d")
    narrations = synthesize_narrations(scenes, asset_opener(bill), VideoOptions(EspeakTTS()), storage)
    return time_scenes(scenes, {k: n.seconds for k, n in narrations.items()}, 30), recipient


def _ssim(a: np.ndarray, b: np.ndarray) -> float:
    """Mean SSIM of two greyscale pictures over 8x8 blocks (the usual constants)."""
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    h, w = a.shape[0] // 8 * 8, a.shape[1] // 8 * 8

    def blocks(x: np.ndarray) -> np.ndarray:
        return x[:h, :w].astype(np.float64).reshape(h // 8, 8, w // 8, 8).transpose(0, 2, 1, 3)

    x, y = blocks(a), blocks(b)
    mx, my = x.mean(axis=(2, 3)), y.mean(axis=(2, 3))
    vx, vy = x.var(axis=(2, 3)), y.var(axis=(2, 3))
    cov = ((x - mx[..., None, None]) * (y - my[..., None, None])).mean(axis=(2, 3))
    ssim = ((2 * mx * my + c1) * (2 * cov + c2)) / ((mx**2 + my**2 + c1) * (vx + vy + c2))
    return float(ssim.mean())


def _grey(data: bytes) -> np.ndarray:
    with Image.open(io.BytesIO(data)) as image:
        return np.asarray(image.convert("L"))


def _mp4_frame(video: Path, seconds: float) -> np.ndarray:
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
            "gray",
            "-",
        ],
        capture_output=True,
        check=True,
        timeout=60,
    ).stdout
    return np.frombuffer(raw, dtype=np.uint8).reshape(720, 1280)


def _thumbnail_greys(data: bytes) -> list[np.ndarray]:
    pictures = []
    with Image.open(io.BytesIO(data)) as image:
        for frame in range(image.n_frames):
            image.seek(frame)
            image.load()
            pictures += [np.asarray(image.convert("L"))] * (image.info["duration"] // 100)
    return pictures


def test_sample_stills_look_like_the_ones_taken_from_its_mp4(bill: Template, tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path / "store")
    timed, recipient = _bill_timeline(bill, storage)
    keys = render_recipient(bill, bill.validator.validate(recipient), ["video"], storage, "st").to_record()
    folder = storage.path(keys["video"]).parent
    video = bill.manifest.outputs.video
    assert video is not None
    total = sum(t.frames for t in timed) / 30
    settings = EncodeSettings(1280, 720, 30)
    poster, thumb = stills.render_stills(
        timed, settings, asset_opener(bill), video.poster_at, video.thumbnail_at, timeout_s=120
    )
    # the render kept them from its segment pass (every scene missed the cache): the same bytes
    assert (folder / "poster.jpg").read_bytes() == poster
    assert (folder / "thumbnail.webp").read_bytes() == thumb
    at = stills.poster_time(total, video.poster_at)
    assert _ssim(_grey(poster), _mp4_frame(folder / "video.mp4", at)) >= 0.97
    assert _ssim(_grey(poster), _grey((folder / "poster.jpg").read_bytes())) >= 0.97
    ours, theirs = _thumbnail_greys(thumb), _thumbnail_greys((folder / "thumbnail.webp").read_bytes())
    assert len(ours) == len(theirs) == 30 and ours[0].shape == (270, 480)
    assert min(_ssim(a, b) for a, b in zip(ours, theirs, strict=True)) >= 0.9
