"""Assemble a recipient's video from encoded segments, in this process (PyAV): the segments'
pictures one after another and the timeline's encoded audio, both copied as they are (no
re-encode), into a ``+faststart`` MP4 without metadata from any input."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import av

from renderer.errors import RenderError
from renderer.outputs.video import cmaf


def _copy_packets(source: Path | bytes, kind: str, target: Any, stream: Any, offset: int) -> int:
    """Mux every packet of the first `kind` track of `source` into `stream`, `offset` (in the
    source's time base) later; the offset where the next source starts."""
    end = offset
    with cmaf.open_media(source) as container:
        track = container.streams.video[0] if kind == "video" else container.streams.audio[0]
        for packet in container.demux(track):
            if packet.dts is None:
                continue
            packet.pts = None if packet.pts is None else packet.pts + offset
            packet.dts += offset
            end = max(end, (packet.pts if packet.pts is not None else packet.dts) + (packet.duration or 0))
            packet.stream = stream
            target.mux(packet)
    return end


def assemble(segments: list[Path], audio: bytes | None, folder: Path) -> Path:
    """Join `segments` (playable MP4s of one scene each, same codec settings) and mux the
    timeline's encoded audio into ``video.mp4`` in `folder`, both by stream copy."""
    output = folder / "video.mp4"
    options = {"movflags": "+faststart", "fflags": "+bitexact"}
    try:
        with av.open(str(output), "w", format="mp4", options=options) as target:
            with av.open(str(segments[0]), "r") as first:
                video = target.add_stream_from_template(first.streams.video[0])
            sound = None
            if audio is not None:
                with cmaf.open_media(audio) as track:
                    sound = target.add_stream_from_template(track.streams.audio[0])
            offset = 0
            for segment in segments:
                offset = _copy_packets(segment, "video", target, video, offset)
            if audio is not None:
                _copy_packets(audio, "audio", target, sound, 0)
    except (av.FFmpegError, IndexError) as exc:
        if isinstance(exc, OSError):
            raise  # a full disk, as `scratch.scratch_space` reports it
        raise RenderError(f"assembling the video failed: {type(exc).__name__}") from None
    return output
