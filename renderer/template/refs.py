"""Pure: what a template's Jinja reads, followed through computed values and ``t()`` snippets to
the contract fields behind it, and which of those fields are personal.

`template_refs` / `expression_refs` say what one piece of Jinja reads (`Refs`); `FieldGraph`
follows those reads through the manifest's computed values and snippets to contract fields;
`personal_fields` names the recipient id and every field marked ``personal: true`` (a list field
counts when one of its item fields does). The analysis is static: it looks at the template, never
at a recipient's values; where a reference cannot be pinned down (a ``t()`` key computed at render
time) it assumes the widest reading. The document-metadata check and the video's personal-scene
analysis (`renderer.outputs.video.personal`) are built on it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from jinja2 import meta, nodes
from jinja2.parser import Parser
from jinja2.sandbox import ImmutableSandboxedEnvironment

from renderer.template.jinja import expression_environment
from renderer.template.models import Contract, FieldSpec, Manifest

JINJA_MARKERS = ("{{", "{%", "{#")
LOCALE_NAMES = frozenset(
    {"locale", "lang", "dir", "calendars", "t"}
)  # context names the locale field decides


@dataclass(frozen=True)
class Refs:
    """What a piece of Jinja reads: context names, and the keys of the ``t()`` snippets it calls."""

    names: frozenset[str] = frozenset()
    texts: frozenset[str] = frozenset()

    def __or__(self, other: Refs) -> Refs:
        return Refs(self.names | other.names, self.texts | other.texts)


def union_refs(refs: Iterable[Refs]) -> Refs:
    """Everything any of `refs` reads."""
    total = Refs()
    for ref in refs:
        total |= ref
    return total


def _literal_prefix(node: nodes.Node) -> tuple[str, bool]:
    """The known start of a ``t()`` key and whether it is the whole key (``'v_tip_' ~ plan``: a prefix)."""
    if isinstance(node, nodes.Const) and isinstance(node.value, str):
        return node.value, True
    first: nodes.Node | None = None
    if isinstance(node, nodes.Concat) and node.nodes:
        first = node.nodes[0]
    elif isinstance(node, nodes.Add):
        first = node.left
    if isinstance(first, nodes.Const) and isinstance(first.value, str):
        return first.value, False
    return "", False


def _text_keys(tree: nodes.Node, all_texts: frozenset[str]) -> frozenset[str]:
    """The snippet keys `tree` may look up with ``t()``; every key when `t` is used in another way."""
    callees: set[int] = set()
    keys: set[str] = set()
    for call in tree.find_all(nodes.Call):
        if isinstance(call.node, nodes.Name) and call.node.name == "t":
            callees.add(id(call.node))
            prefix, exact = _literal_prefix(call.args[0]) if call.args else ("", False)
            keys |= {prefix} if exact else {key for key in all_texts if key.startswith(prefix)}
    if any(name.name == "t" and id(name) not in callees for name in tree.find_all(nodes.Name)):
        return all_texts
    return frozenset(keys & all_texts)


def _implicit(tree: nodes.Node) -> frozenset[str]:
    """Context names read without being named: ``money`` formats with the currency field."""
    if any(used.name == "money" for used in tree.find_all(nodes.Filter)):
        return frozenset({"currency"})
    return frozenset()


def template_refs(env: ImmutableSandboxedEnvironment, source: str, all_texts: frozenset[str]) -> Refs:
    """What a Jinja template source (a snippet, a layer's text or src, a narration) reads; plain
    text reads nothing."""
    if not any(marker in source for marker in JINJA_MARKERS):
        return Refs()
    tree = env.parse(source)
    names = frozenset(meta.find_undeclared_variables(tree)) | _implicit(tree)
    return Refs(names, _text_keys(tree, all_texts))


def expression_refs(env: ImmutableSandboxedEnvironment, source: str, all_texts: frozenset[str]) -> Refs:
    """What a Jinja expression (a `when` condition, a computed value) reads."""
    tree = Parser(env, source, state="variable").parse_expression()
    names = frozenset(n.name for n in tree.find_all(nodes.Name) if n.ctx == "load") | _implicit(tree)
    return Refs(names, _text_keys(tree, all_texts))


def _is_personal(spec: FieldSpec) -> bool:
    return spec.personal or any(_is_personal(item) for item in (spec.items or {}).values())


def personal_fields(contract: Contract) -> frozenset[str]:
    """The recipient id field and every field marked personal (a list with a personal item field)."""
    marked = {name for name, spec in contract.fields.items() if _is_personal(spec)}
    return frozenset({contract.recipient_id, *marked})


def _context_fields(name: str, contract: Contract) -> frozenset[str]:
    """The contract fields a context name stands for (computed values are expanded elsewhere)."""
    if name in contract.fields:
        return frozenset({name})
    special = {"recipient_id": contract.recipient_id, "currency": contract.currency_field}
    field = contract.locale_field if name in LOCALE_NAMES else special.get(name)
    return frozenset({field}) if field else frozenset()


@lru_cache(maxsize=1)
def _snippet_environment() -> ImmutableSandboxedEnvironment:
    return expression_environment()


@lru_cache(maxsize=16384)
def _snippet_refs(source: str, all_texts: frozenset[str]) -> Refs:
    """`template_refs` of a text snippet, parsed once per process (every graph of a manifest,
    and every reload of a template being previewed, reads the same snippets)."""
    return template_refs(_snippet_environment(), source, all_texts)


class FieldGraph:
    """The references of computed values and text snippets, to follow a scene's reads to fields."""

    def __init__(self, manifest: Manifest[Any], env: ImmutableSandboxedEnvironment) -> None:
        self.contract = manifest.contract
        self.texts = frozenset(key for table in manifest.text.values() for key in table)
        self.computed = {
            name: expression_refs(env, source, self.texts) for name, source in manifest.computed.items()
        }
        self.snippets = {
            key: union_refs(
                _snippet_refs(table[key], self.texts) for table in manifest.text.values() if key in table
            )
            for key in self.texts
        }

    def fields(self, start: Refs) -> frozenset[str]:
        """Every contract field `start` reads, through computed values and snippets (cycles are fine)."""
        seen_names: set[str] = set()
        seen_texts: set[str] = set()
        pending = [start]
        while pending:
            refs = pending.pop()
            for name in refs.names - seen_names:
                seen_names.add(name)
                if name in self.computed:
                    pending.append(self.computed[name])
            for key in refs.texts - seen_texts:
                seen_texts.add(key)
                pending.append(self.snippets[key])
        found = (_context_fields(name, self.contract) for name in seen_names)
        return frozenset().union(*found)


def node_refs(node: nodes.Node, all_texts: frozenset[str]) -> Refs:
    """What one parsed Jinja node reads (the node itself included: a bare name reads that name)."""
    tree = nodes.Output([node])  # find_all looks below a node only
    names = frozenset(n.name for n in tree.find_all(nodes.Name) if n.ctx == "load") | _implicit(tree)
    return Refs(names, _text_keys(tree, all_texts))


def fields_reader(manifest: Manifest[Any]) -> Callable[[Refs], frozenset[str]]:
    """A function from what a piece of Jinja reads to every contract field behind it, through
    computed values and ``t()`` snippets."""
    return FieldGraph(manifest, expression_environment()).fields
