"""CMAF pieces of a recipient's HLS stream: init segments and one fMP4 media segment per scene.

A scene's video segment is its cached H.264 segment re-wrapped, without re-encoding, as one
``moof`` + ``mdat`` whose decode time starts at 0: it carries nothing of the timeline it is
played in, so a shared scene's segment is the same bytes for every recipient (the playlist puts
a discontinuity before each segment, and the player places it at its playlist start). The
recipient's audio (one AAC stream for the whole video) is cut per scene on AAC frame boundaries:
scene k's audio segment holds the frames that start in [start k, start k+1), and its decode
time is the offset of its first frame from the scene start, so no drift builds up.

The ``moof`` boxes are written here (three fixed boxes; a muxer would renumber the decode time
that the shared segments depend on); PyAV reads packets and writes the init segments.
"""

from __future__ import annotations

import io
import struct
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import av

from renderer.errors import RenderError

SYNC = 0x02000000  # sample_depends_on = 2: decodes alone
NOT_SYNC = 0x01010000  # depends on others, is_non_sync_sample
_INIT_FLAGS = "frag_keyframe+empty_moov+default_base_moof+negative_cts_offsets"


@dataclass(frozen=True)
class Sample:
    """One coded frame of a track fragment: its size, duration and composition offset in the
    track's timescale, and whether it decodes alone."""

    size: int
    duration: int
    sync: bool
    cts: int = 0


@dataclass(frozen=True)
class Packet:
    """A coded frame read from a file: its bytes and times in `timescale` units."""

    data: bytes
    pts: int
    dts: int
    duration: int
    sync: bool


def open_media(source: bytes | Path) -> Any:
    """A PyAV input container over a media file's bytes or a file on disk."""
    return av.open(io.BytesIO(source) if isinstance(source, bytes) else str(source), "r")


def _box(kind: bytes, *parts: bytes) -> bytes:
    payload = b"".join(parts)
    return struct.pack(">I4s", 8 + len(payload), kind) + payload


def _full_box(kind: bytes, version: int, flags: int, *parts: bytes) -> bytes:
    return _box(kind, struct.pack(">I", (version << 24) | flags), *parts)


def _trun(samples: Sequence[Sample], data_offset: int) -> bytes:
    # data offset, then per sample: duration, size, flags, composition offset (signed: version 1)
    entries = b"".join(
        struct.pack(">IIIi", s.duration, s.size, SYNC if s.sync else NOT_SYNC, s.cts) for s in samples
    )
    return _full_box(b"trun", 1, 0x000F01, struct.pack(">Ii", len(samples), data_offset), entries)


def media_segment(samples: Sequence[Sample], payload: bytes, base_time: int, track_id: int = 1) -> bytes:
    """One CMAF media segment (``styp``, ``moof``, ``mdat``) of `samples`, whose bytes are
    `payload` in order, decoding from `base_time` (track timescale). Pure: equal inputs give
    equal bytes. RenderError when the sizes do not add up to the payload."""
    if not samples or sum(s.size for s in samples) != len(payload):
        raise RenderError("a media segment's samples do not match its payload")
    styp = _box(b"styp", b"cmfs", struct.pack(">I", 0), b"cmfs", b"cmfc", b"iso6")
    mfhd = _full_box(b"mfhd", 0, 0, struct.pack(">I", 1))
    tfhd = _full_box(b"tfhd", 0, 0x020000, struct.pack(">I", track_id))  # default-base-is-moof
    tfdt = _full_box(b"tfdt", 1, 0, struct.pack(">Q", base_time))
    trun_size = len(_trun(samples, 0))
    moof_size = 8 + len(mfhd) + 8 + len(tfhd) + len(tfdt) + trun_size
    traf = _box(b"traf", tfhd, tfdt, _trun(samples, moof_size + 8))
    return styp + _box(b"moof", mfhd, traf) + _box(b"mdat", payload)


def top_boxes(data: bytes) -> Iterator[tuple[bytes, int, int]]:
    """(type, start, end) of each top-level box of an ISO-BMFF file."""
    offset = 0
    while offset + 8 <= len(data):
        size, kind = struct.unpack(">I4s", data[offset : offset + 8])
        if size == 1:
            size = struct.unpack(">Q", data[offset + 8 : offset + 16])[0]
        elif size == 0:
            size = len(data) - offset
        if size < 8:
            raise RenderError("a media file has a malformed box")
        yield kind, offset, offset + size
        offset += size


