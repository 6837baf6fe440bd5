"""Microsite output: one self-contained ``index.html`` per recipient.

The page links only to content-hashed static files stored once per template (their hrefs come
from `RenderContext.static_href`: this module knows no storage layout) and to the recipient's
other outputs beside it; it loads nothing from the network.
"""

from __future__ import annotations

import hashlib
import mimetypes
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jinja2 import Template as JinjaTemplate
from pydantic import Field

from renderer.errors import AssetError, RenderError
from renderer.outputs.forms_markup import form_function
from renderer.outputs.kind import LineOf, OutputKind, RenderContext, Rendered, RenderedFile
from renderer.outputs.player import PageInteractions, chat_context, page_functions, render_cta_hrefs
from renderer.outputs.template import Template
from renderer.template.models import Form, Strict
from renderer.template.paths import MANIFEST, check_asset, resolve_asset
from renderer.template.resolve import ResolvedSpec

MICROSITE_FILE = "index.html"


class MicrositeOutput(Strict):
    """The microsite: a Jinja HTML entry plus static files shared by every recipient."""

    entry: str
    static: list[str] = Field(default_factory=list)


@dataclass(frozen=True)
class StaticAsset:
    """A file shared by every recipient's microsite, stored once under a content-hashed name."""

    source: str
    hashed_name: str
    data: bytes
    content_type: str


@dataclass(frozen=True)
class PreparedMicrosite:
    """The compiled entry and the template's hashed static files (by reference as written)."""

    jinja: JinjaTemplate
    static: Mapping[str, StaticAsset]
    template: Template
    forms: Mapping[str, Form] = field(default_factory=dict)  # interactions.forms by id


def hash_static(template: Template, refs: list[str]) -> dict[str, StaticAsset]:
    """Each static file read and named by its content (``style.<sha256[:16]>.css``)."""
    static: dict[str, StaticAsset] = {}
    for ref in refs:
        path = resolve_asset(ref, template.root, template.assets_dir)
        data = path.read_bytes()
        hashed = f"{path.stem}.{hashlib.sha256(data).hexdigest()[:16]}{path.suffix}"
        content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        static[ref] = StaticAsset(ref, hashed, data, content_type)
    return static


def _static_lookup(prepared: PreparedMicrosite, href: Callable[[str], str]) -> Callable[[str], str]:
    def static(ref: str) -> str:
        try:
            return href(prepared.static[ref].hashed_name)
        except KeyError:
            raise RenderError(f"static({ref!r}) is not listed in outputs.microsite.static") from None

    return static


def _page_interactions(template: Template, spec: ResolvedSpec, hrefs: Mapping[str, Any]) -> PageInteractions:
    interactions = template.manifest.interactions
    text = spec.context["t"]
    cta_hrefs = render_cta_hrefs(interactions, template.texts.get("_page", {}), spec.context)
    chat = chat_context(interactions, spec.context)
    return PageInteractions(interactions, cta_hrefs, hrefs, text, text.get, str(spec.context["lang"]), chat)


class MicrositeKind(OutputKind[MicrositeOutput, PreparedMicrosite]):
    """The recipient's web page."""

    name = "microsite"
    section = MicrositeOutput
    shows_links = True

    def entries(self, section: MicrositeOutput) -> list[str]:
        """The page's HTML entry."""
        return [section.entry]

    def entry_names(self, section: MicrositeOutput) -> frozenset[str]:
        """``static``, ``player``, ``cta``, ``csp`` and ``form`` (the page also reads each
        output's ``<link>_href``: `shows_links`)."""
        return frozenset({"static", "player", "cta", "csp", "form"})

    def lint_files(self, section: MicrositeOutput) -> list[tuple[str, bool]]:
        """The entry and the template's own CSS files (shared ``@assets`` are not the template's)."""
        css = [ref for ref in section.static if ref.endswith(".css") and not ref.startswith("@")]
        return [(section.entry, False), *((ref, False) for ref in css)]

    def check_files(self, root: Path, assets_dir: Path, section: MicrositeOutput, line_of: LineOf) -> None:
        """Every static file exists inside the template or the shared assets, and reads."""
        manifest, line = str(root / MANIFEST), line_of(("outputs", "microsite", "static"))
        for ref in section.static:
            path = check_asset(ref, root, assets_dir, file=manifest, line=line)
            try:
                with path.open("rb"):  # readable; its bytes are read (and hashed) once, by `prepare`
                    pass
            except OSError as exc:
                raise AssetError(f"cannot read {ref!r}: {exc.strerror}", file=manifest, line=line) from None

    def prepare(self, template: Template, section: MicrositeOutput) -> PreparedMicrosite:
        """The compiled entry and the hashed static files."""
        return PreparedMicrosite(
            template.html_env.get_template(section.entry),
            hash_static(template, section.static),
            template,
            {form.id: form for form in template.manifest.interactions.forms},
        )

    def render(self, prepared: PreparedMicrosite, spec: ResolvedSpec, ctx: RenderContext) -> Rendered:
        """The recipient's ``index.html``, linking the outputs rendered with it."""
        hrefs: dict[str, Any] = {f"{name}_href": href for name, href in ctx.links.items()}
        static = _static_lookup(prepared, ctx.static_href)
        interactive = page_functions(_page_interactions(prepared.template, spec, hrefs))
        form = form_function(prepared.forms, spec.context["t"])
        html = prepared.jinja.render({**spec.context, "static": static, "form": form, **hrefs, **interactive})
        return Rendered((RenderedFile(MICROSITE_FILE, html.encode("utf-8"), "text/html; charset=utf-8"),))


MICROSITE = MicrositeKind()
