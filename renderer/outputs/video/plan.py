"""Plan a recipient's video without encoding it: scenes resolved, narration spoken (cached),
scenes timed, every segment's cache key known, and the stream's playlists' `StreamPlan`.

Both ways a video is made start here: an eager render encodes every missing segment next; an
on-play stream answers the player from the plan and encodes a segment when it is first asked.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Literal

from renderer.errors import AssetError
from renderer.outputs.template import Template
from renderer.outputs.video import audio, segments
from renderer.outputs.video.audio import Narration
from renderer.outputs.video.ffmpeg import EncodeSettings
from renderer.outputs.video.layers import AssetOpener
from renderer.outputs.video.scenes import (
    ResolvedScene,
    TimedScene,
    fallback_scenes,
    resolve_fallback,
    resolve_scenes,
    time_scenes,
)
from renderer.outputs.video.streaming import (
    StreamPlan,
    StreamScene,
    audio_init_key,
    audio_stem,
    h264_codec,
    video_init_key,
)
from renderer.outputs.video.tts import TTS
from renderer.storage.base import Storage
from renderer.template.paths import resolve_asset
from renderer.template.resolve import ResolvedSpec

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".webp"}
MEDIA_SUFFIXES = {".mp4", ".mov", ".webm", ".mkv", ".wav", ".ogg", ".mp3", ".m4a", ".flac"}
PLAYLIST_MARKERS = (b"#EXTM3U", b"ffconcat", b"[playlist]")


@dataclass(frozen=True)
class VideoOptions:
    """How to render: encoder settings scale, timeouts, TTS engine."""

    tts: TTS
    timeout_s: float = 300.0
    preset: str = "veryfast"
    draft: bool = False  # half size and the fastest preset, for previews
    encoder_threads: int = 0  # 0: x264 decides; campaign workers pass 1


@lru_cache(maxsize=1024)
def _digest(path: Path, size: int, mtime: float) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def asset_opener(template: Template) -> AssetOpener:
    """Open template/shared assets for video: images and media only, never a playlist."""

    def open_asset(ref: str) -> Path:
        path = resolve_asset(ref, template.root, template.assets_dir)
        suffix = path.suffix.lower()
        if suffix not in IMAGE_SUFFIXES | MEDIA_SUFFIXES:
            raise AssetError(f"asset {ref!r} is not an image, audio or video file")
        if suffix in MEDIA_SUFFIXES:
            with path.open("rb") as handle:
                head = handle.read(64).lstrip()
            if head.startswith(PLAYLIST_MARKERS):
                raise AssetError(f"asset {ref!r} is a playlist, which is refused")
        return path

    return open_asset


def encode_settings(template: Template, options: VideoOptions) -> EncodeSettings:
    """The encoder settings every segment of this template shares (half size in draft mode,
    the layers laid out at the template's size and drawn scaled down)."""
    video = template.manifest.outputs.video
    assert video is not None
    width, height = video.size
    if options.draft:
        draft = (width // 4 * 2, height // 4 * 2)
        return EncodeSettings(*draft, video.fps, preset="ultrafast", crf=28, design=(width, height))
    return EncodeSettings(width, height, video.fps, preset=options.preset, threads=options.encoder_threads)


def synthesize_narrations(
    scenes: list[ResolvedScene],
    open_asset: AssetOpener,
    options: VideoOptions,
    storage: Storage,
) -> dict[str, Narration]:
    """Each narrated scene's speech: its recorded clip when one exists for the data, else TTS.
    Synthesis runs concurrently (each is an espeak-ng process or a Polly request)."""
    jobs = []
    for scene in scenes:
        if not scene.narration_text:
            continue
        clip = None
        if scene.narration_clip:
            try:
                clip = open_asset(scene.narration_clip)
            except AssetError:
                clip = None  # no recording for this value: fall back to TTS
        jobs.append((scene.id, scene.narration_text, scene.locale, clip))

    def speak(job: tuple[str, str, str, Path | None]) -> Narration:
        scene_id, text, locale, clip = job
        return audio.narrate(scene_id, text, locale, options.tts, storage, clip)

    if len(jobs) <= 1:
        spoken = [speak(job) for job in jobs]
    else:
        with ThreadPoolExecutor(min(len(jobs), 4), thread_name_prefix="tailor-tts") as pool:
            spoken = list(pool.map(speak, jobs))
    return {narration.scene_id: narration for narration in spoken}


@dataclass(frozen=True)
class PlannedVideo:
    """One recipient's video before any encoding: its timed scenes, their segment keys, the
    narrations, the encoder settings, the music bed and the stream plan."""

    timed: list[TimedScene]
    keys: list[str]
    narrations: Mapping[str, Narration]
    settings: EncodeSettings
    open_asset: AssetOpener
    music: Path | None
    plan: StreamPlan
    fallbacks: Mapping[int, TimedScene]  # scene index -> its fallback, timed as the scene

    @property
    def seconds(self) -> float:
        """The video's length (whole frames)."""
        return sum(t.frames for t in self.timed) / self.settings.fps


def _digester(open_asset: AssetOpener) -> Callable[[str], str]:
    def digest(ref: str) -> str:
        path = open_asset(ref)
        stat = path.stat()
        return _digest(path, stat.st_size, stat.st_mtime)

    return digest


def _fallbacks(
    template: Template,
    spec: ResolvedSpec,
    timed: list[TimedScene],
    personal: frozenset[str],
    digest: Callable[[str], str],
) -> dict[int, TimedScene]:
    """Scene index -> the fallback of each personal scene that declares one, timed as the scene."""
    declared = fallback_scenes(template)
    return {
        index: TimedScene(resolve_fallback(template, spec, t.scene.id, digest), t.start, t.frames, t.fps)
        for index, t in enumerate(timed)
        if t.scene.id in declared and t.scene.id in personal
    }


def plan_video(
    template: Template,
    spec: ResolvedSpec,
    storage: Storage,
    options: VideoOptions,
    personal: frozenset[str],
    mode: Literal["eager", "on-play"] = "eager",
) -> PlannedVideo:
    """Resolve, narrate (cached by content) and time the recipient's scenes, and plan its stream;
    nothing is encoded. Equal inputs give an equal plan (the keys are content hashes)."""
    video = template.manifest.outputs.video
    assert video is not None
    open_asset = asset_opener(template)
    digest = _digester(open_asset)
    scenes = resolve_scenes(template, spec, digest)
    narrations = synthesize_narrations(scenes, open_asset, options, storage)
    settings = encode_settings(template, options)
    timed = time_scenes(scenes, {k: n.seconds for k, n in narrations.items()}, settings.fps)
    keys = [segments.segment_key(scene, settings) for scene in timed]
    fallbacks = _fallbacks(template, spec, timed, personal, digest)
    music = open_asset(video.music) if video.music else None
    stem = audio_stem(
        [[t.start, t.frames] for t in timed],
        sorted((k, n.key) for k, n in narrations.items()),
        digest(video.music) if video.music else None,
    )
    stream = StreamPlan(
        fps=settings.fps,
        width=settings.width,
        height=settings.height,
        video_codec=h264_codec(settings),
        video_init=video_init_key(settings),
        audio_init=audio_init_key(audio.SAMPLE_RATE),
        audio_stem=stem,
        language=spec.locale.replace("_", "-").split("-")[0],
        scenes=tuple(
            StreamScene(
                t.scene.id,
                t.frames,
                key,
                t.scene.id in personal,
                segments.segment_key(fallbacks[index], settings) if index in fallbacks else None,
            )
            for index, (t, key) in enumerate(zip(timed, keys, strict=True))
        ),
        mode=mode,
    )
    return PlannedVideo(timed, keys, narrations, settings, open_asset, music, stream, fallbacks)
