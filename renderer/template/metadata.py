"""Pure: a template's document metadata reads no personal field.

A page's ``<title>`` and ``<meta>`` tags become a PDF's metadata (Title, Author, Subject, Keywords
and the XMP packet) and a browser tab's, history's and bookmark's text: they travel further than the
document and are indexed by tools that never open it. So in the HTML entries of the microsite and
the PDF (and the files they include or extend) they must not read the recipient id or a field the
contract marks ``personal``, directly or through computed values, ``{% set %}`` variables, loop
variables or ``t()`` snippets. The check is static, like `refs.py`: it reads the template, not
a recipient; where a fragment cannot be parsed alone it assumes the widest reading.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from jinja2 import TemplateSyntaxError, meta, nodes
from jinja2.sandbox import ImmutableSandboxedEnvironment

from renderer.errors import TemplateError
from renderer.template.models import Manifest
from renderer.template.refs import (
    JINJA_MARKERS,
    Refs,
    fields_reader,
    node_refs,
    personal_fields,
    template_refs,
)

_ELEMENT = re.compile(r"<title\b[^>]*>.*?</title\s*>|<meta\b[^>]*>", re.IGNORECASE | re.DOTALL)
_SVG = re.compile(r"<svg\b.*?</svg\s*>", re.IGNORECASE | re.DOTALL)  # an SVG <title> names a drawing
_META_NAME = re.compile(r"""\b(?:name|property|http-equiv)\s*=\s*["']?([^"'\s>]+)""", re.IGNORECASE)
_MAX_FILES = 50  # included and extended files followed from one entry


@dataclass(frozen=True)
class MetadataLeak:
    """A metadata element that reads personal fields: where it is and which fields (never values)."""

    file: str
    line: int
    element: str
    fields: tuple[str, ...]


def _describe(element: str) -> str:
    if element[:6].lower() == "<title":
        return "<title>"
    named = _META_NAME.search(element)
    return f'<meta name="{named.group(1)}">' if named else "<meta>"


def _locals(tree: nodes.Template, texts: frozenset[str]) -> dict[str, Refs]:
    """Names the file binds itself (set, set blocks, for and with) -> what their values read."""
    bound: dict[str, Refs] = {}

    def bind(target: nodes.Node, refs: Refs) -> None:
        for name in [target, *target.find_all(nodes.Name)]:
            if isinstance(name, nodes.Name):
                bound[name.name] = bound.get(name.name, Refs()) | refs

    for node in tree.find_all((nodes.Assign, nodes.AssignBlock, nodes.For, nodes.With)):
        if isinstance(node, nodes.Assign):
            bind(node.target, node_refs(node.node, texts))
        elif isinstance(node, nodes.AssignBlock):
            bind(node.target, node_refs(nodes.Output(node.body), texts))
        elif isinstance(node, nodes.For):
            bind(node.target, node_refs(node.iter, texts))
        elif isinstance(node, nodes.With):
            for target, value in zip(node.targets, node.values, strict=False):
                bind(target, node_refs(value, texts))
    return bound


def _expand(refs: Refs, bound: dict[str, Refs]) -> Refs:
    """`refs` with the file's own variables replaced by what their values read (cycles are fine)."""
    total, pending, seen = refs, list(refs.names), set()
    while pending:
        name = pending.pop()
        if name in seen or name not in bound:
            continue
        seen.add(name)
        total |= bound[name]
        pending.extend(bound[name].names)
    return total


def _fragment_refs(env: ImmutableSandboxedEnvironment, fragment: str, texts: frozenset[str]) -> Refs:
    try:
        return template_refs(env, fragment, texts)
    except TemplateSyntaxError:  # a block opened outside the element: every name it mentions
        names = frozenset(value for _line, kind, value in env.lex(fragment) if kind == "name")
        return Refs(names, texts if "t" in names else frozenset())


def _file_leaks(
    env: ImmutableSandboxedEnvironment,
    manifest: Manifest[Any],
    source: str,
    file: str,
    fields_of: Callable[[Refs], frozenset[str]],
) -> Iterator[MetadataLeak]:
    texts = frozenset(key for table in manifest.text.values() for key in table)
    bound = _locals(env.parse(source), texts)
    personal = personal_fields(manifest.contract)
    drawings = [span.span() for span in _SVG.finditer(source)]
    for match in _ELEMENT.finditer(source):
        element = match.group(0)
        in_svg = any(start <= match.start() < end for start, end in drawings)
        if in_svg or not any(marker in element for marker in JINJA_MARKERS):
            continue
        read = fields_of(_expand(_fragment_refs(env, element, texts), bound)) & personal
        if read:
            line = source.count("\n", 0, match.start()) + 1
            yield MetadataLeak(file, line, _describe(element), tuple(sorted(read)))


def metadata_leaks(
    env: ImmutableSandboxedEnvironment,
    manifest: Manifest[Any],
    entry: str,
    fields_of: Callable[[Refs], frozenset[str]] | None = None,
) -> list[MetadataLeak]:
    """Every metadata element (``<title>``, ``<meta>``) of the entry `entry` and of the files it
    includes, imports or extends (through `env`'s loader) that reads a personal field; `fields_of`
    is the manifest's `fields_reader` when the caller has one (building it parses every snippet)."""
    fields_of = fields_of or fields_reader(manifest)
    leaks: list[MetadataLeak] = []
    pending, seen = [entry], set[str]()
    while pending and len(seen) < _MAX_FILES:
        name = pending.pop()
        if name in seen or env.loader is None:
            continue
        seen.add(name)
        source, filename, _uptodate = env.loader.get_source(env, name)
        leaks.extend(_file_leaks(env, manifest, source, filename or name, fields_of))
        pending.extend(ref for ref in meta.find_referenced_templates(env.parse(source)) if ref)
    return leaks


def check_metadata(env: ImmutableSandboxedEnvironment, manifest: Manifest[Any], entries: list[str]) -> None:
    """Raise TemplateError (file, line, element and field names) at the first metadata element of
    an HTML entry (the outputs list them) that reads a personal field."""
    fields_of = fields_reader(manifest)  # once for every entry
    for entry in entries:
        for leak in metadata_leaks(env, manifest, entry, fields_of):
            raise TemplateError(
                f"{leak.element} reads the personal field {', '.join(leak.fields)}: document metadata "
                "(a page's <title> and <meta> tags, a PDF's Title, Author, Subject, Keywords and XMP) "
                "must hold no personal value",
                file=leak.file,
                line=leak.line,
            )
