"""Accessible PDFs and metadata without personal values.

Every sample's PDF is tagged (PDF/UA-1: structure tree, marked content, language, XMP, title shown),
read back with pypdf; no personal value of the sample appears in its document information, its
XMP packet, the microsite's ``<title>`` and ``<meta>`` tags, or the video's container tags (ffprobe).
A template whose metadata reads a personal field (directly, through a computed value, a ``set``
variable or a ``t()`` snippet) is refused at load, naming the file, line, element and field.
"""

from __future__ import annotations

import html
import io
import json
import re
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from conftest import SAMPLE_LOCALES
from pypdf import PdfReader

from renderer.errors import TemplateError
from renderer.outputs.kind import RenderOptions
from renderer.outputs.load import load_template
from renderer.outputs.render import render_recipient
from renderer.outputs.template import Template
from renderer.settings import PROJECT_ROOT, Settings
from renderer.storage import LocalStorage
from renderer.template.refs import personal_fields

SOURCE = PROJECT_ROOT / "templates" / "bill-summary"


def personal_values(template: Template, raw: dict[str, Any]) -> set[str]:
    """The sample's personal values as text (3+ characters): personal scalar fields, and the
    free-text (string) fields of personal lists' items (not their enum codes)."""
    recipient = template.validator.validate(raw)
    fields = template.manifest.contract.fields
    found: set[str] = set()
    for name in personal_fields(template.manifest.contract):
        value = recipient.get(name)
        if isinstance(value, list):
            texts = {k for k, spec in (fields[name].items or {}).items() if spec.type == "string"}
            found |= {str(item[k]) for item in value for k in texts if item.get(k)}
        elif value is not None:
            found.add(str(value))
    return {value for value in found if len(value) >= 3}


def _leaks(text: str, values: set[str]) -> list[str]:
    return sorted(value for value in values if value.casefold() in text.casefold())


@pytest.mark.pdf
@pytest.mark.parametrize("locale", SAMPLE_LOCALES)
def test_pdf_is_tagged_and_its_metadata_holds_no_personal_value(
    bill: Template, rendered_samples: dict[str, Path], locale: str
) -> None:
    values = personal_values(bill, bill.samples[locale])
    assert any(value.startswith("ACC-") for value in values), "the account number is checked"
    reader = PdfReader(io.BytesIO((rendered_samples[locale] / "bill.pdf").read_bytes()))
    root = reader.trailer["/Root"].get_object()
    assert "/StructTreeRoot" in root, "tagged: a structure tree"
    assert bool(root["/MarkInfo"]["/Marked"])
    assert str(root["/Lang"]).replace("_", "-").startswith(locale.split("-")[0])
    assert bool(root["/ViewerPreferences"]["/DisplayDocTitle"])
    info = {name: str(value) for name, value in (reader.metadata or {}).items()}
    assert info.get("/Title"), "PDF/UA needs a title"
    xmp = root["/Metadata"].get_object().get_data().decode("utf-8")
    assert "pdfuaid:part" in xmp
    assert _leaks(json.dumps(info, ensure_ascii=False), values) == [], info
    assert _leaks(html.unescape(xmp), values) == []


@pytest.mark.parametrize("locale", SAMPLE_LOCALES)
def test_microsite_title_and_meta_tags_hold_no_personal_value(
    bill: Template, rendered_samples: dict[str, Path], locale: str
) -> None:
    page = (rendered_samples[locale] / "index.html").read_text(encoding="utf-8")
    values = personal_values(bill, bill.samples[locale])
    assert _leaks(page, values), "the page itself greets the recipient"
    head_part = page.split("</head>", 1)[0]  # the body's SVG charts title their bars: content
    head = re.findall(r"<title\b.*?</title>|<meta\b[^>]*>", head_part, re.IGNORECASE | re.DOTALL)
    assert any(tag.startswith("<title") for tag in head)
    assert _leaks(html.unescape(" ".join(head)), values) == []


