"""The scene timeline the studio shows beside a draft video, and a readable still of each scene.

`plan_draft(template, spec, storage, options)` plans the recipient's video as the video output
would for `options` (nothing encoded) and says which segments storage holds already;
`scene_timeline(planned, personal, cached)` turns that plan into rows (pure);
`scene_stills(planned)` composes each scene's first settled frame with the real composer.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any, Literal

from PIL import Image

from renderer.outputs.kind import RenderOptions
from renderer.outputs.render import prepared_output
from renderer.outputs.template import Template
from renderer.outputs.video import segments
from renderer.outputs.video.captions import caption_cues
from renderer.outputs.video.kind import VIDEO, renders_on_play, video_options
from renderer.outputs.video.layers.base import ResolvedLayer
from renderer.outputs.video.plan import PlannedVideo, plan_video
from renderer.outputs.video.scenes import TimedScene
from renderer.storage.base import Storage
from renderer.template.resolve import ResolvedSpec


@dataclass(frozen=True)
class SceneRow:
    """One scene of the recipient's video as the timeline shows it."""

    index: int
    id: str
    start: float  # seconds
    duration: float  # seconds (whole frames)
    personal: bool  # in personal_scenes(template.manifest)
    cached: bool  # its segment was in storage before this render
    key: str  # segment cache key
    narration: str | None  # the resolved narration text
    captions: list[dict[str, Any]]  # {"start", "end", "text"} of the scene's caption cues

    def to_json(self) -> dict[str, Any]:
        """The row as JSON-able data, field names as keys (captions copied)."""
        return {
            "index": self.index,
            "id": self.id,
            "start": self.start,
            "duration": self.duration,
            "personal": self.personal,
            "cached": self.cached,
            "key": self.key,
            "narration": self.narration,
            "captions": [dict(cue) for cue in self.captions],
        }


def scene_timeline(planned: PlannedVideo, personal: frozenset[str], cached: set[str]) -> list[SceneRow]:
    """One row per scene of `planned`, in order: its start and length in seconds (whole frames,
    so the lengths sum to `planned.seconds`), whether it is personal (its id in `personal`) and
    cached (its segment key in `cached`), its narration text and the caption cues of its
    narration, timed on the whole video's clock as the captions track has them. Pure."""
    narrations = dict(planned.narrations)
    rows = []
    for index, (timed, key) in enumerate(zip(planned.timed, planned.keys, strict=True)):
        cues = caption_cues([timed], narrations)
        rows.append(
            SceneRow(
                index=index,
                id=timed.scene.id,
                start=round(timed.start, 3),
                duration=timed.duration,
                personal=timed.scene.id in personal,
                cached=key in cached,
                key=key,
                narration=timed.scene.narration_text,
                captions=[{"start": c.start, "end": c.end, "text": c.text} for c in cues],
            )
        )
    return rows


def plan_draft(
    template: Template, spec: ResolvedSpec, storage: Storage, options: RenderOptions
) -> tuple[PlannedVideo, set[str]]:
    """The recipient's video planned exactly as the video output plans it for `options` (the same
    `VideoOptions`, personal scenes and mode; narrations are spoken and cached, nothing is
    encoded), and the segment keys of the plan that `storage` holds already."""
    prepared = prepared_output(template, VIDEO)
    mode: Literal["eager", "on-play"] = "on-play" if renders_on_play(options) else "eager"
    planned = plan_video(template, spec, storage, video_options(options), prepared.personal_scenes, mode)
    return planned, {key for key in planned.keys if storage.exists(key)}


def _entered(layer: ResolvedLayer, t: float) -> bool:
    """Whether the layer's enter animation is over at `t` (as `layer_state` times it)."""
    enter = layer.spec.enter
    return enter is None or enter.kind == "none" or not t < layer.spec.start + enter.duration


def settled_frame(timed: TimedScene) -> int:
    """The scene's first frame where every layer starting at 0 has finished entering and the
    fade-in is over; the last frame when no frame is."""
    first = [layer for layer in timed.scene.layers if layer.spec.start == 0]
    for index in range(timed.frames):
        t = index / timed.fps
        if segments.fade_level(timed, index) == 1.0 and all(_entered(layer, t) for layer in first):
            return index
    return timed.frames - 1


def scene_still(planned: PlannedVideo, index: int, size: tuple[int, int] | None = None) -> bytes:
    """The PNG of scene `index`'s `settled_frame`, composed by the segment composer at the plan's
    size, or scaled to `size` (Lanczos)."""
    settings = planned.settings
    timed = planned.timed[index]
    raw = next(segments.compose_frames(timed, settings, planned.open_asset, indexes=[settled_frame(timed)]))
    image = Image.frombytes("RGB", (settings.width, settings.height), raw)
    if size is not None and image.size != size:
        image = image.resize(size, Image.Resampling.LANCZOS)
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def scene_stills(planned: PlannedVideo, *, width: int | None = None) -> list[tuple[str, bytes]]:
    """(scene id, PNG) of every scene in order (`scene_still`), at the plan's size or scaled to
    `width` pixels wide (aspect kept)."""
    settings = planned.settings
    size = None
    if width is not None:
        size = (width, max(1, round(settings.height * width / settings.width)))
    return [(timed.scene.id, scene_still(planned, index, size)) for index, timed in enumerate(planned.timed)]
