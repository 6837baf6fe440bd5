"""Captions from the narration text and its timing: cues per sentence, as WebVTT and SRT."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from renderer.outputs.video.audio import Narration
from renderer.outputs.video.scenes import TimedScene

_SENTENCE = re.compile(r"(?<=[.!?؟。])\s+")


@dataclass(frozen=True)
class Cue:
    """One cue: start and end in seconds, its text, and an optional WebVTT identifier."""

    start: float
    end: float
    text: str
    id: str = ""


def caption_cues(timed: list[TimedScene], narrations: Mapping[str, Narration]) -> list[Cue]:
    """Cues per sentence of each narration, timed in proportion to their length within the speech."""
    cues = []
    for scene in timed:
        narration = narrations.get(scene.scene.id)
        if narration is None or not narration.text:
            continue
        sentences = [s for s in _SENTENCE.split(narration.text) if s.strip()]
        total_chars = sum(len(s) for s in sentences) or 1
        start = scene.start
        for sentence in sentences:
            length = narration.seconds * len(sentence) / total_chars
            cues.append(Cue(round(start, 3), round(start + length, 3), sentence.strip()))
            start += length
    return cues


def chapter_cues(timed: list[TimedScene], chapters: Sequence[tuple[str, str]], total: float) -> list[Cue]:
    """One cue per chapter (scene id, title) whose scene this recipient's video has, from that
    scene's first frame to the next such chapter's (the last one to the end): a WebVTT chapters
    track. Chapters of scenes skipped for the recipient are left out."""
    starts = {scene.scene.id: scene.start for scene in timed}
    present = sorted((starts[scene], title, scene) for scene, title in chapters if scene in starts)
    ends = [start for start, _, _ in present[1:]] + [total]
    return [
        Cue(round(start, 3), round(end, 3), title, scene)
        for (start, title, scene), end in zip(present, ends, strict=True)
    ]


def scene_cues(timed: list[TimedScene], total: float) -> list[Cue]:
    """One metadata cue per scene of the recipient's video, from its first frame to the next
    scene's (the last to the end), identified and labelled by the scene id: the page's player
    reads it to show calls to action during their scenes and to name the scene of each event."""
    ends = [scene.start for scene in timed[1:]] + [total]
    return [
        Cue(round(scene.start, 3), round(end, 3), scene.scene.id, scene.scene.id)
        for scene, end in zip(timed, ends, strict=True)
    ]


def _stamp(seconds: float, separator: str) -> str:
    millis = round(seconds * 1000)
    hours, millis = divmod(millis, 3_600_000)
    minutes, millis = divmod(millis, 60_000)
    secs, millis = divmod(millis, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}{separator}{millis:03d}"


def webvtt(cues: list[Cue]) -> str:
    """Cues as WebVTT: the header, then each cue's identifier (when it has one), its
    ``HH:MM:SS.mmm`` times and its text, with ``-->`` in the text made harmless."""
    blocks = ["WEBVTT", ""]
    for cue in cues:
        text = cue.text.replace("-->", "->")
        blocks += [cue.id] if cue.id else []
        blocks += [f"{_stamp(cue.start, '.')} --> {_stamp(cue.end, '.')}", text, ""]
    return "\n".join(blocks)


def srt(cues: list[Cue]) -> str:
    """Captions as SRT: numbered cues from 1 with ``HH:MM:SS,mmm`` times, ``-->`` in the text
    made harmless."""
    blocks = []
    for number, cue in enumerate(cues, start=1):
        text = cue.text.replace("-->", "->")
        blocks += [str(number), f"{_stamp(cue.start, ',')} --> {_stamp(cue.end, ',')}", text, ""]
    return "\n".join(blocks)
