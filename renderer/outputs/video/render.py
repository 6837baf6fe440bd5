"""The video output's entry point: `render_video(template, spec, storage, options)`.

scenes (pure) -> narration (TTS or clips, cached) -> timing (pure) -> segments (cached per scene)
-> audio mix -> assemble (stream copy) -> HLS, poster, thumbnail, captions.

Besides its files, a render names the cache objects that hold this recipient's personal content
(the segments and narrations of its personal scenes, `personal_cache`), so erasing the
recipient can delete them although they are keyed by content, not by recipient.
"""

from __future__ import annotations

import hashlib
import tempfile
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from renderer.errors import AssetError
from renderer.outputs.images import UnusableImage, image_failure
from renderer.outputs.kind import RenderedFile
from renderer.outputs.template import Template
from renderer.outputs.video import assemble, audio, captions, ffmpeg, segments
from renderer.outputs.video.audio import Narration
from renderer.outputs.video.ffmpeg import EncodeSettings
from renderer.outputs.video.layers import AssetOpener
from renderer.outputs.video.personal import personal_scenes
from renderer.outputs.video.scenes import ResolvedScene, TimedScene, resolve_scenes, time_scenes
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
    """The encoder settings every segment of this template shares (half size in draft mode)."""
    video = template.manifest.outputs.video
    assert video is not None
    width, height = video.size
    if options.draft:
        return EncodeSettings(width // 4 * 2, height // 4 * 2, video.fps, preset="ultrafast", crf=28)
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
class RenderedVideo:
    """A rendered video: its files (the MP4 first) and, by entry name (``segment:<scene id>``,
    ``narration:<scene id>``), the cache keys of the objects holding personal content."""

    files: list[RenderedFile]
    personal_cache: dict[str, str] = field(default_factory=dict)


def personal_cache(
    timed: list[TimedScene], keys: list[str], narrations: Mapping[str, Narration], personal: frozenset[str]
) -> dict[str, str]:
    """Entry name -> cache key of the segment and narration of every personal scene, hit or miss.

    A key that a scene outside `personal` uses too (a narration with the same words) is left out,
    so erasing never deletes what a shared scene of this video reads.
    """
    entries: dict[str, str] = {}
    shared: set[str] = set()
    for scene, key in zip(timed, keys, strict=True):
        scene_id = scene.scene.id
        own = {"segment": key}
        if scene_id in narrations:
            own["narration"] = narrations[scene_id].key
        if scene_id in personal:
            entries.update({f"{kind}:{scene_id}": value for kind, value in own.items()})
        else:
            shared.update(own.values())
    return {name: key for name, key in entries.items() if key not in shared}


def render_video(
    template: Template,
    spec: ResolvedSpec,
    storage: Storage,
    options: VideoOptions,
    personal: frozenset[str] | None = None,
) -> RenderedVideo:
    """Render the recipient's video and its companions (the MP4 first), naming the cache objects
    of its personal scenes (`personal_cache`; `personal` is the template's `personal_scenes`,
    worked out here when not given). An image it cannot use fails it (`image_failure`)."""
    if personal is None:
        personal = personal_scenes(template.manifest)
    try:
        return _render_video(template, spec, storage, options, personal)
    except UnusableImage as exc:
        raise image_failure(template, spec, exc.path, exc.cause) from None


def _render_video(
    template: Template, spec: ResolvedSpec, storage: Storage, options: VideoOptions, personal: frozenset[str]
) -> RenderedVideo:
    video = template.manifest.outputs.video
    assert video is not None
    open_asset = asset_opener(template)

    def digest(ref: str) -> str:
        path = open_asset(ref)
        stat = path.stat()
        return _digest(path, stat.st_size, stat.st_mtime)

    scenes = resolve_scenes(template, spec, digest)
    narrations = synthesize_narrations(scenes, open_asset, options, storage)
    settings = encode_settings(template, options)
    timed = time_scenes(scenes, {k: n.seconds for k, n in narrations.items()}, settings.fps)
    keys = segments.cached_segments(timed, settings, open_asset, storage, timeout_s=options.timeout_s)
    cache = personal_cache(timed, keys, narrations, personal)
    music = open_asset(video.music) if video.music else None
    total = sum(t.frames for t in timed) / settings.fps
    with tempfile.TemporaryDirectory(prefix="tailor-video-") as tmp:
        folder = Path(tmp)
        clips = segments.fetch_segments(
            timed, keys, settings, open_asset, storage, folder, timeout_s=options.timeout_s
        )
        files = _package(timed, clips, narrations, music, total, storage, folder, options)
        files += _chapters(template, spec, timed, total)
        track = captions.webvtt(captions.scene_cues(timed, total))
        files.append(RenderedFile("scenes.vtt", track.encode("utf-8"), "text/vtt; charset=utf-8"))
        if options.draft:  # a preview needs the MP4 and captions only: no HLS, poster, thumbnail
            return RenderedVideo(files, cache)
        stills = _stills(folder / "video.mp4", total, folder, video.poster_at, video.thumbnail_at, options)
        return RenderedVideo(files + stills, cache)


def _chapters(
    template: Template, spec: ResolvedSpec, timed: list[TimedScene], total: float
) -> list[RenderedFile]:
    """``chapters.vtt`` when the template declares chapters: titles in the recipient's language."""
    chapters = template.manifest.interactions.chapters
    if not chapters:
        return []
    titles = [(chapter.scene, str(spec.context["t"](chapter.title))) for chapter in chapters]
    track = captions.webvtt(captions.chapter_cues(timed, titles, total))
    return [RenderedFile("chapters.vtt", track.encode("utf-8"), "text/vtt; charset=utf-8")]


def _package(
    timed: list[TimedScene],
    segment_files: list[Path],
    narrations: dict[str, Narration],
    music: Path | None,
    total: float,
    storage: Storage,
    folder: Path,
    options: VideoOptions,
) -> list[RenderedFile]:
    voice_files: dict[str, Path] = {}
    for scene_id, narration in narrations.items():
        path = folder / f"voice-{len(voice_files):03d}.wav"
        path.write_bytes(narration.data or storage.get(narration.key))
        voice_files[scene_id] = path
    mixed = folder / "audio.wav"
    mix = audio.mix_args(timed, voice_files, music, total, mixed)
    report = ffmpeg.run(mix, timeout_s=options.timeout_s, what="mixing audio", stderr=True)
    gain = audio.loudness_filter(report.decode("utf-8", "replace"))
    mp4 = assemble.assemble(segment_files, mixed, folder, timeout_s=options.timeout_s, audio_filter=gain)
    hls: list[Path] = []
    if not options.draft:
        hls_folder = folder / "hls"
        hls_folder.mkdir()
        hls = assemble.make_hls(mp4, hls_folder, timeout_s=options.timeout_s)
    cues = captions.caption_cues(timed, narrations)
    files = [
        RenderedFile("video.mp4", mp4.read_bytes(), "video/mp4"),
        RenderedFile("captions.vtt", captions.webvtt(cues).encode("utf-8"), "text/vtt; charset=utf-8"),
        RenderedFile("captions.srt", captions.srt(cues).encode("utf-8"), "application/x-subrip"),
    ]
    for path in hls:
        kind = "application/vnd.apple.mpegurl" if path.suffix == ".m3u8" else "video/mp2t"
        files.append(RenderedFile(path.name, path.read_bytes(), kind))
    return files


def _stills(
    mp4: Path, total: float, folder: Path, poster_at: float, thumbnail_at: float, options: VideoOptions
) -> list[RenderedFile]:
    start = min(thumbnail_at, max(0.0, total - 3.0))
    poster, thumb = assemble.make_stills(
        mp4, min(poster_at, total - 0.05), start, folder, timeout_s=options.timeout_s
    )
    return [
        RenderedFile("poster.jpg", poster.read_bytes(), "image/jpeg"),
        RenderedFile("thumbnail.webp", thumb.read_bytes(), "image/webp"),
    ]
