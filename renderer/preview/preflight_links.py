"""The pre-flight ``link`` check: every link a recipient gets must be safe to follow.

Looked at: in the rendered microsite HTML (parsed with the stdlib `html.parser`, so entities are
decoded as a browser decodes them) ``<a href>``, ``<area href>``, ``<form action>`` and
``<button|input formaction>``; and the text of each video ``qr`` layer that reads as a URL (it
has a scheme). A call to action's ``href`` with an unsafe scheme already fails the render (the
player refuses it), so it shows up as a ``render`` finding.

Allowed without a finding: ``http:`` and ``https:`` URLs, links without a scheme (relative links
to the recipient's own files such as ``bill.pdf``, fragments such as ``#details``, ``//host``),
``mailto:`` and ``tel:``. Anything else (``javascript:``, ``data:``, ``file:``, ``ftp:``...) is an
error. A finding names the output, the element and attribute, and only the scheme: never the
URL, which may hold a personal value.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

from renderer.preview.findings import Finding

ALLOWED_SCHEMES = frozenset({"", "http", "https", "mailto", "tel"})
LINK_ATTRIBUTES = {
    "a": "href",
    "area": "href",
    "form": "action",
    "button": "formaction",
    "input": "formaction",
}
_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.\-]*):")
_STRIP = "".join(chr(c) for c in range(0x21))  # what a browser trims from a URL's ends: C0 and space


def url_scheme(url: str) -> str:
    """The scheme of `url` as a browser reads it (lowercase; "" when it has none): the ends
    trimmed of controls and spaces, tabs and newlines inside removed (``java\\tscript:`` is
    ``javascript:``)."""
    cleaned = re.sub(r"[\t\n\r]", "", url.strip(_STRIP))
    found = _SCHEME.match(cleaned)
    return found.group(1).lower() if found else ""


class _LinkParser(HTMLParser):
    """Collects (element, attribute, value) of each link attribute, in document order."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.links: list[tuple[str, str, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        wanted = LINK_ATTRIBUTES.get(tag)
        for name, value in attrs:
            if name == wanted and value is not None:
                self.links.append((tag, name, value))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)


def html_links(html: str) -> list[tuple[str, str, str]]:
    """(element, attribute, URL) of every link in `html`, in document order."""
    parser = _LinkParser()
    parser.feed(html)
    parser.close()
    return parser.links


def _shown_scheme(scheme: str) -> str:
    return scheme[:24]  # a scheme is a short word; never quote more of what came from data


def page_link_findings(html: str, output: str, recipient: str, file: str | None) -> list[Finding]:
    """A ``link`` error for each link of the rendered page `html` (of `output`, rendered from the
    template file `file`) whose scheme is not allowed (see the module docstring)."""
    findings = []
    for number, (tag, attribute, url) in enumerate(html_links(html), start=1):
        scheme = url_scheme(url)
        if scheme in ALLOWED_SCHEMES:
            continue
        element = f"<{tag} {attribute}>"
        findings.append(
            Finding(
                "link",
                "error",
                recipient,
                f"{output}: {element} #{number}",
                f"link #{number} ({element}) of the {output} uses the '{_shown_scheme(scheme)}:' scheme;"
                " only http(s), mailto:, tel: and relative links are allowed",
                file,
            )
        )
    return findings


def qr_link_finding(data: str, recipient: str, where: str, line: int | None) -> Finding | None:
    """A ``link`` error when a QR layer's text (`data`) is a URL whose scheme is not allowed."""
    scheme = url_scheme(data)
    if scheme in ALLOWED_SCHEMES:
        return None
    message = f"{where} encodes a '{_shown_scheme(scheme)}:' link; a QR code should open an http(s) page"
    return Finding("link", "error", recipient, where, message, "template.yaml", line)
