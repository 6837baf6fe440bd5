"""The video output's entry point: `render_video(template, spec, storage, options)`.

plan (scenes, narration, timing: `plan.py`) -> segments (cached per scene, CMAF) -> soundtrack
(mixed and encoded once) -> MP4 (stream copy) and the HLS stream (shared video segments, the
recipient's audio segments, `streaming.py`) -> poster, thumbnail, captions.

With ``on_play`` nothing is encoded: the page's tracks, poster and thumbnail, the master
playlist and the stream plan (with the recipient's data, to render segments when played).
Besides its files, a render names the cache objects that hold this recipient's personal content
(the segments and narrations of its personal scenes, `personal_cache`), so erasing the
recipient can delete them although they are keyed by content, not by recipient.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter

from renderer.outputs.images import UnusableImage, image_failure
from renderer.outputs.kind import RenderedFile
from renderer.outputs.template import Template
from renderer.outputs.video import assemble, captions, segments, stills
from renderer.outputs.video.audio import Narration
from renderer.outputs.video.personal import personal_scenes
from renderer.outputs.video.plan import (
    PlannedVideo,
    VideoOptions,
    asset_opener,
    encode_settings,
    plan_video,
    synthesize_narrations,
)
from renderer.outputs.video.scenes import TimedScene
from renderer.outputs.video.soundtrack import audio_segments, encode_soundtrack
from renderer.outputs.video.streaming import MASTER_FILE, PLAN_FILE, StreamPlan, master_playlist
from renderer.storage.base import Storage
from renderer.template.resolve import ResolvedSpec

__all__ = [
    "RenderedVideo",
    "VideoOptions",
    "asset_opener",
    "encode_settings",
    "personal_cache",
    "render_video",
    "synthesize_narrations",
]
PLAYLIST_TYPE = "application/vnd.apple.mpegurl"
_JSON: TypeAdapter[dict[str, Any]] = TypeAdapter(dict[str, Any])  # dates, decimals as JSON


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
    *,
    on_play: bool = False,
) -> RenderedVideo:
    """Render the recipient's video and its companions (the MP4 first; with `on_play`, the
    master playlist first and no MP4), naming the cache objects of its personal scenes
    (`personal_cache`; `personal` is the template's `personal_scenes`, worked out here when not
    given). An image it cannot use fails it (`image_failure`)."""
    if personal is None:
        personal = personal_scenes(template.manifest)
    try:
        planned = plan_video(template, spec, storage, options, personal, "on-play" if on_play else "eager")
        cache = personal_cache(planned.timed, planned.keys, planned.narrations, personal)
        if on_play:
            return RenderedVideo(_on_play_files(template, spec, planned, options), cache)
        return RenderedVideo(_render_files(template, spec, planned, storage, options), cache)
    except UnusableImage as exc:
        raise image_failure(template, spec, exc.path, exc.cause) from None


def _render_files(
    template: Template, spec: ResolvedSpec, planned: PlannedVideo, storage: Storage, options: VideoOptions
) -> list[RenderedFile]:
    timed, settings, timeout_s = planned.timed, planned.settings, options.timeout_s
    pictures = None if options.draft else _still_frames(template, planned)
    sink = pictures.offer if pictures is not None else None
    with ThreadPoolExecutor(1, thread_name_prefix="tailor-audio") as sound:
        # the soundtrack (libavfilter and the AAC encoder) is made while the segments are
        soundtrack_job = sound.submit(encode_soundtrack, planned, storage)
        segments.cached_segments(timed, settings, planned.open_asset, storage, timeout_s=timeout_s, sink=sink)
        soundtrack = soundtrack_job.result()
    with tempfile.TemporaryDirectory(prefix="tailor-video-") as tmp:
        folder = Path(tmp)
        clips = segments.fetch_segments(
            timed, planned.keys, settings, planned.open_asset, storage, folder, timeout_s=timeout_s
        )
        mp4 = assemble.assemble(clips, soundtrack, folder)
        files = [RenderedFile("video.mp4", mp4.read_bytes(), "video/mp4"), *_tracks(template, spec, planned)]
        if options.draft:  # a preview needs the MP4 and captions only: no HLS, poster, thumbnail
            return files
        files += _stream_files(planned, clips, soundtrack, storage)
        assert pictures is not None
        return files + _still_files(*pictures.finish(planned.open_asset, timeout_s=timeout_s))


def _on_play_files(
    template: Template, spec: ResolvedSpec, planned: PlannedVideo, options: VideoOptions
) -> list[RenderedFile]:
    """The master playlist, the page's tracks, and the plan with the recipient's data (only the
    contract's fields) from which the stream's segments are rendered when played."""
    plan = planned.plan
    fields = template.manifest.contract.fields
    data = {name: spec.context[name] for name in fields if name in spec.context}
    decided = {
        "slots": {k: list(v) for k, v in spec.context["slots"].items()},
        "variants": spec.context["variants"],
    }
    record = {"plan": plan.to_json(), "data": _JSON.dump_python(data, mode="json"), "decided": decided}
    return [
        RenderedFile(MASTER_FILE, master_playlist(plan).encode(), PLAYLIST_TYPE),
        *_tracks(template, spec, planned),
        RenderedFile(PLAN_FILE, json.dumps(record).encode(), "application/json"),
        *_stills(template, planned, options),
    ]


def _stream_files(
    planned: PlannedVideo, clips: list[Path], soundtrack: bytes, storage: Storage
) -> list[RenderedFile]:
    """The eager stream: the recipient's audio segments, the master playlist and the plan (its
    peak bitrate measured); the video segments are the cached ones."""
    pieces = audio_segments(planned, soundtrack, storage)
    seconds = [scene.frames / planned.settings.fps for scene in planned.plan.scenes]
    peak = max(
        (clip.stat().st_size + len(piece)) * 8 / length
        for clip, piece, length in zip(clips, pieces, seconds, strict=True)
    )
    files = [
        RenderedFile(planned.plan.audio_file(index), piece, "audio/iso.segment")
        for index, piece in enumerate(pieces)
    ]
    # a personal scene's segment is kept with the recipient's files, so the stream plays whatever
    # happens to the cache (erasing another recipient with the same content deletes that copy)
    scenes, init = [], len(segments.video_init(storage, planned.settings, timeout_s=60.0))
    for index, (scene, clip) in enumerate(zip(planned.plan.scenes, clips, strict=True)):
        if scene.personal:
            name = f"scene-{index:03d}.m4s"
            files.append(RenderedFile(name, clip.read_bytes()[init:], "video/iso.segment"))
            scene = replace(scene, segment=name)
        scenes.append(scene)
    plan = replace(planned.plan, bitrate=round(peak), scenes=tuple(scenes))
    files.append(RenderedFile(MASTER_FILE, master_playlist(plan).encode(), PLAYLIST_TYPE))
    files.append(RenderedFile(PLAN_FILE, json.dumps({"plan": plan.to_json()}).encode(), "application/json"))
    return files


def _tracks(template: Template, spec: ResolvedSpec, planned: PlannedVideo) -> list[RenderedFile]:
    """Captions (WebVTT and SRT), chapters when the template declares them, the scenes track."""
    timed, total = planned.timed, planned.seconds
    cues = captions.caption_cues(timed, dict(planned.narrations))
    files = [
        RenderedFile("captions.vtt", captions.webvtt(cues).encode("utf-8"), "text/vtt; charset=utf-8"),
        RenderedFile("captions.srt", captions.srt(cues).encode("utf-8"), "application/x-subrip"),
    ]
    files += _chapters(template, spec, timed, total)
    track = captions.webvtt(captions.scene_cues(timed, total))
    files.append(RenderedFile("scenes.vtt", track.encode("utf-8"), "text/vtt; charset=utf-8"))
    return files


def read_stream_record(data: bytes) -> tuple[StreamPlan, dict[str, Any] | None]:
    """The plan and (for an on-play render) the recipient's data that `render_video` stored."""
    record: dict[str, Any] = json.loads(data)
    return StreamPlan.from_json(record["plan"]), record.get("data")


def read_stream_decisions(data: bytes) -> dict[str, Any] | None:
    """The ``slots`` and ``variants`` an on-play render was decided with (None before decisions)."""
    decided: dict[str, Any] | None = json.loads(data).get("decided")
    return decided


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


def _still_frames(template: Template, planned: PlannedVideo) -> stills.StillFrames:
    video = template.manifest.outputs.video
    assert video is not None
    return stills.StillFrames(planned.timed, planned.settings, video.poster_at, video.thumbnail_at)


def _stills(template: Template, planned: PlannedVideo, options: VideoOptions) -> list[RenderedFile]:
    """The poster and animated thumbnail, from composed frames (no encoded video needed)."""
    pictures = _still_frames(template, planned).finish(planned.open_asset, timeout_s=options.timeout_s)
    return _still_files(*pictures)


def _still_files(poster: bytes, thumbnail: bytes) -> list[RenderedFile]:
    return [
        RenderedFile("poster.jpg", poster, "image/jpeg"),
        RenderedFile("thumbnail.webp", thumbnail, "image/webp"),
    ]
