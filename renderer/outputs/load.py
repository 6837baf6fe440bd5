"""Load a template: the template stage's reading, every output kind's checks, one `Template`.

`load_template(name, settings)` parses ``template.yaml`` against the registry's manifest model,
checks each output's entry files (present, inside the template, compiling, URLs and CSS linted)
and the other files it lists, compiles every Jinja expression and snippet (the outputs'
included), checks every name they read, each kind's own checks (the video's assets), and that no
document metadata reads a personal field. Every problem raises TemplateError (or AssetError)
naming the file and line; nothing renders before it passes.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from jinja2 import TemplateError as JinjaError
from jinja2 import TemplateSyntaxError
from jinja2.sandbox import ImmutableSandboxedEnvironment

from renderer.data.contract import RecipientValidator
from renderer.decisions.book import DecisionBook, build_book
from renderer.decisions.library import load_library
from renderer.errors import TemplateError
from renderer.outputs.charts import chart_for_template
from renderer.outputs.registry import OUTPUT_KINDS, Outputs, TemplateManifest
from renderer.outputs.template import Template
from renderer.settings import Settings
from renderer.template.interactions import interaction_problems
from renderer.template.jinja import expression_environment, html_environment
from renderer.template.lint import lint_entries
from renderer.template.load import (
    JinjaSources,
    compile_jinja,
    folder_digest,
    manifest_jinja,
    node_line,
    read_manifest,
    read_samples,
    template_root,
)
from renderer.template.metadata import check_metadata
from renderer.template.models import Manifest
from renderer.template.names import CONTEXT, DECIDED, check_entry_names, check_manifest_names
from renderer.template.paths import MANIFEST, check_asset

__all__ = ["load_template"]


def _offered(manifest: Manifest[Outputs]) -> list[tuple[Any, Any]]:
    """(kind, section) of every output the manifest offers."""
    return [(OUTPUT_KINDS[name], getattr(manifest.outputs, name)) for name in manifest.outputs.offered()]


def _check_entries(manifest: Manifest[Outputs], env: ImmutableSandboxedEnvironment, root: Path) -> None:
    """Each output's entry files exist inside the template and its HTML entries compile; then
    every file the outputs list is linted, the strictly checked (PDF) ones first."""
    for kind, section in _offered(manifest):
        for entry in kind.entries(section):
            _check_entry(entry, env, root)
    files = [file for kind, section in _offered(manifest) for file in kind.lint_files(section)]
    lint_entries(sorted(files, key=lambda file: not file[1]), root)


def _check_entry(entry: str, env: ImmutableSandboxedEnvironment, root: Path) -> None:
    if not (root / entry).is_file():
        raise TemplateError("entry file is missing", file=str(root / entry))
    check_asset(entry, root, root, file=str(root / MANIFEST), line=None)  # inside, symlinks resolved
    if entry.endswith(".css"):
        return
    try:
        env.get_template(entry)
    except TemplateSyntaxError as exc:
        file = exc.filename or str(root / entry)
        raise TemplateError(f"broken Jinja: {exc.message}", file=file, line=exc.lineno) from None
    except JinjaError as exc:
        raise TemplateError(f"cannot load: {exc}", file=str(root / entry)) from None


def _outputs_jinja(manifest: Manifest[Outputs]) -> JinjaSources:
    return sum((kind.jinja(section) for kind, section in _offered(manifest)), JinjaSources())


def _html_entries(manifest: Manifest[Outputs]) -> list[tuple[str, frozenset[str]]]:
    """(entry, the names its output provides) of every output's HTML entries."""
    hrefs = frozenset(f"{link}_href" for kind in OUTPUT_KINDS.values() for link in kind.link_names)
    return [
        (entry, kind.entry_names(section) | (hrefs if kind.shows_links else frozenset()))
        for kind, section in _offered(manifest)
        for entry in kind.html_entries(section)
    ]


def _check_interactions(manifest: Manifest[Outputs], node: Any, file: str) -> None:
    """The first cross-reference ``interactions:`` gets wrong, as a TemplateError with its line."""
    anchors = [anchor for kind, section in _offered(manifest) for anchor in kind.anchors(section)]
    for loc, problem in interaction_problems(manifest, anchors):
        where = ".".join(str(part) for part in loc)
        raise TemplateError(f"{where}: {problem}", file=file, line=node_line(node, loc))


def _decision_book(manifest: TemplateManifest, root: Path, settings: Settings) -> DecisionBook:
    """The template's decisions checked against the shared trigger library and its own."""
    section = manifest.decisions
    if section.empty:
        return DecisionBook(manifest.name, section)
    library = load_library([settings.triggers_dir, root / "triggers"])
    known = frozenset(manifest.contract.fields) | frozenset(manifest.computed) | (CONTEXT - DECIDED)
    return build_book(section, library, manifest.name, known, str(root / MANIFEST))


def _digest(folder: str, book: DecisionBook) -> str:
    """The folder's digest, joined with the trigger library's when the template uses it."""
    return folder if not book.digest else hashlib.sha256(f"{folder}:{book.digest}".encode()).hexdigest()


def load_template(name_or_path: str | Path, settings: Settings) -> Template:
    """Load and check a template; raises TemplateError naming the file and line of any problem.

    The checks run in this order, so that of several problems the same one is named first:
    the manifest's shape, each output's entry files (present, compiling, linted), the other files
    the outputs list, every Jinja expression and snippet compiled, the names they and the entries
    read, each output's own checks (the video's assets), the samples, the document metadata.
    """
    root = template_root(name_or_path, settings)
    manifest, node = read_manifest(root, TemplateManifest)
    file, assets_dir = str(root / MANIFEST), settings.assets_dir.resolve()
    html_env = html_environment([root], {"chart": chart_for_template})
    _check_entries(manifest, html_env, root)
    for kind, section in _offered(manifest):
        kind.check_files(root, assets_dir, section, lambda loc: node_line(node, loc))
    expr_env = expression_environment()
    sources = manifest_jinja(manifest, _outputs_jinja(manifest))
    expressions, texts, lines = compile_jinja(sources, expr_env, node, file)
    check_manifest_names(manifest, sources, expr_env, lines, file)
    check_entry_names(_html_entries(manifest), manifest, html_env, root)
    _check_interactions(manifest, node, file)
    template = Template(
        manifest=manifest,
        root=root,
        assets_dir=assets_dir,
        expressions=expressions,
        texts=texts,
        samples={},
        digest="",
        lines=lines,
        validator=RecipientValidator(manifest.contract),
        decisions=_decision_book(manifest, root, settings),
        html_env=html_env,
    )
    for kind, section in _offered(manifest):
        kind.check(template, section)
    template.samples = read_samples(root)
    template.digest = _digest(folder_digest(root), template.decisions)
    check_metadata(html_env, manifest, [entry for entry, _ in _html_entries(manifest)])
    return template
