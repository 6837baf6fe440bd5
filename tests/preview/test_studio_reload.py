"""`Studio.reload` on a real copy of an example template: which outputs a change says to render
again, across saves made while the template was broken."""

from __future__ import annotations

from pathlib import Path

from fixture_studio import copy_template, studio_settings

from renderer.preview.studio import Studio
from renderer.storage import MemoryStorage


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} is not in {path.name}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def test_saves_made_while_broken_are_rendered_once_it_loads_again(tmp_path: Path) -> None:
    root = copy_template(tmp_path, "bill-summary")
    studio = Studio("bill-summary", studio_settings(tmp_path), MemoryStorage())
    assert studio.reload().problems == ()
    page, pdf_css = root / "microsite" / "index.html", root / "pdf" / "bill.css"
    _edit(page, "<main", "{% if %}<main")
    assert studio.reload([page]).problems  # broken: the page keeps its last render
    _edit(pdf_css, "}", "} /* saved while broken */")
    assert studio.reload([pdf_css]).problems  # still broken: this save is not rendered yet
    _edit(page, "{% if %}<main", "<main")
    fixed = studio.reload([page])
    assert fixed.problems == ()
    assert fixed.affects == ("microsite", "pdf")  # the PDF saved while broken too
    assert set(fixed.files) == {"microsite/index.html", "pdf/bill.css"}
    again = studio.reload([pdf_css])
    assert again.affects == ("pdf",) and again.files == ("pdf/bill.css",)  # nothing left over


def test_the_first_good_load_renders_every_output(tmp_path: Path) -> None:
    root = copy_template(tmp_path, "bill-summary")
    page = root / "microsite" / "index.html"
    _edit(page, "<main", "{% if %}<main")
    studio = Studio("bill-summary", studio_settings(tmp_path), MemoryStorage())
    assert studio.reload().problems and studio.template is None
    _edit(page, "{% if %}<main", "<main")
    fixed = studio.reload([page])
    assert fixed.problems == () and fixed.affects == ("microsite", "pdf", "video")  # nothing shown yet


def test_a_file_that_cannot_be_read_is_a_problem_and_the_next_save_still_reloads(tmp_path: Path) -> None:
    root = copy_template(tmp_path, "bill-summary")
    studio = Studio("bill-summary", studio_settings(tmp_path), MemoryStorage())
    good = studio.reload().generation
    page = root / "microsite" / "index.html"
    text = page.read_bytes()
    page.write_bytes(text + b"<p>\xff</p>")  # saved in another encoding
    broken = studio.reload([page])
    assert broken.problems and "UTF-8" in broken.problems[0]["message"]
    assert studio.template is not None and broken.generation == good + 1  # the last good kept
    page.write_bytes(text)
    assert studio.reload([page]).problems == ()