def read_packets(data: bytes) -> tuple[list[Packet], int]:
    """The packets of the first track of an MP4 in decode order, and its timescale."""
    with av.open(io.BytesIO(data), "r", format="mp4") as container:
        stream = container.streams[0]
        timescale = _timescale(stream.time_base)
        packets = [
            Packet(bytes(p), p.dts if p.pts is None else p.pts, p.dts, p.duration or 0, p.is_keyframe)
            for p in container.demux(stream)
            if p.dts is not None and p.size
        ]
    return packets, timescale


def _timescale(time_base: Fraction | None) -> int:
    if time_base is None or time_base.numerator != 1:
        raise RenderError("a media track has no whole-number timescale")
    return int(time_base.denominator)


def fragment(packets: Sequence[Packet], start_dts: int, base_time: int = 0) -> bytes:
    """`packets` as one media segment: decode times counted from `start_dts`, the segment
    decoding from `base_time`; each sample's presentation offset kept (negative for B-frames)."""
    samples = [Sample(len(p.data), p.duration, p.sync, p.pts - p.dts) for p in packets]
    return media_segment(samples, b"".join(p.data for p in packets), base_time + packets[0].dts - start_dts)


def video_fragment(segment_mp4: bytes) -> bytes:
    """A cached scene segment (an MP4 starting on a keyframe) as a media segment decoding from 0,
    its first frame presented at 0: the same bytes wherever the scene plays."""
    packets, _ = read_packets(segment_mp4)
    if not packets or not packets[0].sync:
        raise RenderError("a scene segment does not start on a keyframe")
    first = packets[0]
    # B-frames give the first frame a negative decode time: decode from its presentation time
    shift = first.pts - first.dts
    shifted = [Packet(p.data, p.pts, p.dts + shift, p.duration, p.sync) for p in packets]
    return fragment(shifted, shifted[0].dts)


def init_segment(source_mp4: bytes) -> bytes:
    """The init segment (``ftyp`` + ``moov`` with an empty sample table) for fragments of the
    first track of `source_mp4`: same codec configuration and timescale, track 1."""
    out = io.BytesIO()
    with av.open(io.BytesIO(source_mp4), "r", format="mp4") as source:
        stream = source.streams[0]
        options = {"movflags": _INIT_FLAGS, "fflags": "+bitexact"}
        with av.open(out, "w", format="mp4", options=options) as target:
            copy = target.add_stream_from_template(stream)
            for packet in source.demux(stream):
                if packet.dts is None:
                    continue
                packet.stream = copy
                target.mux(packet)
                break
    data = out.getvalue()
    ends = [end for kind, _, end in top_boxes(data) if kind == b"moov"]
    if not ends:
        raise RenderError("writing an init segment gave no moov box")
    return data[: ends[0]]


def audio_cuts(packets: Sequence[Packet], scene_starts: Sequence[int]) -> list[tuple[int, int, int]]:
    """Per scene (its start in audio samples, ascending from 0): (first packet, end packet, decode
    offset of that first packet from the scene start). A scene holds the AAC frames that start in
    [its start, the next start); frames before 0 (encoder priming) belong to none. Pure."""
    cuts = []
    index = next((i for i, p in enumerate(packets) if p.pts >= 0), len(packets))
    for k, start in enumerate(scene_starts):
        while index < len(packets) and packets[index].pts < start:
            index += 1
        end = index
        limit = scene_starts[k + 1] if k + 1 < len(scene_starts) else None
        while end < len(packets) and (limit is None or packets[end].pts < limit):
            end += 1
        offset = packets[index].pts - start if index < len(packets) else 0
        cuts.append((index, end, offset))
        index = end
    return cuts


def audio_fragments(aac_mp4: bytes, scene_starts_s: Sequence[float]) -> list[bytes]:
    """The recipient's audio (an MP4 with one AAC track) as one media segment per scene, cut on
    AAC frame boundaries; each decodes from its first frame's offset after the scene start."""
    packets, timescale = read_packets(aac_mp4)
    starts = [round(s * timescale) for s in scene_starts_s]
    pieces = []
    for first, end, offset in audio_cuts(packets, starts):
        if first == end:
            raise RenderError("the audio track is shorter than the video")
        pieces.append(fragment(packets[first:end], packets[first].dts, offset))
    return pieces
