"""Pure: a recipient's HLS stream as a plan, and the playlists written from it.

A `StreamPlan` names, per scene, its frame count and the cache key of its video segment (shared
scenes: one object for everyone), whether it is personal and the key of its fallback; and the
per-recipient audio segments. The playlists follow from it without any segment existing, so an
on-play stream answers its first request at once. Playlists are written here, not by ffmpeg:

* ``video.m3u8``, the master: one video rendition and one audio group (the recipient's voice
  and music), each a media playlist under ``stream/``;
* ``stream/video.m3u8`` and ``stream/audio.m3u8``: one segment per scene with the scene's exact
  length, and ``EXT-X-DISCONTINUITY`` before every scene but the first, so each segment starts
  at its playlist position (a shared segment carries no timeline of its own, `cmaf`).
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from renderer.cache import RENDERER_VERSION, init_cache_key
from renderer.errors import RenderError
from renderer.outputs.video.ffmpeg import EncodeSettings

Track = Literal["video", "audio"]
AUDIO_CODEC = "mp4a.40.2"  # AAC-LC
AUDIO_BITRATE = 64_000
PLAN_FILE = "stream.json"  # the plan (and, on play, the data) beside the page: never served
MASTER_FILE = "video.m3u8"
PLAN_VERSION = 1


@dataclass(frozen=True)
class StreamScene:
    """One scene of the stream: its id, length in frames, its video segment (a cache key, or for
    a personal scene of an eager render a file in the recipient's folder: `stored_key`), whether
    it carries personal data, and the cache key of its fallback segment (or None)."""

    id: str
    frames: int
    segment: str
    personal: bool = False
    fallback: str | None = None


@dataclass(frozen=True)
class StreamPlan:
    """Everything a player's requests need: frame size and rate, codecs, the shared init
    segments, the scenes, and the name stem of the recipient's audio segments."""

    fps: int
    width: int
    height: int
    video_codec: str
    video_init: str
    audio_init: str
    audio_stem: str
    language: str
    scenes: tuple[StreamScene, ...]
    bitrate: int = 0  # peak bits per second of video + audio, 0 when not known yet
    mode: Literal["eager", "on-play"] = "eager"
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def starts(self) -> list[float]:
        """Each scene's start in seconds (whole frames)."""
        frame, starts = 0, []
        for scene in self.scenes:
            starts.append(frame / self.fps)
            frame += scene.frames
        return starts

    @property
    def seconds(self) -> float:
        """The stream's length."""
        return sum(scene.frames for scene in self.scenes) / self.fps

    def audio_file(self, index: int) -> str:
        """The file name (in the recipient's folder) of scene `index`'s audio segment."""
        return f"{self.audio_stem}-{index:03d}.m4s"

    def to_json(self) -> dict[str, Any]:
        """JSON-able form (read back by `from_json`)."""
        data = asdict(self)
        data["version"] = PLAN_VERSION
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> StreamPlan:
        """The plan `to_json` wrote; RenderError for another version."""
        if data.get("version") != PLAN_VERSION:
            raise RenderError("the stored stream plan is of another version")
        fields = {k: v for k, v in data.items() if k != "version"}
        fields["scenes"] = tuple(StreamScene(**scene) for scene in data["scenes"])
        return cls(**fields)


def video_init_key(settings: EncodeSettings) -> str:
    """The cache key of the video init segment every segment with `settings` shares."""
    return init_cache_key("video", settings.key())


def audio_init_key(sample_rate: int) -> str:
    """The cache key of the audio init segment (AAC-LC mono at `sample_rate`)."""
    return init_cache_key("audio", {"codec": AUDIO_CODEC, "rate": sample_rate, "bitrate": AUDIO_BITRATE})


def audio_stem(*inputs: Any) -> str:
    """The name stem of a recipient's audio segments: it changes whenever the audio would (its
    inputs, the renderer version, the codec settings)."""
    parts = [RENDERER_VERSION, AUDIO_CODEC, AUDIO_BITRATE, *inputs]
    digest = hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()
    return f"audio-{digest[:16]}"


def is_private(file_name: str) -> bool:
    """Whether a video companion file is internal to the stream (the plan, which on play holds
    the recipient's data; audio and scene segments, served through the stream's own routes):
    never linked, listed or served as a file of the page."""
    return file_name == PLAN_FILE or file_name.endswith(".m4s")


def stored_key(folder: str, segment: str) -> str:
    """The storage key of a plan's segment: a cache key as it is, a bare file name (a personal
    segment of an eager render, kept with the recipient's files) inside the recipient's folder."""
    return segment if "/" in segment else folder + segment


def h264_codec(settings: EncodeSettings) -> str:
    """The RFC 6381 codec string of segments encoded with `settings` (``avc1.640029``)."""
    profiles = {"baseline": 0x42, "main": 0x4D, "high": 0x64}
    level = round(float(settings.level) * 10)
    return f"avc1.{profiles[settings.profile]:02x}00{level:02x}"


def master_playlist(plan: StreamPlan) -> str:
    """The master playlist: the video rendition and its audio group, relative to itself."""
    bandwidth = plan.bitrate or 2_000_000
    return "\n".join(
        [
            "#EXTM3U",
            "#EXT-X-VERSION:7",
            "#EXT-X-INDEPENDENT-SEGMENTS",
            '#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="audio",NAME="Narration",'
            f'LANGUAGE="{plan.language}",DEFAULT=YES,AUTOSELECT=YES,CHANNELS="1",URI="stream/audio.m3u8"',
            f'#EXT-X-STREAM-INF:BANDWIDTH={bandwidth},CODECS="{plan.video_codec},{AUDIO_CODEC}",'
            f'RESOLUTION={plan.width}x{plan.height},FRAME-RATE={plan.fps:.3f},AUDIO="audio"',
            "stream/video.m3u8",
            "",
        ]
    )


def media_playlist(plan: StreamPlan, track: Track, uri: Callable[[str], str]) -> str:
    """The media playlist of `track`: its init segment and one segment per scene, each of the
    scene's exact length. `uri(name)` gives the URI of ``init.mp4`` or ``<k>.m4s`` (relative, or
    a presigned URL)."""
    lengths = [scene.frames / plan.fps for scene in plan.scenes]
    lines = [
        "#EXTM3U",
        "#EXT-X-VERSION:7",
        f"#EXT-X-TARGETDURATION:{math.ceil(max(lengths))}",
        "#EXT-X-PLAYLIST-TYPE:VOD",
        "#EXT-X-MEDIA-SEQUENCE:0",
        "#EXT-X-INDEPENDENT-SEGMENTS",
        f'#EXT-X-MAP:URI="{uri("init.mp4")}"',
    ]
    for index, seconds in enumerate(lengths):
        if index:
            lines.append("#EXT-X-DISCONTINUITY")
        lines += [f"#EXTINF:{seconds:.5f},", uri(f"{index}.m4s")]
    lines += ["#EXT-X-ENDLIST", ""]
    return "\n".join(lines)
