"""Read a template folder: the file I/O of the template stage, generic over output kinds.

`read_manifest` parses ``template.yaml`` against a manifest model (generic over its ``outputs``
section, which the output kinds own), keeping YAML nodes so every error names the file and line;
`compile_jinja` compiles the computed values, text snippets and whatever Jinja an output's
section holds (`JinjaSources`), recording each one's line; `read_samples` and `folder_digest`
read the rest. `renderer.outputs.load.load_template` puts these together with the output kinds.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import yaml
from jinja2 import Template as JinjaTemplate
from jinja2 import TemplateSyntaxError
from jinja2.environment import TemplateExpression
from jinja2.sandbox import ImmutableSandboxedEnvironment
from pydantic import BaseModel, ValidationError

from renderer.errors import TemplateError
from renderer.settings import Settings
from renderer.template.models import SLUG, Manifest
from renderer.template.paths import MANIFEST, snippet_filename
from renderer.template.refs import JINJA_MARKERS

M = TypeVar("M", bound=BaseModel)
Loc = tuple[Any, ...]  # a path into template.yaml: ("outputs", "video", "scenes", 0, "when")


@dataclass(frozen=True)
class Expression:
    """A Jinja expression of the manifest (a `when`), compiled under `key` (``scene.<id>.when``)."""

    key: str
    loc: Loc
    source: str


@dataclass(frozen=True)
class Snippet:
    """A Jinja template of the manifest, stored as ``texts[table][key]``; its line is recorded
    under its location joined with dots (``outputs.video.scenes.0.layers.1.text``)."""

    table: str
    key: str
    loc: Loc
    source: str


@dataclass(frozen=True)
class JinjaSources:
    """The Jinja a manifest section holds, in the order it is written (checks report the first
    problem in that order), plus `places`: keys (``scene.<id>``) whose ``template.yaml`` line
    errors found while rendering name."""

    items: tuple[Expression | Snippet, ...] = ()
    places: tuple[tuple[str, Loc], ...] = ()

    @property
    def expressions(self) -> tuple[Expression, ...]:
        """The expressions, in order."""
        return tuple(item for item in self.items if isinstance(item, Expression))

    @property
    def snippets(self) -> tuple[Snippet, ...]:
        """The snippets, in order."""
        return tuple(item for item in self.items if isinstance(item, Snippet))

    def __add__(self, other: JinjaSources) -> JinjaSources:
        return JinjaSources(self.items + other.items, self.places + other.places)


@dataclass(eq=False, kw_only=True)
class TemplateSource:
    """What the template stage reads of a template: its manifest, compiled Jinja (by key), the
    ``template.yaml`` line of every key, its samples, and a digest of the whole folder."""

    manifest: Manifest[Any]
    root: Path
    assets_dir: Path
    expressions: dict[str, TemplateExpression]
    texts: dict[str, dict[str, JinjaTemplate | str]]
    samples: dict[str, dict[str, Any]]
    digest: str
    lines: dict[str, int] = field(default_factory=dict)

    @property
    def name(self) -> str:
        """The template's slug, e.g. ``bill-summary``."""
        return str(self.manifest.name)

    @property
    def manifest_path(self) -> str:
        """The path of its ``template.yaml``, as load-time errors name it."""
        return str(self.root / MANIFEST)


# libyaml's parser when PyYAML has it (its wheels do): the manifest is read on every load, and
# the pure-Python parser was most of a template's load time
_SafeLoader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _LineLoader(_SafeLoader):  # type: ignore[misc, valid-type]
    """A safe loader; `compose` on it keeps nodes with line numbers for error messages."""


def parse_yaml(text: str) -> tuple[Any, yaml.Node | None]:
    """`text` as data and as its composed node tree (for line numbers), safely, with libyaml's
    parser when PyYAML has it; yaml.MarkedYAMLError (with its mark) on invalid YAML."""
    return yaml.load(text, Loader=_LineLoader), yaml.compose(text, Loader=_LineLoader)


def node_line(node: yaml.Node | None, loc: Loc) -> int | None:
    """The 1-based line of `loc` in the composed manifest, or of its nearest existing parent."""
    best = node.start_mark.line + 1 if node is not None else None
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            match = next((v for k, v in node.value if k.value == str(part)), None)
            if match is None:
                key = next((k for k, _ in node.value if k.value == str(part)), None)
                return key.start_mark.line + 1 if key is not None else best
            node = match
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
            if part >= len(node.value):
                return best
            node = node.value[part]
        else:
            return best
        best = node.start_mark.line + 1
    return best


def _read_yaml(root: Path) -> tuple[dict[str, Any], yaml.Node | None]:
    path = root / MANIFEST
    if not path.is_file():
        raise TemplateError(f"missing {MANIFEST}", file=str(path))
    text = path.read_text(encoding="utf-8")
    try:
        data, node = parse_yaml(text)
    except yaml.MarkedYAMLError as exc:
        line = exc.problem_mark.line + 1 if exc.problem_mark else None
        raise TemplateError(f"invalid YAML: {exc.problem}", file=str(path), line=line) from None
    if not isinstance(data, dict):
        raise TemplateError("the manifest must be a mapping", file=str(path), line=1)
    return data, node


