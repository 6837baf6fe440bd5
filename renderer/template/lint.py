"""Static checks of a template's entry files, run by `load_template` (so `tailor validate`, a
campaign and the API all refuse a faulty template before rendering anyone).

Each check takes source text and returns `Finding`s (line, message); `lint_entries` reads the
files and raises the first finding as a `TemplateError` naming the file and line.

* CSS lengths out of range in the PDF's stylesheet and ``<style>`` / ``style=""`` of its entry:
  WeasyPrint (Pango) cannot lay out ``font-size: 1e9px`` and fails with a ZeroDivisionError.
* URLs in the PDF and microsite entries, the PDF stylesheet and the microsite's own CSS files
  (``src``, ``href``, ``srcset``, ``poster``, ``data``, CSS ``url()`` and ``@import``): only files
  of the template (relative paths that stay inside it), ``@assets`` files through ``asset()`` /
  ``static()``, ``data:`` URIs and ``#fragments`` load. A network or absolute URL such as
  ``http://127.0.0.1/...`` is refused (the PDF fetcher would refuse it at render time only).
  Links people follow (``<a>``, ``<area>``: ``http(s):``, ``mailto:``, ``tel:``) are allowed.
  Values written with Jinja (``{{ static(...) }}``, ``{{ pay_url }}``) are not checked here.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import tinycss2

from renderer.errors import TemplateError

MAX_CSS_PX = 1_000_000  # Pango sizes are 32-bit integers of 1/1024 px: about 2,097,151 px at most
_PX_PER_UNIT = {
    "px": 1.0,
    "pt": 4 / 3,
    "pc": 16.0,
    "in": 96.0,
    "cm": 96 / 2.54,
    "mm": 96 / 25.4,
    "q": 96 / 101.6,
    "em": 16.0,
    "rem": 16.0,
    "ex": 8.0,
    "ch": 8.0,
    "vw": 10.0,
    "vh": 10.0,
    "vmin": 10.0,
    "vmax": 10.0,
}
_STYLE_BLOCK = re.compile(r"<style\b[^>]*>(.*?)</style>", re.S | re.I)
_STYLE_ATTR = re.compile(r"""\sstyle\s*=\s*(?:"([^"]*)"|'([^']*)')""", re.I)


@dataclass(frozen=True)
class Finding:
    """One problem in one file: the 1-based line and what is wrong (no recipient value)."""

    line: int
    message: str


def _walk(tokens: Iterable[Any]) -> Iterator[Any]:
    for token in tokens:
        yield token
        for attr in ("content", "arguments", "prelude"):
            nested = getattr(token, attr, None)
            if isinstance(nested, list):
                yield from _walk(nested)


def css_range_findings(css: str, first_line: int = 1) -> list[Finding]:
    """Lengths in `css` whose size exceeds what a PDF can lay out (`MAX_CSS_PX`, in px)."""
    findings = []
    for token in _walk(tinycss2.parse_component_value_list(css)):
        if token.type != "dimension":
            continue
        px = abs(float(token.value)) * _PX_PER_UNIT.get(token.lower_unit, 1.0)
        if px > MAX_CSS_PX:
            findings.append(
                Finding(
                    first_line + token.source_line - 1,
                    f"CSS length {token.representation}{token.unit} is out of range "
                    f"(at most {MAX_CSS_PX:,} px)",
                )
            )
    return findings


def html_css_findings(html: str) -> list[Finding]:
    """`css_range_findings` for every ``<style>`` block and ``style=""`` attribute of `html`."""
    findings = []
    for match in [*_STYLE_BLOCK.finditer(html), *_STYLE_ATTR.finditer(html)]:
        group = 1 if match.group(1) is not None else 2
        first_line = html.count("\n", 0, match.start(group)) + 1
        findings += css_range_findings(match.group(group), first_line)
    return findings


_TAG = re.compile(r"<([A-Za-z][\w:-]*)((?:[^>\"']|\"[^\"]*\"|'[^']*')*)>")
_ATTR = re.compile(r"""([\w:-]+)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+))""")
_URL_ATTRS = frozenset({"src", "href", "xlink:href", "srcset", "poster", "data", "background", "action"})
_LINK_TAGS = frozenset({"a", "area"})
_LINK_SCHEMES = ("http:", "https:", "mailto:", "tel:")
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")


