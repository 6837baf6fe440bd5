"""The LAYER registry: one `LayerKind` per layer ``type``, each in its own module.

The manifest's `Layer` union, the loader's Jinja compilation, the name checks, scene resolution,
the personal-scene analysis and drawing all read `LAYER_KINDS`; a new layer type is one module
plus one entry here.
"""

from __future__ import annotations

from functools import reduce
from operator import or_
from typing import TYPE_CHECKING, Annotated

from PIL import Image
from pydantic import Field

from renderer.errors import RenderError
from renderer.outputs.video.layers.base import AssetOpener, LayerBase, LayerKind, ResolvedLayer
from renderer.outputs.video.layers.chart import ChartKind
from renderer.outputs.video.layers.image import ImageKind
from renderer.outputs.video.layers.qr import QrKind
from renderer.outputs.video.layers.shape import ShapeKind
from renderer.outputs.video.layers.text import TextKind

LAYER_KINDS: dict[str, LayerKind] = {
    kind.type: kind for kind in (TextKind(), ImageKind(), ShapeKind(), ChartKind(), QrKind())
}

if TYPE_CHECKING:
    Layer = LayerBase
else:  # the manifest model: a union of every registered layer model, told apart by `type`
    Layer = Annotated[reduce(or_, (kind.model for kind in LAYER_KINDS.values())), Field(discriminator="type")]


def layer_kind(layer: LayerBase) -> LayerKind:
    """The registered kind of `layer` (its model was validated against the registry, so it has one)."""
    return LAYER_KINDS[layer.type]


def draw_layer(layer: ResolvedLayer, assets: AssetOpener) -> Image.Image:
    """The layer's sprite, drawn by the kind registered for its type."""
    try:
        kind = LAYER_KINDS[layer.spec.type]
    except KeyError:
        raise RenderError(f"no drawer for layer type {layer.spec.type!r}") from None
    return kind.draw(layer, assets)


__all__ = ["LAYER_KINDS", "AssetOpener", "Layer", "LayerKind", "ResolvedLayer", "draw_layer", "layer_kind"]
