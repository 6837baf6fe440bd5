"""The studio's PDF as page images: one PNG per page of bill-summary's real PDF, at the width asked,
not blank; bytes that are no PDF fail with a RenderError."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from pypdf import PdfReader

from renderer.errors import RenderError
from renderer.outputs.render import render_recipient
from renderer.outputs.template import Template
from renderer.preview.pages import pdf_page_images
from renderer.storage import MemoryStorage

pytestmark = [pytest.mark.pdf]


@pytest.fixture(scope="module")
def bill_pdf(bill: Template) -> bytes:
    """bill-summary's de-DE PDF, rendered into memory and read back."""
    storage = MemoryStorage()
    recipient = bill.validator.validate(bill.samples["de-DE"])
    stored = render_recipient(bill, recipient, ["pdf"], storage, "preview")
    return storage.get(stored.outputs["pdf"].main)


def test_every_page_becomes_a_png_of_the_width_asked(bill_pdf: bytes, artifacts: Path) -> None:
    reader = PdfReader(io.BytesIO(bill_pdf))
    pages = pdf_page_images(bill_pdf)
    assert len(pages) == len(reader.pages) >= 1
    for number, (png, page) in enumerate(zip(pages, reader.pages, strict=True)):
        with Image.open(io.BytesIO(png)) as image:
            assert image.format == "PNG"
            pixels = np.asarray(image.convert("L"), dtype=np.float64)
        width, height = float(page.mediabox.width), float(page.mediabox.height)
        assert pixels.shape == (round(height * 800 / width), 800)
        assert pixels.std() > 5, f"page {number + 1} is not blank"
        assert (pixels > 250).mean() > 0.3, f"page {number + 1} is drawn on white"
        (artifacts / f"preview-page-{number + 1}.png").write_bytes(png)
    assert all(_width(png) == 320 for png in pdf_page_images(bill_pdf, width=320))


def _width(png: bytes) -> int:
    with Image.open(io.BytesIO(png)) as image:
        return image.width


@pytest.mark.parametrize("data", [b"", b"not a pdf", b"%PDF-1.7\n1 0 obj\n<<>>\n"])
def test_bytes_that_are_no_pdf_raise_a_render_error(data: bytes) -> None:
    with pytest.raises(RenderError, match="the PDF cannot be read"):
        pdf_page_images(data)


def test_a_width_under_one_pixel_is_refused(bill_pdf: bytes) -> None:
    with pytest.raises(RenderError, match="width"):
        pdf_page_images(bill_pdf, width=0)
