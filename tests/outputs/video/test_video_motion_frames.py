"""The bill-summary's growing usage chart and counting amount, checked in composed and decoded
frames: bars measured in the frame rise monotonically to their height, the amount shows other
numbers on the way at the final text's size, and once an animation is over every frame is the
frame of a layer without one (the same bytes, the same reused object)."""

from __future__ import annotations

import io
import unicodedata
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image

from renderer.outputs.template import Template
from renderer.outputs.video import segments
from renderer.outputs.video.countup import SEPARATORS
from renderer.outputs.video.ffmpeg import EncodeSettings
from renderer.outputs.video.layers import draw_layer, layer_kind
from renderer.outputs.video.layers.chart import ChartKind
from renderer.outputs.video.layers.motion import layer_state
from renderer.outputs.video.plan import PlannedVideo, VideoOptions, plan_video
from renderer.outputs.video.scenes import TimedScene
from renderer.outputs.video.tts import open_tts
from renderer.storage import MemoryStorage
from renderer.template.resolve import resolve

FPS = 30
ANIMATION_FRAMES = 30  # both animations last 1.0 s in the template


def _planned(bill: Template, locale: str = "en-US", draft: bool = False) -> PlannedVideo:
    spec = resolve(bill, bill.validator.validate(bill.samples[locale]))
    return plan_video(bill, spec, MemoryStorage(), VideoOptions(open_tts("fake"), draft=draft), frozenset())


def _scene(planned: PlannedVideo, scene_id: str) -> TimedScene:
    return next(timed for timed in planned.timed if timed.scene.id == scene_id)


def _frames(
    planned: PlannedVideo, timed: TimedScene, indexes: Sequence[int] | None = None
) -> list[np.ndarray]:
    size = (planned.settings.height, planned.settings.width, 3)
    raw = segments.compose_frames(timed, planned.settings, planned.open_asset, indexes=indexes)
    return [np.frombuffer(frame, np.uint8).reshape(size) for frame in raw]


def _bar_heights(frame: np.ndarray, timed: TimedScene, scale: float = 1.0) -> list[int]:
    """Each bar's height in pixels, measured up its middle column from the baseline: the run of
    pixels of the bar's own colour (read at the baseline of the finished chart)."""
    layer = timed.scene.layers[1]
    geometry = ChartKind()._geometry(layer)
    box = layer.spec.box
    bottom = round((box.y + geometry.plot_bottom) * scale) - 2
    heights = []
    for mark in geometry.marks:
        column = frame[: bottom + 1, round((box.x + mark.cx) * scale)].astype(int)
        colour = np.array([11, 61, 145]) if mark.highlight else np.array([176, 190, 218])
        close = np.abs(column - colour).sum(axis=1) <= 24
        height = 0
        while height <= bottom and close[bottom - height]:
            height += 1
        heights.append(height)
    return heights


def test_the_usage_bars_grow_from_the_baseline(bill: Template) -> None:
    planned = _planned(bill)
    usage = _scene(planned, "usage")
    indexes = [0, 2, 5, 8, 12, 16, 20, 25, ANIMATION_FRAMES, usage.frames - 1]
    frames = _frames(planned, usage, indexes)
    heights = [_bar_heights(frame, usage) for frame in frames]
    final = heights[-1]
    assert all(h > 100 for h in final), "every month has a bar"
    assert heights[0] == [0] * len(final), "nothing above the baseline at the start"
    for bar in range(len(final)):
        column = [h[bar] for h in heights]
        assert column == sorted(column), f"bar {bar} only grows"
    middle = heights[indexes.index(8)]
    assert all(0.3 * f < m < 0.95 * f for m, f in zip(middle, final, strict=True)), "part-way at 0.27 s"
    assert (frames[-2] == frames[-1]).all(), "done after 1 s"
    axis = usage.scene.layers[1].spec.box
    left = (slice(axis.y, axis.y + axis.h), slice(axis.x, axis.x + 40))
    assert (frames[0][left] == frames[-1][left]).all(), "the axis values are there from the start"


def test_the_amount_counts_up_at_the_final_size(bill: Template) -> None:
    planned = _planned(bill)
    amount = _scene(planned, "amount")
    box = amount.scene.layers[1].spec.box
    region = (slice(box.y, box.y + box.h), slice(box.x, box.x + box.w))
    frames = _frames(planned, amount, [0, 10, 15, ANIMATION_FRAMES, amount.frames - 1])
    crops = [frame[region] for frame in frames]
    background = crops[-1][0, 0]
    assert (frames[-2] == frames[-1]).all(), "the final amount after 1 s"
    assert not (crops[0] == crops[2]).all() and not (crops[2] == crops[-1]).all(), "other numbers on the way"
    ink = [np.nonzero((crop != background).any(axis=2)) for crop in crops]
    rows = [(ys.min(), ys.max()) for ys, _ in ink]
    assert len(set(rows)) == 1, "the same size all along: the digits stand as high"
    centres = [(xs.min() + xs.max()) / 2 for _, xs in ink]
    assert all(abs(c - box.w / 2) <= 3 for c in centres), "centred all along"
    widths = [xs.max() - xs.min() for _, xs in ink]
    assert widths[0] < min(widths[2], widths[-1]), "$0.00, then more digits"


def _skeleton(text: str) -> str:
    return "".join(c for c in text if not c.isdigit() and c not in SEPARATORS)


def _scripts(text: str) -> set[int]:
    return {ord(c) - unicodedata.decimal(c) for c in text if c.isdigit()}


