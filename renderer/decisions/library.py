"""Read the trigger library: every ``<id>.yaml`` of the shared ``triggers/`` folder and of a
template's own ``triggers/`` folder, checked and compiled (conditions in the same sandboxed
expression environment as ``when``). Errors name the file and line, never a value.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import yaml
from jinja2 import TemplateSyntaxError, meta
from jinja2.environment import TemplateExpression
from pydantic import ValidationError

from renderer.decisions.models import Trigger
from renderer.errors import TemplateError
from renderer.template.jinja import expression_environment
from renderer.template.load import node_line, parse_yaml

TRIGGER_SUFFIX = ".yaml"


@dataclass(frozen=True)
class CompiledTrigger:
    """A checked trigger, its compiled condition, the names the condition reads, and its file."""

    trigger: Trigger
    condition: TemplateExpression
    reads: frozenset[str]
    file: str
    line: int

    @property
    def id(self) -> str:
        """The trigger's id."""
        return self.trigger.id


@dataclass(frozen=True)
class TriggerLibrary:
    """Triggers by id, and a digest of every file read (it joins the template's digest, so a changed
    trigger re-renders what it decides)."""

    triggers: dict[str, CompiledTrigger]
    digest: str


def _validation_fault(exc: ValidationError, node: yaml.Node | None, file: str) -> TemplateError:
    error = exc.errors(include_url=False, include_input=False)[0]
    loc = tuple(error["loc"])
    where = ".".join(str(part) for part in loc) or "trigger"
    message = "unknown key" if error["type"] == "extra_forbidden" else str(error["msg"])
    message = message.removeprefix("Value error, ")
    return TemplateError(f"{where}: {message}", file=file, line=node_line(node, loc))


def read_trigger(path: Path) -> CompiledTrigger:
    """One trigger file, checked (its id must be the file's name) and compiled; TemplateError
    naming the file and line of the first problem."""
    file, text = str(path), path.read_text(encoding="utf-8")
    try:
        data, node = parse_yaml(text)
    except yaml.MarkedYAMLError as exc:
        line = exc.problem_mark.line + 1 if exc.problem_mark else None
        raise TemplateError(f"invalid YAML: {exc.problem}", file=file, line=line) from None
    if not isinstance(data, dict):
        raise TemplateError("a trigger file must be a mapping", file=file, line=1)
    try:
        trigger = Trigger.model_validate(data)
    except ValidationError as exc:
        raise _validation_fault(exc, node, file) from None
    if trigger.id != path.stem:
        raise TemplateError(
            f"id {trigger.id!r} differs from the file name", file=file, line=node_line(node, ("id",))
        )
    env = expression_environment()
    line = node_line(node, ("condition",)) or 1
    try:
        condition = env.compile_expression(trigger.condition, undefined_to_none=False)
        reads = frozenset(meta.find_undeclared_variables(env.parse(f"{{{{ {trigger.condition} }}}}")))
    except TemplateSyntaxError as exc:
        raise TemplateError(f"condition: broken expression: {exc.message}", file=file, line=line) from None
    return CompiledTrigger(trigger, condition, reads - set(env.globals), file, line)


def _files(folders: Iterable[Path]) -> list[Path]:
    return [
        path for folder in folders if folder.is_dir() for path in sorted(folder.glob(f"*{TRIGGER_SUFFIX}"))
    ]


def load_library(folders: Iterable[Path]) -> TriggerLibrary:
    """Every trigger of `folders` (the shared library first, then a template's own); TemplateError
    when a file is broken or two files define one id."""
    triggers: dict[str, CompiledTrigger] = {}
    digest = hashlib.sha256()
    for path in _files(folders):
        compiled = read_trigger(path)
        if compiled.id in triggers:
            first = triggers[compiled.id].file
            raise TemplateError(f"trigger {compiled.id!r} is also defined in {first}", file=str(path), line=1)
        triggers[compiled.id] = compiled
        digest.update(path.name.encode())
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return TriggerLibrary(triggers, digest.hexdigest())
