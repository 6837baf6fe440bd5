"""The studio's scene timeline and stills of bill-summary's de-DE sample: rows that match the
template's scenes, the cache seen before and after a draft render, and readable, personal stills."""

from __future__ import annotations

import io
import itertools
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from renderer.outputs.decided import default_inputs, resolve_decided
from renderer.outputs.kind import RenderOptions
from renderer.outputs.render import render_recipient
from renderer.outputs.template import Template
from renderer.outputs.video import segments
from renderer.outputs.video.layers.motion import layer_state
from renderer.outputs.video.personal import personal_scenes
from renderer.outputs.video.plan import PlannedVideo
from renderer.preview.scenes import plan_draft, scene_stills, scene_timeline, settled_frame
from renderer.storage import MemoryStorage

DRAFT = RenderOptions(tts_engine="fake", draft=True)


def _plan(bill: Template, raw: dict[str, Any], storage: MemoryStorage) -> tuple[PlannedVideo, set[str]]:
    spec, _ = resolve_decided(bill, bill.validator.validate(raw), default_inputs("preview"))
    return plan_draft(bill, spec, storage, DRAFT)


def _image(png: bytes) -> np.ndarray:
    with Image.open(io.BytesIO(png)) as image:
        assert image.format == "PNG"
        return np.asarray(image.convert("RGB"), dtype=np.int16)


def test_the_timeline_matches_the_template_scenes(bill: Template) -> None:
    raw = bill.samples["de-DE"]
    planned, cached = _plan(bill, raw, MemoryStorage())
    personal = personal_scenes(bill.manifest)
    rows = scene_timeline(planned, personal, cached)
    video = bill.manifest.outputs.video
    assert video is not None
    declared = {scene.id: scene for scene in video.scenes}
    expected = ["intro", "greeting", "amount", "usage", f"tips-{raw['plan']}", "outro"]
    assert [row.id for row in rows] == expected
    assert [row.index for row in rows] == list(range(len(rows)))
    assert sum(row.duration for row in rows) == pytest.approx(planned.seconds)
    assert rows[0].start == 0.0
    for row, after in itertools.pairwise(rows):
        assert after.start == pytest.approx(row.start + row.duration, abs=1e-3)
    assert [row.personal for row in rows] == [row.id in personal for row in rows]
    assert {row.id for row in rows if row.personal} >= {"greeting", "amount"}
    for row in rows:
        assert (row.narration is not None) == (declared[row.id].narration is not None)
        if row.narration is not None:
            assert row.narration.strip()
            assert row.captions and " ".join(cue["text"] for cue in row.captions) == row.narration
            assert row.start <= row.captions[0]["start"] < row.captions[-1]["end"] <= row.start + row.duration
        else:
            assert row.captions == []
    assert rows[1].narration is not None and raw["first_name"] in rows[1].narration
    assert not any(row.cached for row in rows), "nothing is cached on a first plan"
    assert rows[2].to_json()["captions"] == rows[2].captions
    assert set(rows[2].to_json()) == {
        "index", "id", "start", "duration", "personal", "cached", "key", "narration", "captions",
    }  # fmt: skip


@pytest.mark.video
@pytest.mark.slow
def test_a_draft_render_fills_the_cache_and_a_new_name_misses_only_its_scenes(bill: Template) -> None:
    storage = MemoryStorage()
    raw = bill.samples["de-DE"]
    render_recipient(bill, bill.validator.validate(raw), ["video"], storage, "preview", DRAFT)
    personal = personal_scenes(bill.manifest)
    planned, cached = _plan(bill, raw, storage)
    assert all(row.cached for row in scene_timeline(planned, personal, cached))
    renamed, cached = _plan(bill, {**raw, "first_name": "Annegret"}, storage)
    rows = scene_timeline(renamed, personal, cached)
    missed = [row.id for row in rows if not row.cached]
    assert missed == ["greeting"], "only the scene that shows the first name is new"
    assert all(row.personal for row in rows if not row.cached)
    assert any(row.cached and not row.personal for row in rows), "the shared scenes are cached"


def test_each_still_is_its_scene_settled_at_the_draft_size(bill: Template, artifacts: Path) -> None:
    planned, _ = _plan(bill, bill.samples["de-DE"], MemoryStorage())
    video = bill.manifest.outputs.video
    assert video is not None
    stills = scene_stills(planned)
    assert [scene_id for scene_id, _ in stills] == [t.scene.id for t in planned.timed]
    for (scene_id, png), timed in zip(stills, planned.timed, strict=True):
        pixels = _image(png)
        assert pixels.shape == (video.size[1] // 2, video.size[0] // 2, 3)
        assert pixels.std() > 5, f"scene {scene_id} shows more than its background"
        (artifacts / f"preview-still-{scene_id}.png").write_bytes(png)
        frame = settled_frame(timed)
        t = frame / timed.fps
        assert segments.fade_level(timed, frame) == 1.0
        for layer in timed.scene.layers:
            if layer.spec.start == 0:
                state = layer_state(layer, t, timed.duration)
                assert state.visible and state.scale == 1.0 and (state.dx, state.dy) == (0, 0)
                assert state.progress is None, "grown and counted all the way"
                assert state.opacity == pytest.approx(layer.spec.opacity)
    intro = planned.timed[0]
    assert settled_frame(intro) == round(0.6 * intro.fps), "the logo's 0.6 s fade (and the fade-in) done"
    assert settled_frame(planned.timed[3]) == round(1.0 * intro.fps), "the chart's 1 s grow done"
    wide = scene_stills(planned, width=300)
    assert {_image(png).shape for _, png in wide} == {(round(300 * 9 / 16), 300, 3)}


def test_the_greeting_still_differs_only_where_the_name_is(bill: Template) -> None:
    raw = bill.samples["de-DE"]
    storage = MemoryStorage()
    first, _ = _plan(bill, raw, storage)
    second, _ = _plan(bill, {**raw, "first_name": "Annegret"}, storage)
    index = [t.scene.id for t in first.timed].index("greeting")
    a, b = (_image(scene_stills(p)[index][1]) for p in (first, second))
    video = bill.manifest.outputs.video
    assert video is not None
    text = next(layer.spec.box for layer in first.timed[index].scene.layers if layer.spec.type == "text")
    fx, fy = a.shape[1] / video.size[0], a.shape[0] / video.size[1]
    region = np.zeros(a.shape[:2], bool)
    region[int(text.y * fy) - 2 : int((text.y + text.h) * fy) + 2, int(text.x * fx) - 2 : int((text.x + text.w) * fx) + 2] = True  # fmt: skip
    changed = np.abs(a - b).sum(axis=2) > 0
    assert changed[region].mean() > 0.01, "the first name is drawn in the text box"
    assert not changed[~region].any(), "nothing outside the greeting's text box changes"
