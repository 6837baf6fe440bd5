"""The ``shape`` layer: a filled rectangle with optional rounded corners."""

from __future__ import annotations

from typing import Literal

from PIL import Image, ImageDraw
from pydantic import Field

from renderer.outputs.video.layers.base import AssetOpener, LayerBase, LayerKind, ResolvedLayer, box_size
from renderer.template.models import HEX_COLOUR


class ShapeLayer(LayerBase):
    """A rectangle with optional rounded corners."""

    type: Literal["shape"]
    colour: str = Field(pattern=HEX_COLOUR)
    radius: int = Field(default=0, ge=0)


class ShapeKind(LayerKind):
    """A rectangle filling the box; nothing in it is Jinja."""

    type = "shape"
    model = ShapeLayer

    def draw(self, layer: ResolvedLayer, assets: AssetOpener) -> Image.Image:
        """The filled rectangle."""
        spec = layer.spec
        assert isinstance(spec, ShapeLayer)
        image = Image.new("RGBA", box_size(spec), (0, 0, 0, 0))
        ImageDraw.Draw(image).rounded_rectangle(
            (0, 0, spec.box.w - 1, spec.box.h - 1), radius=spec.radius, fill=spec.colour
        )
        return image
