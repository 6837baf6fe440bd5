"""Captions (renderer/outputs/video/captions.py), pure: cues timed from the narration, WebVTT, SRT."""

from __future__ import annotations

import pytest

from renderer.outputs.template import Template
from renderer.outputs.video.audio import Narration
from renderer.outputs.video.captions import Cue, caption_cues, chapter_cues, scene_cues, srt, webvtt
from renderer.outputs.video.scenes import ResolvedScene, TimedScene, resolve_scenes, time_scenes
from renderer.outputs.video.spec import Background
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


def test_chapter_cues_cover_the_chapters_the_video_has() -> None:
    def scene(scene_id: str, start: float, frames: int) -> TimedScene:
        resolved = ResolvedScene(scene_id, None, Background(), None, (), None, None, "none", "en_US")
        return TimedScene(resolved, start, frames, 10)

    timed = [
        scene("intro", 0.0, 20),
        scene("amount", 2.0, 35),
        scene("tips-plus", 5.5, 40),
        scene("outro", 9.5, 30),
    ]
    chapters = [("amount", "Amount"), ("tips-basic", "Tips"), ("tips-plus", "Tips"), ("outro", "Paying")]
    cues = chapter_cues(timed, chapters, 12.5)
    assert [(cue.start, cue.end, cue.text, cue.id) for cue in cues] == [
        (2.0, 5.5, "Amount", "amount"),
        (5.5, 9.5, "Tips", "tips-plus"),
        (9.5, 12.5, "Paying", "outro"),
    ]
    assert [(cue.start, cue.end, cue.text, cue.id) for cue in scene_cues(timed, 12.5)] == [
        (0.0, 2.0, "intro", "intro"),
        (2.0, 5.5, "amount", "amount"),
        (5.5, 9.5, "tips-plus", "tips-plus"),
        (9.5, 12.5, "outro", "outro"),
    ]
    assert webvtt(cues[:1]).splitlines() == [
        "WEBVTT",
        "",
        "amount",
        "00:00:02.000 --> 00:00:05.500",
        "Amount",
    ]
