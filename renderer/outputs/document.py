"""PDF output: the template's document entry rendered by WeasyPrint, safely.

The URL fetcher serves only files inside the template folder and the shared assets folder:
no network, no other file:// paths, no redirects. A render has a time limit.
"""

from __future__ import annotations

import contextlib
import logging
import mimetypes
import os
import signal
import threading
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any
from urllib.parse import unquote, urlsplit

from jinja2 import Template as JinjaTemplate
from weasyprint import CSS, HTML
from weasyprint.text.fonts import FontConfiguration
from weasyprint.urls import URLFetcher, URLFetcherResponse

from renderer.errors import RenderError, RenderTimeout, TemplateError
from renderer.outputs.images import image_failure
from renderer.outputs.kind import RenderedFile
from renderer.outputs.template import Template
from renderer.template.paths import allowed_roots, is_allowed_file, resolve_asset
from renderer.template.resolve import ResolvedSpec


class RefusedURL(ValueError):
    """A resource URL the document fetcher will not load."""


class TemplateAssetFetcher(URLFetcher):  # type: ignore[misc]
    """A WeasyPrint fetcher that only reads files inside the given folders (and data: URIs)."""

    def __init__(self, roots: tuple[Path, ...], **kwargs: Any) -> None:
        super().__init__(allow_redirects=False, allowed_protocols={"file", "data"}, **kwargs)
        self.roots = tuple(root.resolve() for root in roots)

    def fetch(self, url: str, headers: Any = None) -> URLFetcherResponse:
        """Serve `url` if it is a file inside the allowed folders; raise RefusedURL otherwise."""
        parts = urlsplit(url)
        if parts.scheme == "data":
            return super().fetch(url, headers)
        if parts.scheme != "file" or parts.netloc not in ("", "localhost"):
            raise RefusedURL(f"refused non-local URL scheme {parts.scheme!r}")
        path = Path(unquote(parts.path))
        if not is_allowed_file(path, self.roots):
            raise RefusedURL("refused a file outside the template and assets folders")
        content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        return URLFetcherResponse(url, path.read_bytes(), {"Content-Type": content_type})


# after the limit, the timer fires again this often until the RenderTimeout escapes the block
_REFIRE_S = 0.05


