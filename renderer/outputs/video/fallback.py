"""Pure: the load-time checks of the scenes' `fallback` (the same scene with non-personal copy).

A fallback stands in for a personal scene's segment on play when that segment cannot be ready in
time, so it must be shareable: `fallback_problems` finds a fallback on a scene that is not
personal (it would never be used), a fallback layer that reads the recipient id or a personal
field (directly or through computed values and ``t()`` snippets, by the analysis of
`renderer.outputs.video.personal`), and a fallback background that brings a video into a still
scene (a fallback must encode at least as quickly as the scene it stands in for). `check_fallbacks`
raises the first as a TemplateError naming ``template.yaml`` and the line. Resolving a fallback for
a recipient is `renderer.outputs.video.scenes.resolve_fallback`.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from renderer.errors import TemplateError
from renderer.outputs.template import Template
from renderer.outputs.video.personal import fallback_leaks, personal_scenes
from renderer.outputs.video.spec import VideoOutput
from renderer.template.models import Manifest

__all__ = ["check_fallbacks", "fallback_problems"]


def fallback_problems(manifest: Manifest[Any], section: VideoOutput) -> Iterator[tuple[str, str]]:
    """(line key, problem) of every fallback problem, in scene order: the key is
    ``scene.<id>.fallback``, ``scene.<id>.fallback.layers.<n>`` or ``scene.<id>.fallback.background``;
    a problem names fields, never a value."""
    personal = personal_scenes(manifest)
    leaks: dict[str, list[tuple[int, frozenset[str]]]] = {}
    for scene_id, index, fields in fallback_leaks(manifest):
        leaks.setdefault(scene_id, []).append((index, fields))
    for scene in section.scenes:
        if scene.fallback is None:
            continue
        key = f"scene.{scene.id}.fallback"
        if scene.id not in personal:
            yield key, "the scene reads no personal field, so its fallback would never be used: remove it"
        for index, fields in leaks.get(scene.id, []):
            names = ", ".join(sorted(fields))
            yield (
                f"{key}.layers.{index}",
                f"reads the personal field {names}: a fallback is shared by every recipient "
                "who shares its language and data, and must read no personal field",
            )
        background = scene.fallback.background
        if background is not None and background.video and not scene.background.video:
            yield (
                f"{key}.background",
                "a fallback's background may be a video only where the scene's own is one: "
                "a fallback must encode as quickly as the scene it stands in for",
            )


def check_fallbacks(template: Template, section: VideoOutput) -> None:
    """Nothing wrong with any scene's fallback; otherwise TemplateError naming ``template.yaml``
    and the line of the first problem (`fallback_problems`), its message starting with the key."""
    for key, problem in fallback_problems(template.manifest, section):
        raise TemplateError(f"{key}: {problem}", file=template.manifest_path, line=template.lines.get(key))
