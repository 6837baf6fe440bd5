"""Pure: a template's computed values for one recipient, in declaration order.

Every computed value of a template is compiled once into one sandboxed program
(``{% set a = (...) %}{% set b = (...) %}``) that runs in a single Jinja context over the
recipient's names: one context per recipient instead of one per value (a Jinja context costs
more than most expressions do). When the program fails, the values are evaluated one by one, so
the error names the failing expression and its line exactly as before.
"""

from __future__ import annotations

import weakref
from collections.abc import MutableMapping
from typing import Any

from jinja2 import Template as JinjaTemplate
from jinja2 import TemplateError as JinjaError

from renderer.errors import TemplateError
from renderer.template.faults import describe
from renderer.template.jinja import expression_environment
from renderer.template.load import TemplateSource
from renderer.template.paths import MANIFEST

EXPRESSION_ERRORS = (JinjaError, ArithmeticError, TypeError, ValueError)
_PROGRAMS: weakref.WeakKeyDictionary[TemplateSource, tuple[JinjaTemplate, dict[str, Any]] | None] = (
    weakref.WeakKeyDictionary()
)


def _program(template: TemplateSource) -> tuple[JinjaTemplate, dict[str, Any]] | None:
    """The template's computed values as one program and its globals (None without any)."""
    if template not in _PROGRAMS:
        computed = template.manifest.computed
        if not computed:
            _PROGRAMS[template] = None
        else:
            source = "".join(f"{{% set {name} = ({expr}) %}}" for name, expr in computed.items())
            program = expression_environment().from_string(source)
            _PROGRAMS[template] = (program, dict(program.globals))
    return _PROGRAMS[template]


def expression_fault(template: TemplateSource, key: str, exc: BaseException) -> TemplateError:
    """The error for a failing ``template.yaml`` expression (`key` like ``computed.amount_due``):
    names the template's manifest and the expression's line, never a value."""
    line = template.lines.get(key)
    return TemplateError(f"{key} failed: {describe(exc)}", file=f"{template.name}/{MANIFEST}", line=line)


def add_computed_values(template: TemplateSource, context: MutableMapping[str, Any]) -> None:
    """Add every computed value of `template` to `context`, each seeing the names before it;
    TemplateError (manifest file and line) naming the first that fails."""
    found = _program(template)
    if found is None:
        return
    program, names = found
    try:
        run = program.new_context({**names, **context}, shared=True)
        for _ in program.root_render_func(run):
            pass
        for name in template.manifest.computed:
            context[name] = run.vars[name]
        return
    except EXPRESSION_ERRORS:
        pass  # evaluate one by one below: the error then names its expression and line
    for name in template.manifest.computed:
        try:
            context[name] = template.expressions[f"computed.{name}"](**context)
        except EXPRESSION_ERRORS as exc:
            raise expression_fault(template, f"computed.{name}", exc) from None
