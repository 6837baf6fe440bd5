"""Captions (renderer/outputs/video/captions.py), pure: cues timed from the narration, WebVTT, SRT."""

from __future__ import annotations

import pytest

from renderer.outputs.template import Template
from renderer.outputs.video.audio import Narration
from renderer.outputs.video.captions import Cue, caption_cues, srt, webvtt
from renderer.outputs.video.scenes import resolve_scenes, time_scenes
from renderer.template.resolve import resolve


def test_captions(bill: Template) -> None:
    spec = resolve(bill, bill.validator.validate(bill.samples["en-US"]))
    scenes = resolve_scenes(bill, spec, lambda ref: "digest")
    assert [s.id for s in scenes] == ["intro", "greeting", "amount", "usage", "tips-plus", "outro"]
    narrations = {s.id: Narration(s.id, "k", 2.0, s.narration_text or "") for s in scenes if s.narration_text}
    timed = time_scenes(scenes, {k: n.seconds for k, n in narrations.items()}, 30)
    cues = caption_cues(timed, narrations)
    amount = [c for c in cues if "$137.88" in c.text]
    assert amount and amount[0].start == pytest.approx(timed[2].start, abs=0.001)
    assert webvtt([Cue(1.5, 3.25, "Hi --> there")]).splitlines()[2:4] == [
        "00:00:01.500 --> 00:00:03.250",
        "Hi -> there",
    ]
    assert srt([Cue(61.0, 62.0, "x")]).splitlines()[:2] == ["1", "00:01:01,000 --> 00:01:02,000"]
