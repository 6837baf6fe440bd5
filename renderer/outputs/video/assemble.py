"""Assemble a recipient's video from encoded segments: concat without re-encoding, mux the
encoded audio, and take a poster and an animated thumbnail."""

from __future__ import annotations

from pathlib import Path

from renderer.outputs.video import ffmpeg


def write_concat_list(segments: list[Path], list_file: Path) -> None:
    """The concat demuxer's list: one `file` line per segment, names relative to the list."""
    lines = ["ffconcat version 1.0"]
    for segment in segments:
        if segment.parent != list_file.parent or "'" in segment.name:
            raise ValueError("segments must sit beside the list file with plain names")
        lines.append(f"file '{segment.name}'")
    list_file.write_text("\n".join(lines) + "\n", encoding="utf-8")


def assemble(segments: list[Path], audio: Path | None, folder: Path, *, timeout_s: float) -> Path:
    """Concatenate segments and mux the timeline's encoded audio into ``video.mp4``, both by
    stream copy."""
    list_file = folder / "segments.ffconcat"
    write_concat_list(segments, list_file)
    output = folder / "video.mp4"
    args = ffmpeg.concat_args(list_file, audio, output)
    ffmpeg.run(args, timeout_s=timeout_s, what="assembling the video")
    return output


def make_stills(
    video: Path, poster_at: float, thumbnail_at: float, folder: Path, *, timeout_s: float
) -> list[Path]:
    """``poster.jpg`` (the frame at `poster_at`) and ``thumbnail.webp`` (~3 s from `thumbnail_at`,
    animated, 480 px wide, for emails), in one ffmpeg run."""
    poster, thumbnail = folder / "poster.jpg", folder / "thumbnail.webp"
    args = ffmpeg.stills_args(video, (poster_at, poster), (thumbnail_at, 3.0, 480, thumbnail))
    ffmpeg.run(args, timeout_s=timeout_s, what="taking the poster and thumbnail")
    return [poster, thumbnail]
