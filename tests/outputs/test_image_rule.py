"""One rule for an image an output cannot use: the row fails, naming the template, the output and
the image as the template names it (a personal part of its path hidden), never a value.

The PDF used to drop such an image silently (WeasyPrint logs and skips it) while the video failed.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from PIL import Image

from renderer.jobs.work import RowResult, render_row
from renderer.outputs.images import limit_image_size
from renderer.outputs.kind import RenderOptions
from renderer.outputs.load import load_template
from renderer.outputs.template import Template
from renderer.settings import PROJECT_ROOT, Settings
from renderer.storage import LocalStorage

pytestmark = pytest.mark.pdf
LIMIT = "is over the image pixel limit of 40,000,000 pixels (TAILOR_MAX_IMAGE_PIXELS)"


@pytest.fixture
def with_pdf_image(tmp_path: Path, settings: Settings) -> Callable[[str, str], Template]:
    """bill-summary with ``<img src="{{ asset(src) }}">`` in its PDF and a 400-megapixel PNG
    (a few kB on disk) at `huge`, under the default pixel limit."""

    def make(src: str, huge: str) -> Template:
        root = tmp_path / "bill-summary"
        shutil.copytree(PROJECT_ROOT / "templates" / "bill-summary", root)
        (root / "media").mkdir()
        Image.new("1", (20_000, 20_000)).save(root / "media" / huge)
        Image.new("RGB", (8, 8), "green").save(root / "media" / "green.png")
        entry = root / "pdf" / "bill.html"
        image = f'<img class="plan" src="{{{{ asset({src}) }}}}" alt="">\n</body>'
        entry.write_text(entry.read_text(encoding="utf-8").replace("</body>", image, 1), encoding="utf-8")
        limit_image_size(settings.max_image_pixels)
        assert settings.max_image_pixels == 40_000_000
        return load_template(root, settings)

    return make


def _row(template: Template, sample: str, storage: LocalStorage) -> RowResult:
    recipient = template.validator.validate(template.samples[sample])
    return render_row(template, 2, recipient, ["microsite", "pdf"], storage, "c", RenderOptions())


def test_a_data_chosen_pdf_image_over_the_pixel_limit_fails_the_row(
    with_pdf_image: Callable[[str, str], Template], tmp_path: Path
) -> None:
    template = with_pdf_image("'media/' ~ plan ~ '.png'", "plus.png")
    storage = LocalStorage(tmp_path / "out")
    for _again in range(2):  # the second render does not take the failure from WeasyPrint's cache
        failed = _row(template, "en-US", storage)  # plan: plus
        assert failed.status == "failed"
        assert (
            failed.issues[0].reason == f"pdf output: image media/plus.png of template 'bill-summary' {LIMIT}"
        )
    assert not list(storage.keys("bill-summary/c")), "nothing is stored for the failed row"
    assert _row(template, "de-DE", storage).status == "ok"  # plan: green, a small image


def test_the_message_never_holds_the_value_that_chose_the_image(
    with_pdf_image: Callable[[str, str], Template], tmp_path: Path
) -> None:
    template = with_pdf_image("'media/' ~ (last_name | lower) ~ '.png'", "johnson.png")
    failed = _row(template, "en-US", LocalStorage(tmp_path / "out"))
    reason = failed.issues[0].reason
    assert failed.status == "failed" and "johnson" not in reason.lower()
    assert reason == f"pdf output: image media/….png of template 'bill-summary' {LIMIT}"


def test_an_unreadable_pdf_image_fails_the_row_too(
    with_pdf_image: Callable[[str, str], Template], tmp_path: Path
) -> None:
    template = with_pdf_image("'media/' ~ plan ~ '.png'", "unused.png")
    (template.root / "media" / "plus.png").write_bytes(b"not a picture")
    failed = _row(template, "en-US", LocalStorage(tmp_path / "out"))
    assert failed.status == "failed"
    assert failed.issues[0].reason.startswith("pdf output: image media/plus.png of template 'bill-summary'")
    assert "cannot be read as an image" in failed.issues[0].reason
