"""Hostile recipient values stay text; the PDF fetcher reads only the template's own files."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from pypdf import PdfReader

from renderer.outputs import document
from renderer.outputs.document import RefusedURL, TemplateAssetFetcher
from renderer.outputs.render import render_recipient
from renderer.outputs.template import Template
from renderer.storage import LocalStorage
from tests.outputs.test_document import pdf_text

HOSTILE = {
    "first_name": "<script>alert(1)</script>{{7*7}}",
    "last_name": "{{7*7}}",
    "street": "<img src=file:///etc/passwd>",
    "city": '<link rel=attachment href="file:///etc/passwd">',
}


@pytest.fixture(scope="module")
def hostile_outputs(bill: Template, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str]]:
    fetched: list[str] = []
    original = TemplateAssetFetcher.fetch

    def spy(self: TemplateAssetFetcher, url: str, headers: object = None) -> object:
        fetched.append(url)
        return original(self, url, headers)

    TemplateAssetFetcher.fetch = spy  # type: ignore[method-assign]
    try:
        recipient = bill.validator.validate({**bill.samples["en-US"], **HOSTILE})
        storage = LocalStorage(tmp_path_factory.mktemp("hostile"))
        keys = render_recipient(bill, recipient, ["microsite", "pdf"], storage, "hostile").to_record()
    finally:
        TemplateAssetFetcher.fetch = original  # type: ignore[method-assign]
    return storage.path(keys["microsite"]).parent, fetched


def test_microsite_escapes_hostile_values(hostile_outputs: tuple[Path, list[str]]) -> None:
    page = (hostile_outputs[0] / "index.html").read_text(encoding="utf-8")
    heading = re.split(r'<h1 id="greeting"[^>]*>', page, maxsplit=1)[1].split("</h1>", 1)[0]
    greeting = (
        "Hi {}, here is your bill"
        if 'data-headline="plain"' in page
        else "Good to see you, {}: your bill is ready"
    )
    assert heading == greeting.format("&lt;script&gt;alert(1)&lt;/script&gt;{{7*7}}")
    assert "<script>alert" not in page
    assert "49" not in heading


def test_pdf_shows_hostile_values_literally_and_fetches_nothing_of_them(
    hostile_outputs: tuple[Path, list[str]],
) -> None:
    folder, fetched = hostile_outputs
    pdf = folder / "bill.pdf"
    text = pdf_text(pdf)
    for value in HOSTILE.values():
        assert value in text, value
    assert PdfReader(pdf).attachments == {}
    assert not any("passwd" in url for url in fetched), fetched
    assert b"root:x:0:0" not in pdf.read_bytes()


@pytest.fixture
def fetcher(bill: Template) -> TemplateAssetFetcher:
    return TemplateAssetFetcher((bill.root, bill.assets_dir))


def test_fetcher_serves_template_and_shared_assets(fetcher: TemplateAssetFetcher, bill: Template) -> None:
    response = fetcher.fetch((bill.root / "pdf" / "bill.css").as_uri())
    assert b"@page" in response.read()
    assert b"<svg" in fetcher.fetch((bill.assets_dir / "brand" / "logo.svg").as_uri()).read()
    assert fetcher.fetch("data:text/plain,hello").read() == b"hello"


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "file://localhost/etc/hostname",
        "http://127.0.0.1:9/x.png",
        "https://example.com/logo.png",
        "ftp://127.0.0.1/x",
        "file://other-host/share/x.css",
    ],
)
def test_fetcher_refuses_everything_else(fetcher: TemplateAssetFetcher, url: str) -> None:
    with pytest.raises((RefusedURL, ValueError)):
        fetcher.fetch(url)


def test_fetcher_refuses_traversal_and_symlinks_out(
    fetcher: TemplateAssetFetcher, bill: Template, tmp_path: Path
) -> None:
    with pytest.raises(RefusedURL):
        fetcher.fetch(bill.root.as_uri() + "/../../../../etc/passwd")
    secret = tmp_path / "secret.css"
    secret.write_text("body{}", encoding="utf-8")
    link = bill.root / "pdf" / "linked-secret.css"
    os.symlink(secret, link)
    try:
        with pytest.raises(RefusedURL):
            fetcher.fetch(link.as_uri())
    finally:
        link.unlink()


def test_pdf_render_time_limit(bill: Template) -> None:
    from renderer.errors import RenderTimeout

    with pytest.raises(RenderTimeout, match="took longer than"), document.time_limit(0.05, "test"):
        sum(i for i in range(10**9))


def test_huge_images_are_refused(tmp_path: Path) -> None:
    import warnings

    from PIL import Image

    from renderer.outputs.images import limit_image_size

    previous = Image.MAX_IMAGE_PIXELS
    path = tmp_path / "huge.png"
    Image.new("1", (4000, 3000)).save(path)  # 12 MP, tiny on disk
    try:
        with warnings.catch_warnings():
            limit_image_size(5_000_000)
            with (
                pytest.raises((Image.DecompressionBombError, Image.DecompressionBombWarning)),
                Image.open(path) as image,
            ):
                image.load()
    finally:
        Image.MAX_IMAGE_PIXELS = previous
