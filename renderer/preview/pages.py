"""A rendered PDF as page images for the studio: `pdf_page_images(pdf)` -> one PNG per page
(pypdfium2, every PDFium object closed before it returns)."""

from __future__ import annotations

import io
import threading

import pypdfium2 as pdfium
from PIL import Image

from renderer.errors import RenderError

_PDFIUM = threading.Lock()  # PDFium is not thread-safe: one document at a time per process


def _page_png(page: pdfium.PdfPage, width: int) -> bytes:
    """One page drawn `width` pixels wide on white, aspect kept, as PNG."""
    page_width, page_height = page.get_size()  # PDF points
    height = max(1, round(page_height * width / page_width))
    bitmap = page.render(scale=width / page_width, may_draw_forms=True)
    try:
        image = bitmap.to_pil().convert("RGB")
    finally:
        bitmap.close()
    if image.size != (width, height):  # PDFium rounds the scaled size its own way
        image = image.resize((width, height), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def pdf_page_images(pdf: bytes, *, width: int = 800) -> list[bytes]:
    """One PNG per page of `pdf`, in order, each exactly `width` pixels wide with the page's
    aspect kept. RenderError when `width` is not positive or the bytes are not a readable PDF
    (the message says so; it quotes none of the document)."""
    if width < 1:
        raise RenderError(f"page image width must be at least 1 pixel, not {width}")
    with _PDFIUM:
        return _page_images(pdf, width)


def _page_images(pdf: bytes, width: int) -> list[bytes]:
    try:
        document = pdfium.PdfDocument(pdf)
    except pdfium.PdfiumError as exc:
        raise RenderError(f"the PDF cannot be read ({exc})") from None
    try:
        images = []
        for index in range(len(document)):
            page = document[index]
            try:
                images.append(_page_png(page, width))
            finally:
                page.close()
        if not images:
            raise RenderError("the PDF has no pages")
        return images
    finally:
        document.close()
