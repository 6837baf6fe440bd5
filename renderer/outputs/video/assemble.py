"""Assemble a recipient's video from encoded segments: concat without re-encoding, mux the audio,
then cut HLS at the scene keyframes and take a poster and an animated thumbnail."""

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


def assemble(
    segments: list[Path], audio: Path | None, folder: Path, *, timeout_s: float, audio_filter: str = ""
) -> Path:
    """Concatenate segments (stream copy) and mux the timeline's audio into ``video.mp4``."""
    list_file = folder / "segments.ffconcat"
    write_concat_list(segments, list_file)
    output = folder / "video.mp4"
    args = ffmpeg.concat_args(list_file, audio, output, audio_filter)
    ffmpeg.run(args, timeout_s=timeout_s, what="assembling the video")
    return output


def make_hls(video: Path, folder: Path, *, timeout_s: float) -> list[Path]:
    """``video.m3u8`` plus one ``video-NNN.ts`` per scene (cut at the scene keyframes)."""
    playlist = folder / "video.m3u8"
    pattern = str(folder / "video-%03d.ts")
    ffmpeg.run(ffmpeg.hls_args(video, playlist, pattern), timeout_s=timeout_s, what="packaging HLS")
    return [playlist, *sorted(folder.glob("video-*.ts"))]


def make_stills(
    video: Path, poster_at: float, thumbnail_at: float, folder: Path, *, timeout_s: float
) -> list[Path]:
    """``poster.jpg`` (the frame at `poster_at`) and ``thumbnail.webp`` (~3 s from `thumbnail_at`,
    animated, 480 px wide, for emails), in one ffmpeg run."""
    poster, thumbnail = folder / "poster.jpg", folder / "thumbnail.webp"
    args = ffmpeg.stills_args(video, (poster_at, poster), (thumbnail_at, 3.0, 480, thumbnail))
    ffmpeg.run(args, timeout_s=timeout_s, what="taking the poster and thumbnail")
    return [poster, thumbnail]
