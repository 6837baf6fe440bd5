"""The bill PDF: real text in every sample locale, two A4 pages, the brand colour on the page."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from PIL import Image
from pypdf import PdfReader

from renderer.outputs.template import Template
from renderer.template.locale import format_money, text_direction
from renderer.template.resolve import resolve
from tests.conftest import SAMPLE_LOCALES

pytestmark = pytest.mark.pdf
BIDI_MARKS = dict.fromkeys(map(ord, "\u200e\u200f\u202a\u202b\u202c\u200c"), None)


def pdf_text(path: Path) -> str:
    """All text of a PDF, bidi marks removed and no-break spaces made plain."""
    reader = PdfReader(path)
    text = "\n".join(page.extract_text() for page in reader.pages)
    return text.translate(BIDI_MARKS).replace("\u00a0", " ")


def _number_part(money: str) -> str:
    digits = "0123456789۰۱۲۳۴۵۶۷۸۹٬٫.,"
    return "".join(ch for ch in money if ch in digits)


@pytest.mark.parametrize("locale", SAMPLE_LOCALES)
def test_pdf_holds_name_and_formatted_amount(
    locale: str, bill: Template, rendered_samples: dict[str, Path]
) -> None:
    pdf = rendered_samples[locale] / "bill.pdf"
    reader = PdfReader(pdf)
    assert len(reader.pages) == 2
    width, height = (float(v) for v in reader.pages[0].mediabox.upper_right)
    assert (round(width), round(height)) == (595, 842), "A4 in points"
    assert reader.attachments == {}
    spec = resolve(bill, bill.validator.validate(bill.samples[locale]))
    text = pdf_text(pdf)
    assert spec.context["first_name"] in text
    assert spec.context["last_name"] in text
    amount = format_money(spec.context["amount_due"], spec.context["currency"], spec.locale).translate(
        BIDI_MARKS
    )
    number = _number_part(amount)
    if text_direction(spec.locale) == "rtl":
        # text extraction returns runs of digits in visual order inside right-to-left lines
        assert number in text or number[::-1] in text, (number, text[:400])
    else:
        assert amount.replace("\u00a0", " ") in text


def test_pdf_page_shows_the_brand_panel(
    rendered_samples: dict[str, Path], tmp_path: Path, artifacts: Path
) -> None:
    for locale in SAMPLE_LOCALES:
        pdf = rendered_samples[locale] / "bill.pdf"
        prefix = artifacts / f"pdf-{locale}"
        subprocess.run(["pdftoppm", "-r", "50", "-png", str(pdf), str(prefix)], check=True, timeout=60)
        page = Image.open(f"{prefix}-1.png").convert("RGB")
        colours = page.getcolors(maxcolors=1 << 20) or []
        brand = sum(count for count, rgb in colours if rgb == (11, 61, 145))
        assert brand > page.width * page.height * 0.03, f"{locale}: amount panel missing"
