"""The ``text`` layer: Jinja text auto-fitted into its box (wrap, then shrink, never overflow).

Its ``count-up`` enter animation counts the number in the text up from zero
(`renderer.outputs.video.countup`), written in the text's own format (digits, separators,
currency), at the size fitted to the final text so nothing jumps while it counts. A text with no
number shows as it is; a text without Jinja and without a number is a manifest error.
"""

from __future__ import annotations

from collections.abc import Hashable
from functools import lru_cache
from typing import Any, ClassVar, Literal

from PIL import Image
from pydantic import Field

from renderer.outputs.video.countup import count_text, find_number
from renderer.outputs.video.layers.base import (
    AssetOpener,
    JinjaRole,
    LayerBase,
    LayerContext,
    LayerKind,
    ResolvedLayer,
    box_size,
)
from renderer.outputs.video.text import FittedText, draw_text, fit_text
from renderer.template import locale as loc
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


def _counts_up(layer: LayerBase) -> bool:
    return layer.enter is not None and layer.enter.kind == "count-up"


def _fit(spec: TextLayer, text: str, size: int | None = None) -> FittedText:
    """`text` fitted to the layer's box, or laid out at exactly `size` when given."""
    return fit_text(
        text,
        box_size(spec),
        family=spec.font,
        bold=spec.weight == "bold",
        max_size=size or spec.size,
        min_size=size or spec.min_size,
    )


@lru_cache(maxsize=64)
def _fitted_size(spec: TextLayer, text: str) -> int:
    """The size `text` is fitted at (memoised: a counting text is laid out at it every frame)."""
    return _fit(spec, text).size


class TextKind(LayerKind):
    """Text shaped for its script (RTL and complex scripts included) and fitted to the box."""

    type = "text"
    model = TextLayer
    jinja_fields: ClassVar[dict[str, JinjaRole]] = {"text": "text"}
    content_animations = frozenset({"count-up"})

    def content(self, layer: Any, ctx: LayerContext) -> dict[str, Any]:
        """The rendered text; a counting text also keeps its locale's decimal separator."""
        content: dict[str, Any] = {"text": ctx.read("text")}
        if _counts_up(layer):
            content["decimal"] = loc.decimal_symbol(ctx.locale)
        return content

    def animation_problem(self, layer: Any, kind: str) -> str | None:
        """Besides the common rule: a ``count-up`` text without Jinja must hold a number."""
        problem = super().animation_problem(layer, kind)
        static = "{{" not in layer.text and "{%" not in layer.text
        if problem is None and kind == "count-up" and static and find_number(layer.text) is None:
            return "a count-up text needs a number to count, and this text has none"
        return problem

    def shown_at(self, layer: ResolvedLayer, progress: float) -> Hashable | None:
        """The text with its number counted to `progress` of its value; None when that is the
        final text (no number in it, or counted all the way)."""
        text = layer.content["text"]
        shown = count_text(text, progress, layer.content.get("decimal"))
        return None if shown == text else shown

    def draw_at(self, layer: ResolvedLayer, assets: AssetOpener, shown: Hashable) -> Image.Image:
        """The text `shown` drawn at the size fitted to the final text, aligned the same way."""
        spec = layer.spec
        assert isinstance(spec, TextLayer) and isinstance(shown, str)
        size = _fitted_size(spec, layer.content["text"])
        return draw_text(_fit(spec, shown, size), box_size(spec), spec.colour, spec.align)

    def draw(self, layer: ResolvedLayer, assets: AssetOpener) -> Image.Image:
        """The fitted text on a transparent sprite the size of the box."""
        spec = layer.spec
        assert isinstance(spec, TextLayer)
        return draw_text(_fit(spec, layer.content["text"]), box_size(spec), spec.colour, spec.align)
