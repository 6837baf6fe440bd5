"""Encode a scene's frames to an H.264 MP4 segment in this process: x264 through PyAV.

`encode_runs(runs, settings, timeout_s=...)` takes the scene's frames as runs of equal frames
(RGB bytes, how many frames) and returns the segment's MP4 bytes. x264 encodes each run's
frame once, at the run's start time; every other frame of a run is written as a skipped picture
that decodes to that frame bit for bit (`h264`), so a scene costs its distinct frames, not its
length, while the stream keeps one picture every 1/fps (constant frame rate, as ffprobe reports).

No process is started and no frame is piped or written to disk. The encoder is I/P only with one
reference frame (what skipped pictures need), one GOP per segment (a keyframe first, none after).
"""

from __future__ import annotations

import io
import time
from collections.abc import Iterable
from fractions import Fraction
from functools import lru_cache
from typing import Any

import av
import numpy as np

from renderer.errors import RenderError, RenderTimeout
from renderer.outputs.video import h264
from renderer.outputs.video.ffmpeg import EncodeSettings

Run = tuple[bytes, int]


def x264_options(settings: EncodeSettings) -> dict[str, str]:
    """libx264's options for `settings` (pure): the preset and quality, no B-frames, one
    reference frame, headers before the keyframe, and no keyframe after the first."""
    s = settings
    params = "repeat-headers=1:bframes=0:ref=1:keyint=infinite:min-keyint=1:scenecut=0"
    return {
        "preset": s.preset,
        "crf": str(s.crf),
        "profile": s.profile,
        "level": s.level,
        "threads": str(s.threads),
        "x264-params": params,
    }


def _encoder(settings: EncodeSettings) -> av.VideoCodecContext:
    context = av.CodecContext.create("libx264", "w")
    context.width, context.height = settings.width, settings.height
    context.pix_fmt = "yuv420p"
    context.time_base = Fraction(1, settings.fps)
    context.framerate = Fraction(settings.fps, 1)
    context.thread_type = "FRAME"  # x264's frame threads: one slice a picture
    context.options = x264_options(settings)
    return context


def _yuv(frame: bytes, settings: EncodeSettings) -> av.VideoFrame:
    picture = av.VideoFrame(settings.width, settings.height, "rgb24")
    if picture.planes[0].line_size == settings.width * 3:
        picture.planes[0].update(frame)  # no padding: one copy, no array
    else:
        pixels = np.frombuffer(frame, np.uint8).reshape(settings.height, settings.width, 3)
        picture = av.VideoFrame.from_ndarray(pixels, format="rgb24")
    return picture.reformat(format="yuv420p")


def _encode_distinct(
    runs: Iterable[Run], settings: EncodeSettings, deadline: float
) -> tuple[dict[int, bytes], int]:
    """x264's packet (Annex B) of each run's frame, by the run's first frame; the frame count."""
    context, position = _encoder(settings), 0
    packets: dict[int, bytes] = {}
    for frame, count in runs:
        if time.monotonic() > deadline:
            raise RenderTimeout("")
        picture = _yuv(frame, settings)
        picture.pts = position
        _keep(context.encode(picture), packets)
        position += count
    _keep(context.encode(None), packets)
    return packets, position


def _keep(encoded: Iterable[av.Packet[Any]], packets: dict[int, bytes]) -> None:
    for packet in encoded:
        if packet.pts is None:
            raise RenderError("the H.264 encoder wrote a picture without a time")
        packets[packet.pts] = bytes(packet)