@contextlib.contextmanager
def time_limit(seconds: float, what: str) -> Iterator[None]:
    """Raise RenderTimeout if the block runs longer than `seconds` (main thread: SIGALRM timer).

    Code in the block that catches every Exception (WeasyPrint does, loading an image or a
    stylesheet) cannot keep running past the limit: the timer raises again every 50 ms, and a
    block that ends after the limit raises RenderTimeout even if it swallowed them all."""
    if threading.current_thread() is not threading.main_thread():
        yield  # worker threads cannot take signals; the API renders through the process pool
        return
    expired = False

    def expire(signum: int, frame: FrameType | None) -> None:
        nonlocal expired
        expired = True
        raise RenderTimeout(f"{what} took longer than {seconds:g} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds, _REFIRE_S)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    if expired:
        raise RenderTimeout(f"{what} took longer than {seconds:g} s")


# Tagged (structure tree, marked content, alt texts), with the document language, an XMP packet
# and the title shown in the viewer's title bar: the accessible PDF/UA variant.
PDF_VARIANT = "pdf/ua-1"
_WEASYPRINT_LOG = logging.getLogger("weasyprint")
_FONTS: FontConfiguration | None = None
_IMAGE_CACHE_LIMIT = 256


def _font_config() -> FontConfiguration:
    global _FONTS
    if _FONTS is None:
        _FONTS = FontConfiguration()
    return _FONTS


@dataclass
class PreparedPdf:
    """What every recipient's PDF reuses: the compiled entry, the parsed stylesheet, the asset
    fetcher, and WeasyPrint's image cache (failed images and a full cache are dropped)."""

    template: Template
    entry: str
    stylesheet: str | None
    filename: str
    jinja: JinjaTemplate
    asset: Callable[[str], str]
    fetcher: TemplateAssetFetcher
    stylesheets: list[CSS]
    base_url: str
    image_cache: dict[str, Any] = field(default_factory=dict)


def prepare_pdf(template: Template, entry: str, stylesheet: str | None, filename: str) -> PreparedPdf:
    """Compile `entry` and parse `stylesheet` once for every recipient of `template`; the PDFs
    are called `filename`."""
    fetcher = TemplateAssetFetcher(allowed_roots(template.root, template.assets_dir))
    stylesheets = []
    if stylesheet:
        css_path = resolve_asset(stylesheet, template.root, template.root)
        stylesheets.append(CSS(filename=str(css_path), url_fetcher=fetcher, font_config=_font_config()))

    def asset(ref: str) -> str:
        return resolve_asset(ref, template.root, template.assets_dir).as_uri()

    return PreparedPdf(
        template,
        entry,
        stylesheet,
        filename,
        template.html_env.get_template(entry),
        asset,
        fetcher,
        stylesheets,
        template.root.as_uri() + "/",
    )


class _ImageFailures(logging.Handler):
    """Collects WeasyPrint's "Failed to load image" reports (it logs them and drops the image)."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.thread = threading.get_ident()
        self.failed: list[tuple[str, BaseException]] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.thread != self.thread or not str(record.msg).startswith("Failed to load image"):
            return
        args = record.args if isinstance(record.args, tuple) else ()
        if len(args) >= 2 and isinstance(args[1], BaseException):
            self.failed.append((str(args[0]), args[1]))


@contextlib.contextmanager
def _failed_images() -> Iterator[_ImageFailures]:
    handler = _ImageFailures()
    _WEASYPRINT_LOG.addHandler(handler)
    try:
        yield handler
    finally:
        _WEASYPRINT_LOG.removeHandler(handler)


def render_pdf(prepared: PreparedPdf, spec: ResolvedSpec, *, timeout_s: float = 60.0) -> RenderedFile:
    """Render the recipient's PDF, tagged for accessibility (PDF/UA-1), with metadata that holds no
    personal value (checked on the template at load); RenderTimeout past `timeout_s`, RenderError
    on other failures, among them any image it cannot use (`image_failure`: never dropped)."""
    template = prepared.template
    html = prepared.jinja.render({**spec.context, "asset": prepared.asset})
    with time_limit(timeout_s, f"PDF of template {template.name!r}"), _failed_images() as images:
        document = HTML(string=html, base_url=prepared.base_url, url_fetcher=prepared.fetcher)
        data = document.write_pdf(
            stylesheets=prepared.stylesheets,
            font_config=_font_config(),
            attachments=None,
            cache=prepared.image_cache,
            pdf_variant=PDF_VARIANT,
        )
    cache = prepared.image_cache
    for url in [url for url, image in cache.items() if image is None]:
        del cache[url]  # a failed image is tried (and reported) again by the next render
    if len(cache) > _IMAGE_CACHE_LIMIT:
        cache.clear()  # per-recipient data: URIs must not pile up
    if images.failed:  # the rule of every output: an image it cannot use fails the row
        url, exc = images.failed[0]
        raise image_failure(template, spec, url, exc)
    if data is None:
        raise RenderError(f"WeasyPrint produced no PDF for template {template.name!r}")
    return RenderedFile(prepared.filename, bytes(data), "application/pdf")


def layout_fault(
    template: str, entry: str, stylesheet: str | None, exc: BaseException
) -> TemplateError | None:
    """A TemplateError naming the PDF's entry and stylesheet when `exc` was raised inside
    WeasyPrint's layout or drawing (the template's HTML/CSS asked for the impossible, such as
    ``font-size: 1e9px``), else None. Names files and the error type, never document text."""
    frames = traceback.extract_tb(exc.__traceback__)
    if isinstance(exc, RenderError) or not frames:
        return None
    if f"{os.sep}weasyprint{os.sep}" not in frames[-1].filename:
        return None
    files = " and ".join(f for f in (entry, stylesheet) if f)
    return TemplateError(
        f"WeasyPrint cannot lay out the PDF ({type(exc).__name__}): check {files} for out-of-range "
        "values (`tailor validate` names the line)",
        file=f"{template}/{stylesheet or entry}",
    )
