"""What every video layer shares: its manifest model's common part, its resolved form, and the
`LayerKind` each layer type implements (the shape of MoviePy 2's one-`Effect`-per-class).

A `LayerKind` owns one ``type`` of layer end to end: the pydantic model of its manifest entry,
which of its attributes are Jinja (`jinja_fields`, read by the loader, the name checks and the
personal-scene analysis), how one recipient's data fills it (`content`, pure), which asset files
it names literally (`asset_refs`, checked at load), and how it is drawn (`draw`, Pillow). A kind
that animates its content (`CONTENT_ANIMATIONS`: a chart's bars growing, a number counting up)
lists them in `content_animations` and draws a sprite part of the way there (`shown_at`, `draw_at`).
"""

from __future__ import annotations

import builtins
from abc import ABC, abstractmethod
from collections.abc import Callable, Hashable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Literal

from PIL import Image
from pydantic import Field

from renderer.template.models import Strict

AssetOpener = Callable[[str], Path]
# How the personal-scene analysis reads a Jinja attribute: ``text`` renders a template;
# ``field`` renders to the *name* of a context field (a chart's `data`), so it reads that field.
JinjaRole = Literal["text", "field"]


# Enter animations that change what a sprite shows, not where or how opaque: only the layer
# kinds that list them in `LayerKind.content_animations` play them (checked at load).
CONTENT_ANIMATIONS = frozenset({"grow", "count-up"})


class Animation(Strict):
    """An enter or exit animation of a layer (``grow`` and ``count-up``: enter only)."""

    kind: Literal[
        "none", "fade", "slide-left", "slide-right", "slide-up", "slide-down", "scale", "grow", "count-up"
    ]
    duration: float = Field(default=0.5, gt=0, le=10)


class Box(Strict):
    """A rectangle in pixels of the video frame."""

    x: int
    y: int
    w: int = Field(gt=0)
    h: int = Field(gt=0)


class LayerBase(Strict):
    """What every layer has: timing within its scene, animations, an optional condition."""

    type: str
    box: Box
    start: float = Field(default=0.0, ge=0)
    end: float | None = Field(default=None, gt=0)
    enter: Animation | None = None
    exit: Animation | None = None
    when: str | None = None
    opacity: float = Field(default=1.0, ge=0, le=1)


def box_size(layer: LayerBase) -> tuple[int, int]:
    """The layer's box as (width, height): the size of its sprite."""
    return layer.box.w, layer.box.h


@dataclass(frozen=True)
class ResolvedLayer:
    """A layer with its data filled in: `content` holds what `LayerKind.content` returned."""

    spec: LayerBase
    content: Mapping[str, Any]

    def canonical(self) -> dict[str, Any]:
        """Everything that decides the layer's pixels, as plain JSON-able data."""
        return {"spec": self.spec.model_dump(mode="json"), "content": dict(self.content)}


@dataclass(frozen=True)
class LayerContext:
    """What `LayerKind.content` may read for one recipient: its Jinja attributes rendered
    (`read`), the recipient's context, its locale, and where the layer is (for error messages)."""

    read: Callable[[str], str]
    context: Mapping[str, Any]
    locale: str
    where: str


class LayerKind(ABC):
    """One layer type. Subclasses set `type`, `model` and `jinja_fields` and implement `draw`;
    `content` and `asset_refs` default to "every Jinja attribute rendered" and "none"."""

    type: ClassVar[str]
    model: ClassVar[builtins.type[LayerBase]]
    jinja_fields: ClassVar[Mapping[str, JinjaRole]] = {}
    content_animations: ClassVar[frozenset[str]] = frozenset()

    def content(self, layer: Any, ctx: LayerContext) -> dict[str, Any]:
        """The layer's resolved content for one recipient (pure; RenderError naming `ctx.where`)."""
        return {name: ctx.read(name) for name in self.jinja_fields}

    def asset_refs(self, layer: Any) -> Iterator[str]:
        """Asset files the layer names without Jinja (checked to exist when the template loads)."""
        return iter(())

    def chosen_assets(self, layer: Any, content: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
        """(reference, as written in the manifest) of each asset file the resolved `content`
        draws: their digests join the scene's cache key."""
        return iter(())

    def animation_problem(self, layer: Any, kind: str) -> str | None:
        """Why the layer cannot play its enter animation `kind` (a manifest error), or None."""
        if kind in CONTENT_ANIMATIONS and kind not in self.content_animations:
            return f"a {self.type} layer cannot play the {kind} animation"
        return None

    def shown_at(self, layer: ResolvedLayer, progress: float) -> Hashable | None:
        """What the sprite shows `progress` (eased, 0..1) into the layer's content animation, as
        a key (equal keys draw equal sprites); None when that is the finished sprite (`draw`)."""
        return None

    def draw_at(self, layer: ResolvedLayer, assets: AssetOpener, shown: Hashable) -> Image.Image:
        """The sprite showing `shown` (a key from `shown_at`), the size of the box."""
        return self.draw(layer, assets)

    @abstractmethod
    def draw(self, layer: ResolvedLayer, assets: AssetOpener) -> Image.Image:
        """The layer's RGBA sprite, the size of its box."""
