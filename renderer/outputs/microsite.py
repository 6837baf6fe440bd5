"""Microsite output: one self-contained ``index.html`` per recipient.

The page links only to content-hashed static files stored once per template (``../../_static``)
and to its own PDF beside it; it loads nothing from the network.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from renderer.errors import RenderError
from renderer.storage.keys import static_href
from renderer.template.load import Template
from renderer.template.resolve import ResolvedSpec

MICROSITE_FILE = "index.html"


@dataclass(frozen=True)
class RenderedFile:
    """One rendered output file for one recipient."""

    name: str
    data: bytes
    content_type: str


LINKED_OUTPUTS = ("pdf", "video", "poster", "captions")


def _hrefs(links: Mapping[str, str | None]) -> dict[str, str | None]:
    return {f"{name}_href": links.get(name) for name in LINKED_OUTPUTS}


def _static_lookup(template: Template) -> Callable[[str], str]:
    hrefs = {ref: static_href(asset.hashed_name) for ref, asset in template.static.items()}

    def static(ref: str) -> str:
        try:
            return hrefs[ref]
        except KeyError:
            raise RenderError(f"static({ref!r}) is not listed in outputs.microsite.static") from None

    return static


def render_microsite(
    template: Template, spec: ResolvedSpec, *, links: Mapping[str, str | None] | None = None
) -> RenderedFile:
    """Render the recipient's ``index.html``; raises RenderError naming the template on failure.

    `links` name the recipient's other outputs beside the page when they are rendered with it
    (``pdf``, ``video``, ``poster``, ``captions``); the page sees them as ``pdf_href`` etc.
    """
    site = template.manifest.outputs.microsite
    if site is None:
        raise RenderError(f"template {template.name!r} has no microsite output")
    cached = template.extra.get("microsite")
    if cached is None:
        cached = {
            "jinja": template.html_env.get_template(site.entry),
            "static": _static_lookup(template),
        }
        template.extra["microsite"] = cached
    html = cached["jinja"].render({**spec.context, "static": cached["static"], **_hrefs(links or {})})
    return RenderedFile(MICROSITE_FILE, html.encode("utf-8"), "text/html; charset=utf-8")
