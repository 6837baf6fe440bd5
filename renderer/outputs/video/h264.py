"""Just enough of H.264's bitstream (ITU-T H.264, 7.3) to hold a frame without encoding it.

A held frame is written as a P picture whose every macroblock is skipped (P_Skip with a zero
motion vector copies the reference exactly, and no deblocking applies), so a decoder shows the
previous frame again, bit for bit, at the cost of a ~40-byte NAL instead of an encode. The
stream stays constant-frame-rate: every frame has its own picture and timestamp.

For that to be valid the stream must be I/P only, with one reference frame and picture order
derived from ``frame_num`` (``pic_order_cnt_type`` 2, what x264 writes without B-frames): then
a picture's only link to its position is ``frame_num``, which counts reference pictures, so
frame ``i`` of a segment has ``frame_num = i mod MaxFrameNum`` whether it was encoded or held.
`with_frame_num` rewrites that fixed-width field in place; nothing else of a slice changes.

Pure functions on bytes: Annex B NAL units (start codes), their RBSP (emulation prevention
removed), the SPS fields the rewrite needs, and the slice header's ``frame_num``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from renderer.errors import RenderError

NAL_SLICE, NAL_IDR, NAL_SPS, NAL_PPS = 1, 5, 7, 8
# profiles whose SPS carries chroma format, bit depths and scaling matrices (7.3.2.1.1)
_HIGH_PROFILES = {100, 110, 122, 244, 44, 83, 86, 118, 128, 138, 139, 134, 135}
_START = re.compile(b"\x00\x00\x01")
_ESCAPED = re.compile(b"\x00\x00\x03(?=[\x00-\x03]|\\Z)")
_NEEDS_ESCAPE = re.compile(b"\x00\x00(?=[\x00-\x03]|\\Z)")


def split_nals(data: bytes) -> list[bytes]:
    """The NAL units of an Annex B byte stream, without start codes (or their leading zero)."""
    starts = [match.end() for match in _START.finditer(data)]
    units = []
    for index, start in enumerate(starts):
        end = starts[index + 1] - 3 if index + 1 < len(starts) else len(data)
        units.append(data[start:end].rstrip(b"\x00") if index + 1 < len(starts) else data[start:end])
    return [unit for unit in units if unit]


def join_nals(units: list[bytes]) -> bytes:
    """NAL units as an Annex B byte stream (4-byte start codes)."""
    return b"".join(b"\x00\x00\x00\x01" + unit for unit in units)


def nal_type(unit: bytes) -> int:
    """``nal_unit_type`` of a NAL unit."""
    return unit[0] & 0x1F


def nal_ref_idc(unit: bytes) -> int:
    """``nal_ref_idc``: 0 for a picture no other picture references."""
    return (unit[0] >> 5) & 0x03


def to_rbsp(unit: bytes) -> bytes:
    """A NAL unit's payload with emulation prevention bytes removed (header byte kept)."""
    return _ESCAPED.sub(lambda match: match.group(0)[:2], unit)


def from_rbsp(rbsp: bytes) -> bytes:
    """An RBSP (header byte first) as NAL unit bytes, emulation prevention inserted."""
    return _NEEDS_ESCAPE.sub(b"\x00\x00\x03", rbsp)


class _Bits:
    """A big-endian bit reader over bytes: fixed-width and Exp-Golomb fields."""

    def __init__(self, data: bytes, position: int = 0) -> None:
        self.value = int.from_bytes(data, "big")
        self.length = len(data) * 8
        self.position = position

    def u(self, width: int) -> int:
        if self.position + width > self.length:
            raise RenderError("an H.264 header ends early")
        self.position += width
        return (self.value >> (self.length - self.position)) & ((1 << width) - 1)

    def ue(self) -> int:
        zeros = 0
        while self.u(1) == 0:
            zeros += 1
            if zeros > 31:
                raise RenderError("an H.264 header has a malformed Exp-Golomb code")
        return (1 << zeros) - 1 + self.u(zeros)


@dataclass(frozen=True)
class SequenceParameters:
    """The SPS fields that decide how pictures are numbered."""

    log2_max_frame_num: int
    poc_type: int
    max_ref_frames: int
    separate_colour_planes: bool = False


def parse_sps(unit: bytes) -> SequenceParameters:
    """The numbering fields of a sequence parameter set NAL unit (7.3.2.1.1). RenderError for
    a unit that is not an SPS or uses scaling matrices (x264 writes none unless asked)."""
    if nal_type(unit) != NAL_SPS:
        raise RenderError("an H.264 stream has no sequence parameter set where one is expected")
    bits = _Bits(to_rbsp(unit), 8)
    profile = bits.u(8)
    bits.u(16)  # constraint flags, level_idc
    bits.ue()  # seq_parameter_set_id
    separate = False
    if profile in _HIGH_PROFILES:
        if bits.ue() == 3:  # chroma_format_idc 4:4:4
            separate = bool(bits.u(1))
        bits.ue(), bits.ue(), bits.u(1)  # bit depths, qpprime_y_zero_transform_bypass_flag
        if bits.u(1):
            raise RenderError("H.264 streams with scaling matrices cannot hold frames")
    log2_max_frame_num = bits.ue() + 4
    poc_type = bits.ue()
    if poc_type == 0:
        bits.ue()
    elif poc_type == 1:
        raise RenderError("H.264 streams with picture order type 1 cannot hold frames")
    max_ref_frames = bits.ue()
    return SequenceParameters(log2_max_frame_num, poc_type, max_ref_frames, separate)


def _frame_num_position(rbsp: bytes, sps: SequenceParameters) -> int:
    """The bit offset of ``frame_num`` in a slice's RBSP (7.3.3: it follows three Exp-Golomb
    fields, and the colour plane for separately coded planes)."""
    bits = _Bits(rbsp, 8)
    bits.ue(), bits.ue(), bits.ue()  # first_mb_in_slice, slice_type, pic_parameter_set_id
    if sps.separate_colour_planes:
        bits.u(2)
    return bits.position


def frame_num(unit: bytes, sps: SequenceParameters) -> int:
    """The ``frame_num`` of a slice NAL unit."""
    rbsp = to_rbsp(unit)
    bits = _Bits(rbsp, _frame_num_position(rbsp, sps))
    return bits.u(sps.log2_max_frame_num)


def with_frame_num(unit: bytes, sps: SequenceParameters, value: int) -> bytes:
    """A slice NAL unit with its ``frame_num`` set to `value` modulo MaxFrameNum; every other
    bit unchanged (the field has a fixed width, so nothing after it moves)."""
    if nal_type(unit) not in (NAL_SLICE, NAL_IDR):
        raise RenderError("only a slice has a frame number")
    rbsp = to_rbsp(unit)
    width, length = sps.log2_max_frame_num, len(rbsp) * 8
    shift = length - _frame_num_position(rbsp, sps) - width
    whole = int.from_bytes(rbsp, "big")
    mask = ((1 << width) - 1) << shift
    whole = (whole & ~mask) | ((value % (1 << width)) << shift)
    return from_rbsp(whole.to_bytes(len(rbsp), "big"))
