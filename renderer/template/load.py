"""Load a template folder: the only file I/O of the template stage.

`load_template(name, settings)` reads ``template.yaml``, checks it against the models, compiles
every Jinja entry, `when` condition, computed value and text snippet, hashes the static assets,
and reads the samples. Every problem raises `TemplateError` naming the file and line.
"""

from __future__ import annotations

import hashlib
import json
import mimetypes
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from jinja2 import Template as JinjaTemplate
from jinja2 import TemplateError as JinjaError
from jinja2 import TemplateSyntaxError
from jinja2.environment import TemplateExpression
from jinja2.sandbox import ImmutableSandboxedEnvironment
from pydantic import ValidationError

from renderer.data.contract import RecipientValidator
from renderer.errors import AssetError, TemplateError
from renderer.settings import Settings
from renderer.template.faults import snippet_filename
from renderer.template.jinja import expression_environment, html_environment
from renderer.template.lint import check_video_assets, lint_entries
from renderer.template.metadata import check_metadata
from renderer.template.models import SLUG, Manifest
from renderer.template.names import check_entry_names, check_manifest_names
from renderer.template.paths import resolve_asset

MANIFEST = "template.yaml"
STATIC_PREFIX = "_static"


@dataclass(frozen=True)
class StaticAsset:
    """A file shared by every recipient's microsite, stored once under a content-hashed name."""

    source: str
    hashed_name: str
    data: bytes
    content_type: str


@dataclass
class Template:
    """A loaded, fully checked template, ready to resolve and render for any recipient."""

    manifest: Manifest
    root: Path
    assets_dir: Path
    validator: RecipientValidator
    html_env: ImmutableSandboxedEnvironment
    expressions: dict[str, TemplateExpression]
    texts: dict[str, dict[str, JinjaTemplate | str]]
    static: dict[str, StaticAsset]
    samples: dict[str, dict[str, Any]]
    digest: str
    lines: dict[str, int] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def name(self) -> str:
        """The template's slug, e.g. ``bill-summary``."""
        return self.manifest.name


class _LineLoader(yaml.SafeLoader):
    """A safe loader; `compose` on it keeps nodes with line numbers for error messages."""


def _node_line(node: yaml.Node | None, loc: tuple[Any, ...]) -> int | None:
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


def _read_manifest(root: Path) -> tuple[dict[str, Any], yaml.Node | None]:
    path = root / MANIFEST
    if not path.is_file():
        raise TemplateError(f"missing {MANIFEST}", file=str(path))
    text = path.read_text(encoding="utf-8")
    try:
        node = yaml.compose(text, Loader=_LineLoader)
        data = yaml.load(text, Loader=_LineLoader)
    except yaml.MarkedYAMLError as exc:
        line = exc.problem_mark.line + 1 if exc.problem_mark else None
        raise TemplateError(f"invalid YAML: {exc.problem}", file=str(path), line=line) from None
    if not isinstance(data, dict):
        raise TemplateError("the manifest must be a mapping", file=str(path), line=1)
    return data, node


def _parse_manifest(root: Path) -> tuple[Manifest, yaml.Node | None]:
    data, node = _read_manifest(root)
    try:
        return Manifest.model_validate(data), node
    except ValidationError as exc:
        error = exc.errors(include_url=False, include_input=False)[0]
        loc = tuple(error["loc"])
        where = ".".join(str(p) for p in loc if not str(p).startswith("function-after"))
        msg = str(error["msg"]).removeprefix("Value error, ")
        if error["type"] == "extra_forbidden":
            msg = "unknown key"
        more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
        raise TemplateError(
            f"{where or 'manifest'}: {msg}{more}",
            file=str(root / MANIFEST),
            line=_node_line(node, loc),
        ) from None