@pytest.mark.video
@pytest.mark.slow
def test_video_container_tags_hold_no_personal_value(bill: Template, tmp_path: Path) -> None:
    raw = bill.samples["en-US"]  # its greeting plays a recorded clip chosen by the first name
    storage = LocalStorage(tmp_path)
    options = RenderOptions(draft=True)
    keys = render_recipient(bill, bill.validator.validate(raw), ["video"], storage, "c", options).to_record()
    command = ["ffprobe", "-v", "error", "-show_entries", "format_tags:stream_tags", "-of", "json"]
    command.append(str(storage.path(keys["video"])))
    probe = subprocess.run(command, capture_output=True, text=True, check=True, timeout=60)
    tags = json.loads(probe.stdout)
    assert tags["format"], "ffprobe read the container"
    assert _leaks(json.dumps(tags, ensure_ascii=False), personal_values(bill, raw)) == []
    assert "title" not in tags["format"].get("tags", {})


# ---- the check at load --------------------------------------------------------------------------


@pytest.fixture
def load_edited(tmp_path: Path, settings: Settings) -> Callable[[str, str, str], TemplateError]:
    """Copy bill-summary, replace `old` with `new` in one file, load it: the TemplateError raised."""

    def run(file: str, old: str, new: str) -> TemplateError:
        root = tmp_path / "bill-summary"
        shutil.copytree(SOURCE, root)
        text = (root / file).read_text(encoding="utf-8")
        assert old in text
        (root / file).write_text(text.replace(old, new, 1), encoding="utf-8")
        with pytest.raises(TemplateError) as caught:
            load_template(root, settings)
        return caught.value

    return run


def test_pdf_title_reading_a_personal_field_is_refused(load_edited: Callable[..., TemplateError]) -> None:
    error = load_edited(
        "pdf/bill.html", "<title>{{ t('title') }}", "<title>{{ t('title') }} {{ account_number }}"
    )
    assert error.file and error.file.endswith("pdf/bill.html") and error.line == 5
    assert "<title> reads the personal field account_number" in str(error)


@pytest.mark.parametrize(
    ("old", "new", "field"),
    [
        (  # through a set variable and a meta tag
            '<meta name="author" content="Tailor Energy">',
            '{% set who = last_name | upper %}\n<meta name="author" content="{{ who }}">',
            "last_name",
        ),
        (  # through a t() snippet that greets by name
            '<meta name="author" content="Tailor Energy">',
            '<meta name="description" content="{{ t(\'greeting\') }}">',
            "first_name",
        ),
        (  # through a block opened outside the element: every name it mentions
            "<title>{{ t('title') }}",
            "{% if city %}<title>{{ city }}{% endif %}",
            "city",
        ),
    ],
)
def test_pdf_meta_tags_reading_personal_fields_are_refused(
    load_edited: Callable[..., TemplateError], old: str, new: str, field: str
) -> None:
    error = load_edited("pdf/bill.html", old, new)
    assert error.file and error.file.endswith("pdf/bill.html") and error.line
    assert "reads the personal field" in str(error) and field in str(error)


def test_microsite_title_reading_the_recipient_id_is_refused(
    load_edited: Callable[..., TemplateError],
) -> None:
    error = load_edited("microsite/index.html", "<title>{{ t('title') }}", "<title>{{ recipient_id }}")
    assert error.file and error.file.endswith("microsite/index.html")
    assert "customer_id" in str(error)


def test_an_svg_title_in_the_body_is_content_not_metadata(tmp_path: Path, settings: Settings) -> None:
    root = tmp_path / "bill-summary"
    shutil.copytree(SOURCE, root)
    entry = root / "pdf" / "bill.html"
    text = entry.read_text(encoding="utf-8")
    drawing = '<svg role="img" width="1" height="1"><title>{{ first_name }}</title></svg>\n</body>'
    entry.write_text(text.replace("</body>", drawing, 1), encoding="utf-8")
    assert load_template(root, settings).name == "bill-summary"
