"""The sprites of one scene's layers, for the segment composer (`segments.compose_frames`).

Each layer's finished sprite is drawn once per scene. A layer in a content animation (``grow``,
``count-up``: `LayerState.progress` set) shows a sprite that its kind draws for what it shows at
that progress (`LayerKind.shown_at`); those are drawn once per distinct key and the last few kept,
since an animation's frames come in order. Every sprite is drawn at its box's size and scaled by
the frame's factors (a draft is drawn at half the design size).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable, Sequence
from dataclasses import replace

from PIL import Image

from renderer.outputs.video.layers import AssetOpener, ResolvedLayer, draw_layer, layer_kind
from renderer.outputs.video.layers.motion import LayerState

_KEPT = 8  # partial sprites kept per scene

Shown = tuple[LayerState, Hashable | None]


def scaled(sprite: Image.Image, factors: tuple[float, float]) -> Image.Image:
    """`sprite` scaled by `factors`: halved exactly by a box filter over premultiplied alpha when
    it can be (a draft's usual case, 4x faster), else Lanczos; itself at (1, 1)."""
    if factors == (1.0, 1.0):
        return sprite
    size = (max(1, round(sprite.width * factors[0])), max(1, round(sprite.height * factors[1])))
    if factors == (0.5, 0.5) and sprite.width % 2 == 0 and sprite.height % 2 == 0 and sprite.mode == "RGBA":
        return sprite.convert("RGBa").reduce(2).convert("RGBA")
    return sprite.resize(size, Image.Resampling.LANCZOS)


class SceneSprites:
    """The sprites of `layers` (one scene's), drawn with `assets` and scaled by `factors`."""

    def __init__(
        self, layers: Sequence[ResolvedLayer], assets: AssetOpener, factors: tuple[float, float]
    ) -> None:
        self.layers = tuple(layers)
        self._assets, self._factors = assets, factors
        self._full = [scaled(draw_layer(layer, assets), factors) for layer in self.layers]
        self._partial: OrderedDict[tuple[int, Hashable], Image.Image] = OrderedDict()

    def shown(self, states: Sequence[LayerState]) -> tuple[Shown, ...]:
        """Per layer, its state without `progress` and what its sprite shows (None: the finished
        sprite): frames with equal results draw equal pixels, whatever the progress was."""
        result: list[Shown] = []
        for layer, state in zip(self.layers, states, strict=True):
            if state.progress is None:
                result.append((state, None))
            else:
                result.append(
                    (replace(state, progress=None), layer_kind(layer.spec).shown_at(layer, state.progress))
                )
        return tuple(result)

    def sprite(self, index: int, shown: Hashable | None) -> Image.Image:
        """Layer `index`'s sprite showing `shown` (from `shown`), drawn on first use."""
        if shown is None:
            return self._full[index]
        key = (index, shown)
        sprite = self._partial.get(key)
        if sprite is None:
            layer = self.layers[index]
            sprite = scaled(layer_kind(layer.spec).draw_at(layer, self._assets, shown), self._factors)
            self._partial[key] = sprite
            if len(self._partial) > _KEPT:
                self._partial.popitem(last=False)
        else:
            self._partial.move_to_end(key)
        return sprite
