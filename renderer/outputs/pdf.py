"""The PDF output kind: its manifest section and entry files; the WeasyPrint engine it drives
lives in `document.py`, imported on first render only (it takes ~0.6 s to import)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from pydantic import Field

from renderer.outputs.kind import OutputKind, RenderContext, Rendered, RenderOptions
from renderer.outputs.template import Template
from renderer.template.models import Strict
from renderer.template.resolve import ResolvedSpec

if TYPE_CHECKING:
    from renderer.outputs.document import PreparedPdf


class PdfOutput(Strict):
    """The PDF: a Jinja HTML entry and a stylesheet, rendered by WeasyPrint."""

    entry: str
    stylesheet: str | None = None
    filename: str = Field(default="document.pdf", pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*\.pdf$")


class PdfKind(OutputKind[PdfOutput, "PreparedPdf"]):
    """The recipient's document, tagged PDF/UA-1."""

    name = "pdf"
    section = PdfOutput
    link_names = ("pdf",)
    chunk_rows = 8  # ~0.1 s each

    def entries(self, section: PdfOutput) -> list[str]:
        """The HTML entry and its stylesheet."""
        return [section.entry, *([section.stylesheet] if section.stylesheet else [])]

    def entry_names(self, section: PdfOutput) -> frozenset[str]:
        """``asset('…')``: the file URL of a template or shared asset."""
        return frozenset({"asset"})

    def html_entries(self, section: PdfOutput) -> list[str]:
        """The HTML entry (the stylesheet is CSS, whatever its name)."""
        return [section.entry]

    def lint_files(self, section: PdfOutput) -> list[tuple[str, bool]]:
        """The entry and the stylesheet, with the strict CSS range checks."""
        return [(file, True) for file in self.entries(section)]

    def links(self, template: Template, section: PdfOutput, options: RenderOptions) -> dict[str, str]:
        """The page links the PDF beside it."""
        return {"pdf": section.filename}

    def prepare(self, template: Template, section: PdfOutput) -> PreparedPdf:
        """The compiled entry, the parsed stylesheet and the asset fetcher."""
        from renderer.outputs.document import prepare_pdf

        with _layout_faults(template.name, section.entry, section.stylesheet):
            return prepare_pdf(template, section.entry, section.stylesheet, section.filename)

    def render(self, prepared: PreparedPdf, spec: ResolvedSpec, ctx: RenderContext) -> Rendered:
        """The recipient's PDF; a fault inside WeasyPrint's layout names the entry and stylesheet."""
        from renderer.outputs.document import render_pdf

        with _layout_faults(prepared.template.name, prepared.entry, prepared.stylesheet):
            return Rendered((render_pdf(prepared, spec, timeout_s=ctx.options.pdf_timeout_s),))


@contextmanager
def _layout_faults(template: str, entry: str, stylesheet: str | None) -> Iterator[None]:
    """Raise a TemplateError naming the entry and stylesheet for an error WeasyPrint raised
    while laying out or parsing the template's HTML/CSS (see `document.layout_fault`)."""
    from renderer.outputs.document import layout_fault

    try:
        yield
    except Exception as exc:
        fault = layout_fault(template, entry, stylesheet, exc)
        if fault is None:
            raise
        raise fault from exc


PDF = PdfKind()