def read_manifest(root: Path, model: type[M]) -> tuple[M, yaml.Node | None]:
    """``template.yaml`` checked against `model` (with its YAML node, for lines); TemplateError
    naming the key and line of the first problem, and that the name must match the folder."""
    data, node = _read_yaml(root)
    try:
        manifest = model.model_validate(data)
    except ValidationError as exc:
        error = exc.errors(include_url=False, include_input=False)[0]
        loc = tuple(error["loc"])
        where = ".".join(str(p) for p in loc if not str(p).startswith("function-after"))
        msg = str(error["msg"]).removeprefix("Value error, ")
        if error["type"] == "extra_forbidden":
            msg = "unknown key"
        more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
        raise TemplateError(
            f"{where or 'manifest'}: {msg}{more}", file=str(root / MANIFEST), line=node_line(node, loc)
        ) from None
    if getattr(manifest, "name", None) != root.name:
        raise TemplateError(
            f"name {getattr(manifest, 'name', None)!r} differs from the folder name",
            file=str(root / MANIFEST),
            line=node_line(node, ("name",)),
        )
    return manifest, node


def _compile_snippet(env: ImmutableSandboxedEnvironment, src: str, key: str) -> JinjaTemplate:
    """`env.from_string`, compiled under ``template.yaml#<key>`` so faults can name its line."""
    code = env.compile(src, filename=snippet_filename(key))
    return env.template_class.from_code(env, code, env.make_globals(None))


def manifest_jinja(manifest: Manifest[Any], extra: JinjaSources) -> JinjaSources:
    """The computed values and text snippets of `manifest`, followed by `extra` (the outputs')."""
    computed = tuple(
        Expression(f"computed.{name}", ("computed", name), expr) for name, expr in manifest.computed.items()
    )
    texts = tuple(
        Snippet(lang, key, ("text", lang, key), src)
        for lang, table in manifest.text.items()
        for key, src in table.items()
    )
    hrefs = tuple(
        Snippet("_page", f"cta.{cta.id}.href", ("interactions", "ctas", i, "href"), cta.href)
        for i, cta in enumerate(manifest.interactions.ctas)
        if cta.href is not None
    )
    return JinjaSources((*computed, *texts, *hrefs)) + extra


def compile_jinja(
    sources: JinjaSources, env: ImmutableSandboxedEnvironment, node: yaml.Node | None, file: str
) -> tuple[dict[str, TemplateExpression], dict[str, dict[str, JinjaTemplate | str]], dict[str, int]]:
    """Compile every expression and snippet; returns (expressions by key, texts by table and key,
    lines by key). A syntax error raises TemplateError naming its key and line."""
    lines = {key: node_line(node, loc) or 1 for key, loc in sources.places}
    expressions: dict[str, TemplateExpression] = {}
    for expr in sources.expressions:
        lines[expr.key] = node_line(node, expr.loc) or 1
        try:
            expressions[expr.key] = env.compile_expression(expr.source, undefined_to_none=False)
        except TemplateSyntaxError as exc:
            message = f"{expr.key}: broken expression: {exc.message}"
            raise TemplateError(message, file=file, line=lines[expr.key]) from None
    texts: dict[str, dict[str, JinjaTemplate | str]] = {}
    for snippet in sources.snippets:
        table = texts.setdefault(snippet.table, {})
        if not any(marker in snippet.source for marker in JINJA_MARKERS):
            table[snippet.key] = snippet.source  # plain text: nothing to render per recipient
            continue
        where = ".".join(str(p) for p in snippet.loc)
        lines[where] = node_line(node, snippet.loc) or 1
        try:
            table[snippet.key] = _compile_snippet(env, snippet.source, where)
        except TemplateSyntaxError as exc:
            raise TemplateError(
                f"{where}: broken Jinja: {exc.message}", file=file, line=lines[where]
            ) from None
    return expressions, texts, lines


def read_samples(root: Path) -> dict[str, dict[str, Any]]:
    """The sample recipients under ``samples/*.json`` by file stem (unvalidated)."""
    samples: dict[str, dict[str, Any]] = {}
    for path in sorted((root / "samples").glob("*.json")):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise TemplateError(f"invalid JSON: {exc.msg}", file=str(path), line=exc.lineno) from None
        if not isinstance(data, dict):
            raise TemplateError("a sample must be a JSON object", file=str(path), line=1)
        samples[path.stem] = data
    return samples


def folder_digest(root: Path) -> str:
    """A SHA-256 of every file's relative path and content under `root`."""
    digest = hashlib.sha256()
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        digest.update(str(path.relative_to(root)).encode())
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def template_root(name_or_path: str | Path, settings: Settings) -> Path:
    """The folder of a template given by name (under templates_dir) or by path."""
    candidate = Path(name_or_path)
    if candidate.is_dir() and (candidate / MANIFEST).exists():
        return candidate.resolve()
    if not isinstance(name_or_path, str) or not re.match(SLUG, name_or_path):
        raise TemplateError("not a template name or folder", file=str(name_or_path))
    root = (settings.templates_dir / name_or_path).resolve()
    if not root.is_dir():
        raise TemplateError(f"no template named {name_or_path!r} in {settings.templates_dir}")
    return root
