"""Process-wide image safety: Pillow's decompression limit, set once from settings."""

from __future__ import annotations

import warnings

from PIL import Image


def limit_image_size(max_pixels: int) -> None:
    """Refuse images above `max_pixels` (a decompression bomb raises instead of filling memory).

    Pillow warns between the limit and twice the limit and raises above; the warning is turned
    into an error so any image over the limit fails to load, in WeasyPrint as anywhere else.
    """
    Image.MAX_IMAGE_PIXELS = max_pixels
    warnings.simplefilter("error", Image.DecompressionBombWarning)