@lru_cache(maxsize=8)
def _skip_picture(settings: EncodeSettings) -> tuple[bytes, bytes, tuple[bytes, ...]]:
    """(SPS, PPS, the slices of an all-skip P picture) of x264 with `settings`: its encode of two
    equal flat frames (the second has no residual and zero motion: every macroblock is skipped)."""
    grey = bytes([128]) * (settings.width * settings.height * 3)
    packets, _ = _encode_distinct([(grey, 1), (grey, 1)], settings, float("inf"))
    first, second = (h264.split_nals(packets[pts]) for pts in sorted(packets))
    headers = {h264.nal_type(unit): unit for unit in first}
    slices = tuple(unit for unit in second if h264.nal_type(unit) == h264.NAL_SLICE)
    if not slices or any(len(unit) > 256 or h264.nal_ref_idc(unit) == 0 for unit in slices):
        raise RenderError("the H.264 encoder did not write a skipped picture")
    return headers[h264.NAL_SPS], headers[h264.NAL_PPS], slices


def _numbered(packet: bytes, sps: h264.SequenceParameters, index: int) -> bytes:
    units = h264.split_nals(packet)
    return h264.join_nals(
        [h264.with_frame_num(u, sps, index) if h264.nal_type(u) == h264.NAL_SLICE else u for u in units]
    )


def _pictures(packets: dict[int, bytes], frames: int, settings: EncodeSettings) -> list[bytes]:
    """One Annex B picture per frame: x264's where it encoded one, a skipped picture elsewhere,
    each slice numbered by its frame (``frame_num``)."""
    first = h264.split_nals(packets.get(0, b""))
    headers = {h264.nal_type(unit): unit for unit in first}
    if h264.NAL_SPS not in headers or h264.NAL_IDR not in headers:
        raise RenderError("the H.264 encoder did not start the segment with a keyframe")
    sps_unit, pps_unit, skip = _skip_picture(settings)
    sps = h264.parse_sps(headers[h264.NAL_SPS])
    if (headers[h264.NAL_SPS], headers.get(h264.NAL_PPS)) != (sps_unit, pps_unit) or sps.poc_type != 2:
        raise RenderError("the H.264 encoder's parameters changed between encodes")
    pictures = []
    for index in range(frames):
        packet = packets.get(index)
        if packet is None:
            pictures.append(h264.join_nals([h264.with_frame_num(unit, sps, index) for unit in skip]))
        else:
            pictures.append(_numbered(packet, sps, index) if index else packet)
    return pictures


def _mp4(pictures: list[bytes], settings: EncodeSettings) -> bytes:
    """The pictures as an MP4 (one H.264 track, timescale fps x 1000, 1/fps a frame)."""
    out = io.BytesIO()
    timescale = settings.fps * 1000
    options = {"video_track_timescale": str(timescale)}
    with av.open(out, "w", format="mp4", options=options) as container:
        stream = container.add_stream("h264", rate=settings.fps)
        stream.width, stream.height, stream.pix_fmt = settings.width, settings.height, "yuv420p"
        stream.time_base = Fraction(1, timescale)
        headers = [
            u for u in h264.split_nals(pictures[0]) if h264.nal_type(u) in (h264.NAL_SPS, h264.NAL_PPS)
        ]
        stream.codec_context.extradata = h264.join_nals(headers)
        for index, picture in enumerate(pictures):
            packet = av.Packet(picture)
            packet.pts = packet.dts = index * 1000
            packet.duration = 1000
            packet.time_base = stream.time_base
            packet.is_keyframe = index == 0
            packet.stream = stream
            container.mux(packet)
    return out.getvalue()


def encode_runs(runs: Iterable[Run], settings: EncodeSettings, *, timeout_s: float, what: str) -> bytes:
    """The MP4 segment of `runs` (each an RGB frame of `settings`' size and how many frames it
    lasts): x264 encodes each run's frame once, the rest of a run are skipped pictures; constant
    frame rate, keyframe first. RenderTimeout naming `what` past `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    try:
        packets, frames = _encode_distinct(runs, settings, deadline)
    except RenderTimeout:
        raise RenderTimeout(f"{what} took longer than {timeout_s:g} s") from None
    except av.FFmpegError as exc:
        raise RenderError(f"{what} failed: {exc.strerror or type(exc).__name__}") from None
    if frames == 0:
        raise RenderError(f"{what} failed: a segment needs at least one frame")
    return _mp4(_pictures(packets, frames, settings), settings)
