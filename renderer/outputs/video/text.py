"""Text for video frames: font choice by script, shaping (RTL, complex scripts), auto-fit into a box.

Pillow's raqm layout engine shapes Persian/Arabic and Hindi correctly and orders right-to-left
runs; `fit_text` wraps on words, then shrinks until the text fits its box, down to a minimum size,
and ellipsizes what still does not fit: text never draws outside its box.
"""

from __future__ import annotations

import re
import subprocess
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

from PIL import Image, ImageDraw, ImageFont

from renderer.errors import RenderError

_ARABIC = re.compile("[\u0600-\u06ff\u0750-\u077f\u08a0-\u08ff\ufb50-\ufdff\ufe70-\ufeff]")
_HEBREW = re.compile("[\u0590-\u05ff]")
_DEVANAGARI = re.compile("[\u0900-\u097f]")
ELLIPSIS = "…"


def script_family(text: str, family: str) -> str:
    """The font family that covers `text`: Noto's Arabic/Hebrew/Devanagari faces when needed."""
    if _ARABIC.search(text):
        return "Noto Sans Arabic"
    if _HEBREW.search(text):
        return "Noto Sans Hebrew"
    if _DEVANAGARI.search(text):
        return "Noto Sans Devanagari"
    return family


def text_direction(text: str) -> str:
    """'rtl' when the first strong character is right-to-left, else 'ltr' (Unicode bidi rule P2)."""
    for char in text:
        kind = unicodedata.bidirectional(char)
        if kind in ("R", "AL"):
            return "rtl"
        if kind == "L":
            return "ltr"
    return "ltr"


@lru_cache(maxsize=64)
def font_file(family: str, bold: bool) -> str:
    """The font file fontconfig picks for `family` (Debian fonts-noto-core / fonts-dejavu-core)."""
    pattern = f"{family}:weight={'bold' if bold else 'regular'}"
    try:
        found = subprocess.run(
            ["fc-match", "-f", "%{file}", pattern], capture_output=True, text=True, timeout=10, check=True
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        found = ""
    if not found:
        raise RenderError(f"no font found for {pattern!r} (install fonts-noto-core)")
    return found


@lru_cache(maxsize=512)
def load_font(path: str, size: int) -> ImageFont.FreeTypeFont:
    """A FreeType font with the raqm layout engine (shaping and bidi)."""
    return ImageFont.truetype(path, size, layout_engine=ImageFont.Layout.RAQM)


@dataclass(frozen=True)
class FittedText:
    """Text laid out for a box: its lines, font and size, and the direction it runs;
    `truncated` when it did not fit even at the minimum size, so lines were cut or ellipsized."""

    lines: tuple[str, ...]
    font_path: str
    size: int
    direction: str
    line_height: int
    truncated: bool = False

    @property
    def font(self) -> ImageFont.FreeTypeFont:
        """The font at the fitted size."""
        return load_font(self.font_path, self.size)


def _width(font: ImageFont.FreeTypeFont, text: str, direction: str) -> float:
    return float(font.getlength(text, direction=direction))


def _wrap(words: list[str], font: ImageFont.FreeTypeFont, width: int, direction: str) -> list[str]:
    lines: list[str] = []
    current = ""
    for word in words:
        candidate = f"{current} {word}" if current else word
        if current and _width(font, candidate, direction) > width:
            lines.append(current)
            current = word
        else:
            current = candidate
    if current:
        lines.append(current)
    return lines


def _ellipsize(line: str, font: ImageFont.FreeTypeFont, width: int, direction: str) -> str:
    while line and _width(font, line + ELLIPSIS, direction) > width:
        line = line[:-1].rstrip()
    return line + ELLIPSIS


def _layout(
    text: str, path: str, size: int, box: tuple[int, int], direction: str
) -> tuple[list[str], int, bool]:
    font = load_font(path, size)
    ascent, descent = font.getmetrics()  # the face's real extent: Arabic faces reach far below
    line_height = ascent + descent
    lines: list[str] = []
    for paragraph in text.split("\n"):
        lines += _wrap(paragraph.split(), font, box[0], direction) or [""]
    fits = len(lines) * line_height <= box[1] and all(_width(font, ln, direction) <= box[0] for ln in lines)
    return lines, line_height, fits


def fit_text(
    text: str, box: tuple[int, int], *, family: str, bold: bool, max_size: int, min_size: int
) -> FittedText:
    """The largest size in [min_size, max_size] at which `text` fits `box`; at the minimum size,
    lines that still do not fit are cut and the last one ends with an ellipsis (`truncated`)."""
    direction = text_direction(text)
    path = font_file(script_family(text, family), bold)
    low, high = min(min_size, max_size), max_size
    best: tuple[int, list[str], int] | None = None
    truncated = False
    while low <= high:  # binary search on the font size: fitting is monotone in size
        size = (low + high) // 2
        lines, line_height, fits = _layout(text, path, size, box, direction)
        if fits:
            best, low = (size, lines, line_height), size + 1
        else:
            high = size - 1
    if best is None:
        size = min(min_size, max_size)
        lines, line_height, _ = _layout(text, path, size, box, direction)
        font = load_font(path, size)
        keep = max(1, box[1] // line_height)
        cut = len(lines) > keep
        lines = [
            ln if _width(font, ln, direction) <= box[0] else _ellipsize(ln, font, box[0], direction)
            for ln in lines[:keep]
        ]
        if cut and not lines[-1].endswith(ELLIPSIS):
            lines[-1] = _ellipsize(lines[-1], font, box[0], direction)
        best, truncated = (size, lines, line_height), True
    size, lines, line_height = best
    return FittedText(tuple(lines), path, size, direction, line_height, truncated)


def draw_text(fitted: FittedText, box: tuple[int, int], colour: str, align: str) -> Image.Image:
    """An RGBA image of the box with the fitted text drawn; clipped to the box by construction.

    `align` is 'start', 'center' or 'end' in the text's own direction (start is right for RTL).
    """
    image = Image.new("RGBA", box, (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    font = fitted.font
    rtl = fitted.direction == "rtl"
    total = len(fitted.lines) * fitted.line_height
    y = max(0, (box[1] - total) // 2)
    for line in fitted.lines:
        width = _width(font, line, fitted.direction)
        if align == "center":
            x = (box[0] - width) / 2
        elif (align == "start") != rtl:
            x = 0.0
        else:
            x = box[0] - width
        draw.text((x, y), line, font=font, fill=colour, direction=fitted.direction)
        y += fitted.line_height
    return image
