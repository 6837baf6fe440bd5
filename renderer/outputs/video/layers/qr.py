"""The ``qr`` layer: a QR code of Jinja-rendered text (a pay link), drawn module-exact with segno.

The code is scaled by a whole number of pixels per module (nearest neighbour: crisp edges that
survive video compression) and centred in its box; the quiet zone is drawn in the light colour.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

import segno
from PIL import Image, ImageColor
from pydantic import Field

from renderer.errors import RenderError
from renderer.outputs.video.layers.base import (
    AssetOpener,
    JinjaRole,
    LayerBase,
    LayerContext,
    LayerKind,
    ResolvedLayer,
    box_size,
)
from renderer.template.models import HEX_COLOUR

MIN_MODULE_PX = 3  # fewer pixels per module and a phone camera misreads a compressed frame


class QrLayer(LayerBase):
    """A QR code of `data` (Jinja), dark modules in `colour` on `background`."""

    type: Literal["qr"]
    data: str
    colour: str = Field(default="#000000", pattern=HEX_COLOUR)
    background: str = Field(default="#ffffff", pattern=HEX_COLOUR)
    error: Literal["L", "M", "Q", "H"] = "M"
    border: int = Field(default=4, ge=0, le=16, description="Quiet zone, in modules")


def qr_matrix(data: str, error: str, border: int) -> list[tuple[bool, ...]]:
    """The code's modules, quiet zone included, row by row (True: dark)."""
    code = segno.make_qr(data, error=error.lower(), boost_error=False)
    return [tuple(bool(module) for module in row) for row in code.matrix_iter(border=border)]


class QrKind(LayerKind):
    """A scannable code of a link or text from the recipient's data."""

    type = "qr"
    model = QrLayer
    jinja_fields: ClassVar[dict[str, JinjaRole]] = {"data": "text"}

    def content(self, layer: Any, ctx: LayerContext) -> dict[str, Any]:
        """The text to encode; RenderError when it is empty, too long for a QR code, or its code
        would not fit the box at `MIN_MODULE_PX` pixels per module (never quoting the text)."""
        data = ctx.read("data").strip()
        if not data:
            raise RenderError(f"{ctx.where}: the QR code's data is empty")
        try:
            modules = len(qr_matrix(data, layer.error, layer.border))
        except segno.DataOverflowError:
            raise RenderError(
                f"{ctx.where}: the QR code's data is too long ({len(data)} characters)"
            ) from None
        if min(box_size(layer)) < modules * MIN_MODULE_PX:
            need = modules * MIN_MODULE_PX
            raise RenderError(f"{ctx.where}: the box is too small for this QR code (needs {need}x{need} px)")
        return {"data": data}

    def draw(self, layer: ResolvedLayer, assets: AssetOpener) -> Image.Image:
        """The code, a whole number of pixels per module, centred in the box."""
        spec = layer.spec
        assert isinstance(spec, QrLayer)
        matrix = qr_matrix(layer.content["data"], spec.error, spec.border)
        dark, light = ImageColor.getrgb(spec.colour), ImageColor.getrgb(spec.background)
        code = Image.new("RGBA", (len(matrix), len(matrix)))
        code.putdata([(*(dark if module else light), 255)[:4] for row in matrix for module in row])
        scale = min(box_size(spec)) // len(matrix)
        code = code.resize((len(matrix) * scale, len(matrix) * scale), Image.Resampling.NEAREST)
        sprite = Image.new("RGBA", box_size(spec), (0, 0, 0, 0))
        sprite.alpha_composite(code, ((spec.box.w - code.width) // 2, (spec.box.h - code.height) // 2))
        return sprite
