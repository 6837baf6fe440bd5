"""The in-process encoder (`encoder`, `h264`): held frames are skipped pictures that decode to the
held frame bit for bit, the encoded frames decode exactly as x264's own stream of them does, the
stream is constant 30 fps, and the sample's scenes look like the command-line encode of every
frame (SSIM at scene midpoints, measured by ffmpeg's ssim filter)."""

from __future__ import annotations

import io
import re
import subprocess
from dataclasses import replace
from pathlib import Path

import av
import numpy as np
import pytest

from renderer.outputs.template import Template
from renderer.outputs.video import encoder, ffmpeg, h264
from renderer.outputs.video.ffmpeg import EncodeSettings
from renderer.outputs.video.render import VideoOptions, asset_opener, encode_settings, synthesize_narrations
from renderer.outputs.video.scenes import resolve_scenes, time_scenes
from renderer.outputs.video.segments import _runs, compose_frames
from renderer.outputs.video.tts import FakeTTS
from renderer.storage import MemoryStorage
from renderer.template.resolve import resolve

SMALL = EncodeSettings(160, 96, 30, threads=1)


def _frame(shade: int, square: int) -> bytes:
    picture = np.full((SMALL.height, SMALL.width, 3), shade, np.uint8)
    picture[20:60, square : square + 40] = (250, 40, 90)
    return picture.tobytes()


def _decoded(mp4: bytes) -> list[np.ndarray]:
    with av.open(io.BytesIO(mp4)) as container:
        return [frame.to_ndarray(format="yuv420p") for frame in container.decode(video=0)]


RUNS = [
    (_frame(30, 0), 1),
    (_frame(30, 10), 40),
    (_frame(90, 50), 3),
    (_frame(90, 100), 1),
    (_frame(200, 60), 25),
]


def test_held_frames_decode_bit_for_bit_to_the_frame_they_hold() -> None:
    frames = _decoded(encoder.encode_runs(iter(RUNS), SMALL, timeout_s=30, what="test"))
    assert len(frames) == sum(count for _, count in RUNS)
    start = 0
    for _, count in RUNS:
        for held in frames[start + 1 : start + count]:
            assert np.array_equal(held, frames[start])
        start += count


def test_encoded_frames_decode_exactly_as_x264s_stream_of_them_alone() -> None:
    """Skipped pictures change nothing of the pictures around them: the distinct frames decode
    to what x264's own stream of just its pictures (nothing held, nothing renumbered) decodes to."""
    ours = _decoded(encoder.encode_runs(iter(RUNS), SMALL, timeout_s=30, what="test"))
    packets, _ = encoder._encode_distinct(iter(RUNS), SMALL, float("inf"))
    raw = b"".join(packets[pts] for pts in sorted(packets))
    with av.open(io.BytesIO(raw), format="h264") as container:
        alone = [frame.to_ndarray(format="yuv420p") for frame in container.decode(video=0)]
    starts = np.cumsum([0] + [count for _, count in RUNS[:-1]])
    assert len(alone) == len(RUNS)
    for position, start in enumerate(starts):
        assert np.array_equal(ours[start], alone[position])


def test_the_stream_is_constant_30_fps_one_keyframe_and_i_p_only(tmp_path: Path) -> None:
    path = tmp_path / "s.mp4"
    path.write_bytes(encoder.encode_runs(iter(RUNS), SMALL, timeout_s=30, what="test"))
    [stream] = ffmpeg.probe(path)["streams"]
    assert (stream["r_frame_rate"], stream["avg_frame_rate"], int(stream["nb_frames"])) == (
        "30/1",
        "30/1",
        70,
    )
    assert stream["has_b_frames"] == 0
    with av.open(str(path)) as container:
        keys = [packet.is_keyframe for packet in container.demux(video=0) if packet.size]
    assert keys[0] and not any(keys[1:]), "one GOP: the segment's first frame is its only keyframe"


def test_frame_numbers_are_rewritten_in_place_and_wrap() -> None:
    packets, _ = encoder._encode_distinct(iter(RUNS[:2]), SMALL, float("inf"))
    first = h264.split_nals(packets[0])
    sps = h264.parse_sps(next(u for u in first if h264.nal_type(u) == h264.NAL_SPS))
    assert sps.poc_type == 2 and sps.max_ref_frames == 1
    [slice_unit] = [u for u in h264.split_nals(packets[1]) if h264.nal_type(u) == h264.NAL_SLICE]
    limit = 1 << sps.log2_max_frame_num
    for value in (0, 5, limit - 1, limit + 3):
        rewritten = h264.with_frame_num(slice_unit, sps, value)
        assert h264.frame_num(rewritten, sps) == value % limit
        assert len(h264.to_rbsp(rewritten)) == len(h264.to_rbsp(slice_unit)), "nothing after the field moves"


def test_emulation_prevention_round_trips() -> None:
    for rbsp in (
        b"\x65\x00\x00\x00\x00",
        b"\x65\x00\x00\x01\x00\x00",
        b"\x65\x00\x00\x03\x00\x00\x02",
        b"\x41\x00\x00",
    ):
        escaped = h264.from_rbsp(rbsp)
        assert b"\x00\x00\x00" not in escaped and b"\x00\x00\x01" not in escaped
        assert h264.to_rbsp(escaped) == rbsp


def _ssim(a: Path, b: Path) -> float:
    command = [
        "ffmpeg",
        "-hide_banner",
        "-nostats",
        "-i",
        str(a),
        "-i",
        str(b),
        "-lavfi",
        "ssim",
        "-f",
        "null",
        "-",
    ]
    report = subprocess.run(command, capture_output=True, text=True, check=True, timeout=60).stderr
    return float(re.findall(r"All:([\d.]+)", report)[-1])


@pytest.mark.video
@pytest.mark.slow
def test_sample_scenes_match_the_command_line_encode_of_every_frame(bill: Template, tmp_path: Path) -> None:
    """SSIM >= 0.98 at every scene's midpoint against x264 fed every frame by the ffmpeg program
    (how segments were encoded before they were encoded in process)."""
    settings = replace(encode_settings(bill, VideoOptions(FakeTTS())), threads=1)
    opener, storage = asset_opener(bill), MemoryStorage()
    spec = resolve(bill, bill.validator.validate(bill.samples["en-US"]))
    scenes = resolve_scenes(bill, spec, lambda ref: "d")
    narrations = synthesize_narrations(scenes, opener, VideoOptions(FakeTTS()), storage)
    for timed in time_scenes(scenes, {k: n.seconds for k, n in narrations.items()}, settings.fps):
        frames = list(compose_frames(timed, settings, opener))
        ours, theirs = tmp_path / f"{timed.scene.id}-ours.mp4", tmp_path / f"{timed.scene.id}-cli.mp4"
        ours.write_bytes(encoder.encode_runs(_runs(iter(frames)), settings, timeout_s=60, what="test"))
        args = ffmpeg.segment_args(settings, theirs, timed.frames)
        ffmpeg.encode_frames(args, iter(frames), timeout_s=120, what="test")
        middle = timed.frames // 2
        stills = []
        for source in (ours, theirs):
            still = tmp_path / f"{source.stem}-mid.png"
            pick = ["-vf", f"select=eq(n\\,{middle})", "-frames:v", "1", str(still)]
            subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", str(source), *pick], check=True, timeout=60)
            stills.append(still)
        assert _ssim(*stills) >= 0.98, timed.scene.id