@pytest.mark.parametrize(("locale", "zero"), [("de-DE", ord("0")), ("fa-IR", ord("۰"))])
def test_the_amount_counts_in_the_recipients_format(bill: Template, locale: str, zero: int) -> None:
    amount = _scene(_planned(bill, locale), "amount")
    layer = amount.scene.layers[1]
    final = layer.content["text"]
    shown = []
    for index in (0, 15):
        progress = layer_state(layer, index / FPS, amount.duration).progress
        assert progress is not None
        shown.append(layer_kind(layer.spec).shown_at(layer, progress))
    assert all(isinstance(text, str) and text != final for text in shown)
    assert {_skeleton(str(text)) for text in shown} == {_skeleton(final)}, "currency and marks kept"
    assert all(_scripts(str(text)) == _scripts(final) == {zero} for text in shown)


def _reference(timed: TimedScene, planned: PlannedVideo) -> list[bytes]:
    """Every frame composed the slow way: each layer drawn afresh for each frame."""
    size = (planned.settings.width, planned.settings.height)
    frames = []
    for index in range(timed.frames):
        canvas = segments._background(timed, size, planned.open_asset)
        for layer in timed.scene.layers:
            state = layer_state(layer, index / timed.fps, timed.duration)
            if state.visible:
                box = layer.spec.box
                segments._place(canvas, draw_layer(layer, planned.open_asset), (box.x, box.y), state)
        frame = canvas.convert("RGB")
        fade = segments.fade_level(timed, index)
        if fade < 1.0:
            frame = Image.blend(Image.new("RGB", size, (0, 0, 0)), frame, fade)
        frames.append(frame.tobytes())
    return frames


def test_scenes_without_content_animations_compose_as_before(bill: Template) -> None:
    planned = _planned(bill)
    for scene_id in ("intro", "greeting"):  # fades, a slide, a scale, a fade transition
        timed = _scene(planned, scene_id)
        composed = list(segments.compose_frames(timed, planned.settings, planned.open_asset))
        assert composed == _reference(timed, planned), scene_id


def test_after_the_animation_frames_are_those_of_a_layer_without_one(bill: Template) -> None:
    planned = _planned(bill)
    for scene_id, position in (("usage", 1), ("amount", 1)):
        timed = _scene(planned, scene_id)
        layers = list(timed.scene.layers)
        layers[position] = replace(
            layers[position], spec=layers[position].spec.model_copy(update={"enter": None})
        )
        plain = replace(timed, scene=replace(timed.scene, layers=tuple(layers)))
        animated = list(segments.compose_frames(timed, planned.settings, planned.open_asset))
        still = list(segments.compose_frames(plain, planned.settings, planned.open_asset))
        assert animated[ANIMATION_FRAMES:] == still[ANIMATION_FRAMES:], scene_id
        assert animated[0] != still[0], scene_id
        held = animated[ANIMATION_FRAMES:]
        assert all(frame is held[-1] for frame in held), "a hold is one reused frame"
        assert len({id(f) for f in animated}) <= ANIMATION_FRAMES + len({id(f) for f in still})


def test_a_draft_grows_like_the_full_frame(bill: Template) -> None:
    full, draft = _planned(bill), _planned(bill, draft=True)
    index = 8
    [big] = _frames(full, _scene(full, "usage"), [index])
    [small] = _frames(draft, _scene(draft, "usage"), [index])
    halved = Image.fromarray(big).resize((small.shape[1], small.shape[0]), Image.Resampling.LANCZOS)
    assert np.abs(np.asarray(halved, np.int16) - small.astype(np.int16)).mean() < 1.5


def _decoded(segment: bytes) -> list[np.ndarray]:
    with av.open(io.BytesIO(segment)) as container:
        return [frame.to_ndarray(format="rgb24") for frame in container.decode(video=0)]


@pytest.mark.video
@pytest.mark.slow
def test_decoded_frames_grow_and_count(bill: Template, artifacts: Path) -> None:
    planned = _planned(bill, draft=True)  # half size: the same motion, a quicker encode
    settings: EncodeSettings = planned.settings
    usage, amount = _scene(planned, "usage"), _scene(planned, "amount")
    decoded = _decoded(segments.encode_segment(usage, settings, planned.open_asset, timeout_s=60))
    assert len(decoded) == usage.frames
    picked = [0, 4, 8, 16, ANIMATION_FRAMES, usage.frames - 1]
    heights = [sum(_bar_heights(decoded[i], usage, 0.5)) for i in picked]
    assert heights[0] < 0.05 * heights[-1] and heights == sorted(heights), heights
    assert heights[2] < 0.95 * heights[-1] and heights[-2] >= 0.97 * heights[-1], heights
    Image.fromarray(decoded[8]).save(artifacts / "video-usage-growing.png")
    counted = _decoded(segments.encode_segment(amount, settings, planned.open_asset, timeout_s=60))
    box = amount.scene.layers[1].spec.box
    region = (slice(box.y // 2, (box.y + box.h) // 2), slice(box.x // 2, (box.x + box.w) // 2))
    crops = [counted[i][region].astype(int) for i in (10, ANIMATION_FRAMES, amount.frames - 1)]
    counting, counted_out = (np.abs(crop - crops[-1]).mean() for crop in crops[:2])
    assert counting > 4 * counted_out and counting > 3, ("another number mid-way", counting, counted_out)
    Image.fromarray(counted[10]).save(artifacts / "video-amount-counting.png")
