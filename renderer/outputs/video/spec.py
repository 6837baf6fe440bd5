"""The video section of ``template.yaml``: frame size, rate, music bed and scenes (each with an
optional non-personal `fallback`).

Parsed and validated with the rest of the manifest (`renderer.outputs.registry.Outputs`);
each scene's layers are whatever the layer registry (`renderer.outputs.video.layers`) offers.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator, model_validator

from renderer.outputs.video.layers import Layer
from renderer.template.models import HEX_COLOUR, SLUG, Strict


class Background(Strict):
    """A scene background: a colour, an image, or a video clip from the template's assets."""

    colour: str = Field(default="#000000", pattern=HEX_COLOUR)
    image: str | None = None
    video: str | None = None
    trim: tuple[float, float] | None = None
    loop: bool = False

    @model_validator(mode="after")
    def _one_media(self) -> Background:
        if self.image and self.video:
            raise ValueError("a background has an image or a video, not both")
        return self


class Narration(Strict):
    """Spoken text (TTS) or a recorded clip chosen by data, with TTS as the fallback."""

    text: str
    clip: str | None = None


class SceneFallback(Strict):
    """A personal scene's stand-in: the same scene with non-personal copy, served on play when
    the personal segment cannot be ready in time.

    It has no narration and no duration of its own: it is always timed to the recipient's scene
    (the same frame count), and the recipient's audio keeps playing under it. Its layers may read
    no personal field (checked at load); `background` None keeps the scene's own.
    """

    layers: list[Layer] = Field(min_length=1)
    background: Background | None = None


class Scene(Strict):
    """One scene: the unit of rendering and caching of a video."""

    id: str = Field(pattern=SLUG)
    duration: float | Literal["auto"] = Field(default=5.0)
    when: str | None = None
    background: Background = Background()
    layers: list[Layer] = Field(default_factory=list)
    narration: Narration | None = None
    transition: Literal["none", "fade"] = "none"
    fallback: SceneFallback | None = None

    @field_validator("duration")
    @classmethod
    def _positive(cls, value: float | str) -> float | str:
        if isinstance(value, float | int) and not 0 < value <= 600:
            raise ValueError("duration must be between 0 and 600 seconds, or 'auto'")
        return value


class VideoOutput(Strict):
    """The video spec: frame size, rate, music bed and scenes."""

    size: tuple[int, int] = (1280, 720)
    fps: int = Field(default=30, ge=1, le=60)
    music: str | None = None
    poster_at: float = Field(default=1.0, ge=0, description="Seconds into the video for the poster")
    thumbnail_at: float = Field(default=0.0, ge=0, description="Start of the ~3 s animated thumbnail")
    scenes: list[Scene] = Field(min_length=1)

    @field_validator("size")
    @classmethod
    def _even_size(cls, value: tuple[int, int]) -> tuple[int, int]:
        w, h = value
        if not (16 <= w <= 3840 and 16 <= h <= 2160) or w % 2 or h % 2:
            raise ValueError("size must be even numbers within 16x16 .. 3840x2160")
        return value

    @model_validator(mode="after")
    def _unique_scene_ids(self) -> VideoOutput:
        ids = [scene.id for scene in self.scenes]
        duplicates = sorted({i for i in ids if ids.count(i) > 1})
        if duplicates:
            raise ValueError(f"scene ids must be unique; repeated: {', '.join(duplicates)}")
        return self
