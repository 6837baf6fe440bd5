"""Process-wide image safety, and the one rule for an image an output cannot use.

`limit_image_size` sets Pillow's decompression limit once from settings. Every output follows
the same rule for an image it cannot use (over that limit, unreadable, or not fetchable): the row
fails with `image_failure`, whose message names the template and the image as the template names
it (``media/x.png``, ``@assets/brand/x.png``) — a part of its path that holds one of the
recipient's personal values is shown as ``…`` — and never a value. No output drops an image and
succeeds.
"""

from __future__ import annotations

import warnings
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import unquote, urlsplit

from PIL import Image

from renderer.errors import AssetError, RenderError
from renderer.outputs.template import Template
from renderer.template.paths import SHARED_PREFIX
from renderer.template.refs import personal_fields
from renderer.template.resolve import ResolvedSpec

IMAGE_ERRORS = (OSError, Image.DecompressionBombError, Image.DecompressionBombWarning)
_BOMBS = (Image.DecompressionBombError, Image.DecompressionBombWarning)


def limit_image_size(max_pixels: int) -> None:
    """Refuse images above `max_pixels` (a decompression bomb raises instead of filling memory).

    Pillow warns between the limit and twice the limit and raises above; the warning is turned
    into an error so any image over the limit fails to load, in WeasyPrint as anywhere else.
    """
    Image.MAX_IMAGE_PIXELS = max_pixels
    warnings.simplefilter("error", Image.DecompressionBombWarning)


class UnusableImage(AssetError):
    """An image file an output could not use; renderers turn it into `image_failure`."""

    def __init__(self, path: Path, cause: BaseException) -> None:
        self.path, self.cause = path, cause
        super().__init__(image_problem(cause), file=path.name)


def _causes(exc: BaseException) -> list[BaseException]:
    chain: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in chain:
        chain.append(current)
        current = current.__cause__ or current.__context__
    return chain


def image_problem(exc: BaseException) -> str:
    """Why an image cannot be used, worded alike for every output (no value, no server path)."""
    chain = _causes(exc)
    if any(isinstance(cause, _BOMBS) for cause in chain):
        limit = Image.MAX_IMAGE_PIXELS or 0
        return f"is over the image pixel limit of {limit:,} pixels (TAILOR_MAX_IMAGE_PIXELS)"
    if any(type(cause).__name__ == "URLFetchingError" for cause in chain):
        return "cannot be fetched (only files inside the template and assets/ are served)"
    return f"cannot be read as an image ({type(chain[-1]).__name__})"


def _personal_values(template: Template, spec: ResolvedSpec) -> list[str]:
    values = []
    for name in personal_fields(template.manifest.contract):
        value: Any = spec.context.get(name)
        if value is not None and not isinstance(value, list | dict) and len(str(value)) >= 2:
            values.append(str(value).casefold())
    return values


def asset_label(template: Template, spec: ResolvedSpec, where: Path | str) -> str:
    """How the template names the image at `where` (a file path or a URL), a path part holding
    one of the recipient's personal values replaced by ``…``; other URLs by their scheme only."""
    if isinstance(where, str):
        if not where.startswith("file:"):
            scheme = where.split(":", 1)[0] if ":" in where else "relative"
            return f"(a {scheme}: URL)"
        where = Path(unquote(urlsplit(where).path))
    path = where.resolve()
    if path.is_relative_to(template.root):
        ref = path.relative_to(template.root).as_posix()
    elif path.is_relative_to(template.assets_dir):
        ref = SHARED_PREFIX + path.relative_to(template.assets_dir).as_posix()
    else:
        ref = path.name
    values = _personal_values(template, spec)
    parts = [
        "…" + PurePosixPath(part).suffix if any(value in part.casefold() for value in values) else part
        for part in ref.split("/")
    ]
    return "/".join(parts)


def image_failure(
    template: Template, spec: ResolvedSpec, where: Path | str, exc: BaseException
) -> RenderError:
    """The error that fails the row when an output cannot use the image at `where` (see the module)."""
    label = asset_label(template, spec, where)
    return RenderError(f"image {label} of template {template.name!r} {image_problem(exc)}")
