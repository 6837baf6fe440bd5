"""A draft frame is the full-size frame drawn at half size: the layers laid out at the template's
size and scaled down with the canvas, and the draft's segments keyed apart from full-size ones."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
from PIL import Image

from renderer.outputs.template import Template
from renderer.outputs.video import segments
from renderer.outputs.video.ffmpeg import EncodeSettings
from renderer.outputs.video.plan import VideoOptions, plan_video
from renderer.outputs.video.scenes import ResolvedScene, TimedScene
from renderer.outputs.video.spec import Background
from renderer.outputs.video.tts import open_tts
from renderer.storage import MemoryStorage
from renderer.template.resolve import resolve


def _frames(bill: Template, draft: bool) -> tuple[list[np.ndarray], list[str]]:
    spec = resolve(bill, bill.validator.validate(bill.samples["en-US"]))
    options = VideoOptions(open_tts("fake"), draft=draft)
    planned = plan_video(bill, spec, MemoryStorage(), options, frozenset())
    size = (planned.settings.width, planned.settings.height)
    frames = []
    for timed in planned.timed:
        raw = next(
            segments.compose_frames(timed, planned.settings, planned.open_asset, indexes=[timed.frames - 1])
        )
        frames.append(np.asarray(Image.frombytes("RGB", size, raw), dtype=np.int16))
    return frames, planned.keys


def test_a_draft_frame_is_the_full_frame_at_half_size(bill: Template) -> None:
    full, full_keys = _frames(bill, draft=False)
    draft, draft_keys = _frames(bill, draft=True)
    for big, small in zip(full, draft, strict=True):
        assert small.shape == (big.shape[0] // 2, big.shape[1] // 2, 3)
        halved = Image.fromarray(big.astype(np.uint8)).resize(small.shape[1::-1], Image.Resampling.LANCZOS)
        difference = np.abs(np.asarray(halved, dtype=np.int16) - small)
        assert difference.mean() < 1.5, "every layer in its place, at its size"
    assert not set(full_keys) & set(draft_keys)


def test_a_segment_drawn_from_a_design_size_keys_it() -> None:
    scene = ResolvedScene("s", 1.0, Background(), None, (), None, None, "none", "en")
    timed = TimedScene(scene, 0.0, 30, 30)
    plain = EncodeSettings(640, 360, 30)
    assert segments.segment_key(timed, plain) == segments.segment_key(
        timed, replace(plain, design=(640, 360))
    )
    assert segments.segment_key(timed, plain) != segments.segment_key(
        timed, replace(plain, design=(1280, 720))
    )
    assert replace(plain, design=(1280, 720)).key() == plain.key(), "the init segment is shared"
