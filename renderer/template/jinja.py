"""The two Jinja environments of Tailor and their locale filters.

* `html_environment`: renders template files (microsite, PDF). Autoescape on, StrictUndefined,
  sandboxed. Recipient data only ever arrives as render *context*; it is never compiled.
* `expression_environment`: compiles `when` conditions, computed values and text snippets that
  template authors write in ``template.yaml``, also sandboxed and strict.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any

from jinja2 import FileSystemLoader, StrictUndefined, pass_context
from jinja2.runtime import Context
from jinja2.sandbox import ImmutableSandboxedEnvironment

from renderer.template import locale as loc


@pass_context
def _money(ctx: Context, value: Any, currency: str | None = None) -> str:
    return loc.format_money(value, currency or ctx["currency"], ctx["locale"])


@pass_context
def _number(ctx: Context, value: Any, digits: int | None = None) -> str:
    return loc.format_number(value, ctx["locale"], digits)


@pass_context
def _percent(ctx: Context, value: Any, digits: int = 0) -> str:
    return loc.format_percent(value, ctx["locale"], digits)


@pass_context
def _date(ctx: Context, value: dt.date, width: str = "medium") -> str:
    return loc.format_date(value, ctx["locale"], width, ctx.get("calendars") or {})


@pass_context
def _month_name(ctx: Context, value: dt.date | int, width: str = "wide") -> str:
    return loc.month_name(value, ctx["locale"], width, ctx.get("calendars") or {})


def _dir(locale_code: str) -> str:
    return loc.text_direction(locale_code)


def _add_days(value: dt.date, days: int) -> dt.date:
    return value + dt.timedelta(days=int(days))


def _to_decimal(value: Any) -> Decimal:
    return Decimal(str(value))


FILTERS = {
    "money": _money,
    "number": _number,
    "percent": _percent,
    "date": _date,
    "month_name": _month_name,
    "dir": _dir,
    "add_days": _add_days,
    "decimal": _to_decimal,
}


def _configure(env: ImmutableSandboxedEnvironment) -> ImmutableSandboxedEnvironment:
    env.filters.update(FILTERS)
    env.globals.update({"abs": abs, "min": min, "max": max, "round": round})
    return env


def html_environment(
    search_path: list[Path], functions: Mapping[str, Callable[..., Any]] | None = None
) -> ImmutableSandboxedEnvironment:
    """A sandboxed, autoescaping, strict environment loading template files from `search_path`,
    with the locale filters and the `functions` the outputs provide (``chart``)."""
    env = ImmutableSandboxedEnvironment(
        loader=FileSystemLoader([str(p) for p in search_path]),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=False,
    )
    env = _configure(env)
    env.globals.update(functions or {})
    return env


def expression_environment() -> ImmutableSandboxedEnvironment:
    """A sandboxed strict environment for `when` conditions, computed values and text snippets."""
    env = ImmutableSandboxedEnvironment(undefined=StrictUndefined, autoescape=False)
    return _configure(env)