def url_problem(url: str, base: Path, root: Path, *, link: bool = False) -> str | None:
    """Why `url` (written in a file of folder `base`, inside template `root`) may not load, or
    None: allowed are ``data:``, ``#fragments`` and relative paths inside the template (and, for
    a `link` people follow, http(s)/mailto/tel). Jinja-written values are not judged."""
    url = url.strip()
    if not url or "{{" in url or "{%" in url or url.startswith("#"):
        return None
    lowered = url.lower()
    if lowered.startswith("data:") or (link and lowered.startswith(_LINK_SCHEMES)):
        return None
    if _SCHEME.match(url) or url.startswith(("/", "\\")):
        return f"refused URL {url!r}: only template files, @assets (asset()/static()) and data: URIs load"
    target = (base / url.split("#")[0].split("?")[0]).resolve()
    if target != root and root not in target.parents:
        return f"refused URL {url!r}: it points outside the template folder"
    return None


def _css_urls(css: str) -> Iterator[tuple[str, int]]:
    """(URL, line) of every ``url()`` and ``@import`` in `css`."""
    after_import = False
    for token in _walk(tinycss2.parse_component_value_list(css)):
        if token.type == "url":
            yield token.value, token.source_line
        elif token.type == "function" and token.lower_name == "url":
            first = next((arg for arg in token.arguments if arg.type != "whitespace"), None)
            if first is not None and first.type == "string":
                yield first.value, token.source_line
        elif after_import and token.type == "string":
            yield token.value, token.source_line
        if token.type not in ("whitespace", "comment"):
            after_import = token.type == "at-keyword" and token.lower_value == "import"


def css_url_findings(css: str, base: Path, root: Path, first_line: int = 1) -> list[Finding]:
    """`url_problem` of every URL in a stylesheet (`first_line`: where `css` starts in its file)."""
    problems = ((url_problem(url, base, root), line) for url, line in _css_urls(css))
    return [Finding(first_line + line - 1, problem) for problem, line in problems if problem]


def html_url_findings(html: str, base: Path, root: Path) -> list[Finding]:
    """`url_problem` of every URL attribute of `html` and of the CSS in its ``<style>`` and ``style=""``."""
    findings = []
    for tag in _TAG.finditer(html):
        link = tag.group(1).lower() in _LINK_TAGS
        for attr in _ATTR.finditer(tag.group(2)):
            name = attr.group(1).lower()
            value = next(v for v in attr.groups()[1:] if v is not None)
            if name not in _URL_ATTRS:
                continue
            urls = (
                [part.split()[0] for part in value.split(",") if part.split()]
                if name == "srcset"
                else [value]
            )
            line = html.count("\n", 0, tag.start(2) + attr.start()) + 1
            for url in urls:
                if problem := url_problem(url, base, root, link=link and name == "href"):
                    findings.append(Finding(line, f"{name}: {problem}"))
    for match in [*_STYLE_BLOCK.finditer(html), *_STYLE_ATTR.finditer(html)]:
        group = 1 if match.group(1) is not None else 2
        first_line = html.count("\n", 0, match.start(group)) + 1
        findings += css_url_findings(match.group(group), base, root, first_line)
    return findings


def _raise_first(findings: list[Finding], file: str) -> None:
    if findings:
        first = min(findings, key=lambda finding: finding.line)
        more = f" (and {len(findings) - 1} more)" if len(findings) > 1 else ""
        raise TemplateError(first.message + more, file=file, line=first.line)


def lint_entries(files: list[tuple[str, bool]], root: Path) -> None:
    """Run every check on `files` ((file, strict) as the output kinds list them: `strict` adds the
    CSS range checks); TemplateError naming the file and line of the first problem. The files are
    known to exist inside `root` (checked first)."""
    root = root.resolve()
    for name, is_pdf in files:
        path = root / name
        text = path.read_text(encoding="utf-8")
        if name.endswith(".css"):
            findings = css_url_findings(text, path.parent, root)
            findings += css_range_findings(text) if is_pdf else []
        else:
            findings = html_url_findings(text, path.parent, root)
            findings += html_css_findings(text) if is_pdf else []
        _raise_first(findings, str(path))