def _compile_expressions(
    manifest: Manifest,
    env: ImmutableSandboxedEnvironment,
    node: yaml.Node | None,
    file: str,
    lines: dict[str, int],
) -> dict[str, TemplateExpression]:
    compiled: dict[str, TemplateExpression] = {}
    sources: list[tuple[str, tuple[Any, ...], str]] = [
        (f"computed.{name}", ("computed", name), expr) for name, expr in manifest.computed.items()
    ]
    if manifest.outputs.video:
        for i, scene in enumerate(manifest.outputs.video.scenes):
            loc = ("outputs", "video", "scenes", i)
            if scene.when:
                sources.append((f"scene.{scene.id}.when", (*loc, "when"), scene.when))
            for j, layer in enumerate(scene.layers):
                if layer.when:
                    key = f"scene.{scene.id}.layers.{j}.when"
                    sources.append((key, (*loc, "layers", j, "when"), layer.when))
    for key, loc, expr in sources:
        lines[key] = _node_line(node, loc) or 1
        try:
            compiled[key] = env.compile_expression(expr, undefined_to_none=False)
        except TemplateSyntaxError as exc:
            line = _node_line(node, loc)
            raise TemplateError(f"{key}: broken expression: {exc.message}", file=file, line=line) from None
    return compiled


def _compile_snippet(env: ImmutableSandboxedEnvironment, src: str, key: str) -> JinjaTemplate:
    """`env.from_string`, compiled under ``template.yaml#<key>`` so faults can name its line."""
    code = env.compile(src, filename=snippet_filename(key))
    return env.template_class.from_code(env, code, env.make_globals(None))


def _compile_texts(
    manifest: Manifest,
    env: ImmutableSandboxedEnvironment,
    node: yaml.Node | None,
    file: str,
    lines: dict[str, int],
) -> dict[str, dict[str, JinjaTemplate | str]]:
    texts: dict[str, dict[str, JinjaTemplate | str]] = {}
    snippets: list[tuple[tuple[Any, ...], str, str, str]] = [
        (("text", lang, key), lang, key, src)
        for lang, table in manifest.text.items()
        for key, src in table.items()
    ]
    if manifest.outputs.video:
        for i, scene in enumerate(manifest.outputs.video.scenes):
            loc = ("outputs", "video", "scenes", i)
            for j, layer in enumerate(scene.layers):
                for attr in ("text", "src", "data"):
                    src = getattr(layer, attr, None)
                    if src is not None:
                        snippets.append(((*loc, "layers", j, attr), "_video", f"{scene.id}.{j}.{attr}", src))
            if scene.narration:
                for attr in ("text", "clip"):
                    src = getattr(scene.narration, attr)
                    if src is not None:
                        snippets.append(
                            (
                                (*loc, "narration", attr),
                                "_video",
                                f"{scene.id}.narration.{attr}",
                                src,
                            )
                        )
    for loc, lang, key, src in snippets:
        if not any(marker in src for marker in ("{{", "{%", "{#")):
            texts.setdefault(lang, {})[key] = src  # plain text: nothing to render per recipient
            continue
        where = ".".join(str(p) for p in loc)
        lines[where] = _node_line(node, loc) or 1
        try:
            texts.setdefault(lang, {})[key] = _compile_snippet(env, src, where)
        except TemplateSyntaxError as exc:
            raise TemplateError(
                f"{where}: broken Jinja: {exc.message}", file=file, line=_node_line(node, loc)
            ) from None
    return texts


def _compile_entries(manifest: Manifest, env: ImmutableSandboxedEnvironment, root: Path) -> None:
    entries = []
    if manifest.outputs.microsite:
        entries.append(manifest.outputs.microsite.entry)
    if manifest.outputs.pdf:
        entries.append(manifest.outputs.pdf.entry)
    if manifest.outputs.pdf and manifest.outputs.pdf.stylesheet:
        entries.append(manifest.outputs.pdf.stylesheet)
    for entry in entries:
        if not (root / entry).is_file():
            raise TemplateError("entry file is missing", file=str(root / entry))
        try:
            resolve_asset(entry, root, root)  # inside the template folder, symlinks resolved
        except AssetError as exc:
            raise AssetError(exc.detail, file=str(root / MANIFEST)) from None
        if entry.endswith(".css"):
            continue
        try:
            env.get_template(entry)
        except TemplateSyntaxError as exc:
            file = exc.filename or str(root / entry)
            raise TemplateError(f"broken Jinja: {exc.message}", file=file, line=exc.lineno) from None
        except JinjaError as exc:
            raise TemplateError(f"cannot load: {exc}", file=str(root / entry)) from None


