"""Static name checks: every variable a template reads must be a contract field, a computed value
(declared before, for computed values), or a name the renderer provides; attributes the sandbox
refuses (``x.__class__``) are found before anything renders.

The checks walk the Jinja AST (``jinja2.meta`` for the names a template does not define itself,
`nodes.Name` for their line) of the outputs' HTML entries (and what they include), every `when`
condition, computed value and text snippet; the first problem raises TemplateError with the file
and line (entry files) or the ``template.yaml`` line (expressions and snippets).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from jinja2 import meta, nodes
from jinja2.sandbox import ImmutableSandboxedEnvironment

from renderer.errors import TemplateError
from renderer.template.load import Expression, JinjaSources
from renderer.template.models import Manifest
from renderer.template.refs import JINJA_MARKERS

# see resolve.py; `slots` and `variants` are the decisions (renderer.decisions.decide)
DECIDED = frozenset({"slots", "variants"})
CONTEXT = frozenset({"recipient_id", "locale", "currency", "lang", "dir", "t"}) | DECIDED
_DEFINED_TESTS = ("defined", "undefined")


def _checked_names(ast: nodes.Template) -> Iterator[nodes.Name]:
    """Name loads of `ast`, except names the template tests with ``is defined`` / ``is undefined``
    anywhere (it handles their absence itself)."""
    guarded = {
        test.node.name
        for test in ast.find_all(nodes.Test)
        if test.name in _DEFINED_TESTS and isinstance(test.node, nodes.Name)
    }
    for name in ast.find_all(nodes.Name):
        if name.ctx == "load" and name.name not in guarded:
            yield name


def _unsafe_attribute(ast: nodes.Template) -> tuple[str, int] | None:
    """The first attribute the sandbox refuses that is written in the source (``x.__class__``,
    ``x['_y']``, ``x | attr('__z')``), with its line."""
    for node in ast.find_all((nodes.Getattr, nodes.Getitem, nodes.Filter)):
        if isinstance(node, nodes.Getattr):
            attr: object = node.attr
        elif isinstance(node, nodes.Getitem):
            attr = node.arg.value if isinstance(node.arg, nodes.Const) else None
        elif isinstance(node, nodes.Filter):
            first = node.args[0] if node.name == "attr" and node.args else None
            attr = first.value if isinstance(first, nodes.Const) else None
        else:
            continue
        if isinstance(attr, str) and attr.startswith("_"):
            return attr, node.lineno
    return None


def name_problem(
    ast: nodes.Template, env: ImmutableSandboxedEnvironment, known: frozenset[str]
) -> tuple[str, int] | None:
    """The first problem in `ast` (message, line in the source), or None: an attribute the sandbox
    refuses, or a variable neither in `known`, set by the template itself nor a global."""
    unsafe = _unsafe_attribute(ast)
    if unsafe is not None:
        return f"the sandbox refuses access to attribute '{unsafe[0]}'", unsafe[1]
    unknown = meta.find_undeclared_variables(ast) - known - set(env.globals)
    names = [name for name in _checked_names(ast) if name.name in unknown]
    if not names:  # none, or only behind `is defined`
        return None
    first = min(names, key=lambda name: name.lineno)
    message = f"unknown variable '{first.name}': not a contract field, computed value or template global"
    return message, first.lineno


def _raise(problem: tuple[str, int] | None, file: str, base_line: int, what: str = "") -> None:
    if problem is not None:
        raise TemplateError(f"{what}{problem[0]}", file=file, line=base_line + problem[1] - 1)


def check_entry_names(
    entries: list[tuple[str, frozenset[str]]],
    manifest: Manifest[Any],
    env: ImmutableSandboxedEnvironment,
    root: Path,
) -> None:
    """Check the names of each HTML entry (with the extra names its output provides) and of every
    template it includes or extends by name."""
    base = frozenset(manifest.contract.fields) | frozenset(manifest.computed) | CONTEXT
    for entry, provided in entries:
        known = base | provided
        pending, seen = [entry], set()
        while pending:
            name = pending.pop()
            if name in seen:
                continue
            seen.add(name)
            assert env.loader is not None
            source, filename, _ = env.loader.get_source(env, name)
            ast = env.parse(source, name, filename)
            _raise(name_problem(ast, env, known), filename or str(root / name), 1)
            pending += [ref for ref in meta.find_referenced_templates(ast) if isinstance(ref, str)]


def manifest_sources(sources: JinjaSources) -> Iterator[tuple[str, str]]:
    """Every Jinja source of ``template.yaml`` as (key, template source), keyed as the loader
    records their lines: expressions (``computed.<n>``, ``scene.<id>.when``) given as
    ``{{ ... }}``, snippets by their location (``text.<lang>.<key>``, ``outputs.video...``)."""
    for item in sources.items:
        if isinstance(item, Expression):
            yield item.key, f"{{{{ {item.source} }}}}"
        else:
            yield ".".join(str(part) for part in item.loc), item.source


def check_manifest_names(
    manifest: Manifest[Any],
    sources: JinjaSources,
    env: ImmutableSandboxedEnvironment,
    lines: dict[str, int],
    file: str,
) -> None:
    """Check every source of `manifest_sources`; `lines` holds their ``template.yaml`` lines.
    A computed value sees the fields and the computed values declared before it; the others
    see every field and computed value."""
    fields = frozenset(manifest.contract.fields) | CONTEXT
    computed = list(manifest.computed)
    for key, source in manifest_sources(sources):
        if not any(marker in source for marker in JINJA_MARKERS):
            continue  # plain text (most snippets) reads no name: parsing it costs ~0.1 ms each
        known = fields | frozenset(computed)
        if key.startswith("computed."):
            before = frozenset(computed[: computed.index(key.removeprefix("computed."))])
            known = (fields - DECIDED) | before  # decisions are taken after the computed values
        problem = name_problem(env.parse(source), env, known)
        _raise(problem, file, lines.get(key, 1), f"{key.removeprefix('outputs.video.')}: ")
