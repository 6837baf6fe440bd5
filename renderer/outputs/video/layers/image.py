"""The ``image`` layer: a file from the template's assets, chosen by Jinja, fitted to its box."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any, ClassVar, Literal

from PIL import Image, ImageOps

from renderer.outputs.images import IMAGE_ERRORS, UnusableImage
from renderer.outputs.video.layers.base import (
    AssetOpener,
    JinjaRole,
    LayerBase,
    LayerContext,
    LayerKind,
    ResolvedLayer,
    box_size,
)


class ImageLayer(LayerBase):
    """An image from the template's assets, chosen by a Jinja expression."""

    type: Literal["image"]
    src: str
    fit: Literal["contain", "cover"] = "contain"


@lru_cache(maxsize=64)
def _open_image(path: Path, box: tuple[int, int], fit: str) -> Image.Image:
    try:
        with Image.open(path) as source:
            image = source.convert("RGBA")
    except IMAGE_ERRORS as exc:
        raise UnusableImage(path, exc) from None
    if fit == "cover":
        return ImageOps.fit(image, box, Image.Resampling.LANCZOS)
    contained = ImageOps.contain(image, box, Image.Resampling.LANCZOS)
    canvas = Image.new("RGBA", box, (0, 0, 0, 0))
    canvas.alpha_composite(contained, ((box[0] - contained.width) // 2, (box[1] - contained.height) // 2))
    return canvas


class ImageKind(LayerKind):
    """An image fitted ('contain') or cropped ('cover') to the box."""

    type = "image"
    model = ImageLayer
    jinja_fields: ClassVar[dict[str, JinjaRole]] = {"src": "text"}

    def content(self, layer: Any, ctx: LayerContext) -> dict[str, Any]:
        """The asset reference the recipient's data chose."""
        return {"src": ctx.read("src").strip()}

    def asset_refs(self, layer: Any) -> Iterator[str]:
        """The source when it is written without Jinja."""
        if layer.src and "{" not in layer.src:
            yield layer.src

    def chosen_assets(self, layer: Any, content: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
        """The image the recipient's data chose."""
        yield str(content["src"]), layer.src

    def draw(self, layer: ResolvedLayer, assets: AssetOpener) -> Image.Image:
        """The image, fitted to the box."""
        spec = layer.spec
        assert isinstance(spec, ImageLayer)
        return _open_image(assets(layer.content["src"]), box_size(spec), spec.fit).copy()