def _scene_lines(manifest: Manifest, node: yaml.Node | None) -> dict[str, int]:
    """The ``template.yaml`` line of the video music, each scene and each layer
    (``scene.<id>``, ``scene.<id>.layers.<n>``), for errors found while rendering."""
    lines: dict[str, int] = {}
    video = manifest.outputs.video
    if video is None:
        return lines
    lines["outputs.video.music"] = _node_line(node, ("outputs", "video", "music")) or 1
    for i, scene in enumerate(video.scenes):
        loc = ("outputs", "video", "scenes", i)
        lines[f"scene.{scene.id}"] = _node_line(node, loc) or 1
        lines[f"scene.{scene.id}.background"] = _node_line(node, (*loc, "background")) or 1
        for j in range(len(scene.layers)):
            lines[f"scene.{scene.id}.layers.{j}"] = _node_line(node, (*loc, "layers", j)) or 1
    return lines


def _hash_static(manifest: Manifest, root: Path, assets_dir: Path) -> dict[str, StaticAsset]:
    static: dict[str, StaticAsset] = {}
    if not manifest.outputs.microsite:
        return static
    for ref in manifest.outputs.microsite.static:
        path = resolve_asset(ref, root, assets_dir)
        data = path.read_bytes()
        digest = hashlib.sha256(data).hexdigest()[:16]
        hashed = f"{path.stem}.{digest}{path.suffix}"
        content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        static[ref] = StaticAsset(ref, hashed, data, content_type)
    return static


def _read_samples(root: Path, validator: RecipientValidator) -> dict[str, dict[str, Any]]:
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


def _folder_digest(root: Path) -> str:
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


def load_template(name_or_path: str | Path, settings: Settings) -> Template:
    """Load and check a template; raises TemplateError naming the file and line of any problem."""
    root = template_root(name_or_path, settings)
    manifest, node = _parse_manifest(root)
    file = str(root / MANIFEST)
    if manifest.name != root.name:
        raise TemplateError(
            f"name {manifest.name!r} differs from the folder name",
            file=file,
            line=_node_line(node, ("name",)),
        )
    assets_dir = settings.assets_dir.resolve()
    html_env = html_environment([root])
    expr_env = expression_environment()
    _compile_entries(manifest, html_env, root)
    lint_entries(manifest, root)
    try:
        static = _hash_static(manifest, root, assets_dir)
    except AssetError as exc:
        raise AssetError(
            exc.detail, file=file, line=_node_line(node, ("outputs", "microsite", "static"))
        ) from None
    validator = RecipientValidator(manifest.contract)
    lines = _scene_lines(manifest, node)
    expressions = _compile_expressions(manifest, expr_env, node, file, lines)
    texts = _compile_texts(manifest, expr_env, node, file, lines)
    check_manifest_names(manifest, expr_env, lines, file)
    check_entry_names(manifest, html_env, root)
    check_video_assets(manifest, root, assets_dir, lines, file)
    template = Template(
        manifest=manifest,
        root=root,
        assets_dir=assets_dir,
        validator=validator,
        html_env=html_env,
        expressions=expressions,
        texts=texts,
        static=static,
        samples=_read_samples(root, validator),
        digest=_folder_digest(root),
        lines=lines,
    )
    check_metadata(html_env, manifest)  # after the expressions compiled: a broken one is named first
    return template
