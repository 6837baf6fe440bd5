"""The ``text`` layer: Jinja text auto-fitted into its box (wrap, then shrink, never overflow)."""

from __future__ import annotations

from typing import ClassVar, Literal

from PIL import Image
from pydantic import Field

from renderer.outputs.video.layers.base import (
    AssetOpener,
    JinjaRole,
    LayerBase,
    LayerKind,
    ResolvedLayer,
    box_size,
)
from renderer.outputs.video.text import draw_text, fit_text
from renderer.template.models import HEX_COLOUR


class TextLayer(LayerBase):
    """Jinja text auto-fitted into its box."""

    type: Literal["text"]
    text: str
    font: str = "Noto Sans"
    size: int = Field(default=48, ge=4, le=400)
    min_size: int = Field(default=16, ge=4, le=400)
    weight: Literal["regular", "bold"] = "regular"
    colour: str = Field(default="#ffffff", pattern=HEX_COLOUR)
    align: Literal["start", "center", "end"] = "start"


class TextKind(LayerKind):
    """Text shaped for its script (RTL and complex scripts included) and fitted to the box."""

    type = "text"
    model = TextLayer
    jinja_fields: ClassVar[dict[str, JinjaRole]] = {"text": "text"}

    def draw(self, layer: ResolvedLayer, assets: AssetOpener) -> Image.Image:
        """The fitted text on a transparent sprite the size of the box."""
        spec = layer.spec
        assert isinstance(spec, TextLayer)
        fitted = fit_text(
            layer.content["text"],
            box_size(spec),
            family=spec.font,
            bold=spec.weight == "bold",
            max_size=spec.size,
            min_size=spec.min_size,
        )
        return draw_text(fitted, box_size(spec), spec.colour, spec.align)
