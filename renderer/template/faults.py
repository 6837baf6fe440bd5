"""Template faults found while rendering one recipient -> `TemplateError` naming file and line.

A Jinja error (an undefined name, the sandbox refusing ``''.__class__``), or any exception raised
while template code runs (a filter given the wrong type, a division by zero), is the template's
fault, not the recipient's. Jinja rewrites tracebacks so that template code shows as frames of
the template file (or of the ``template.yaml#<key>`` name a snippet is compiled under), which is
how `template_fault` finds the file and line. Messages name variables and attributes only when
they are written in the template source, never a recipient's value.
"""

from __future__ import annotations

import re
import traceback
from pathlib import Path

from jinja2.exceptions import SecurityError, UndefinedError

from renderer.errors import TailorError, TemplateError
from renderer.template.load import TemplateSource as Template
from renderer.template.paths import MANIFEST, SNIPPET_MARK

_UNDEFINED_NAME = re.compile(r"^'(\w+)' is undefined$")
_MISSING_ATTR = re.compile(r"has no (?:attribute|element) '?([\w-]+)'?$")
_UNSAFE_ATTR = re.compile(r"^access to attribute '(\w+)' of '\w+' object is unsafe\.?$")


def _written(name: str, source: str | None) -> bool:
    """True when `name` appears in the template source line (so it is no recipient's value)."""
    return bool(source) and re.search(rf"(?<!\w){re.escape(name)}(?!\w)", source or "") is not None


def describe(exc: BaseException, source: str | None = None) -> str:
    """A message for a template fault that never repeats a value: the variable or attribute named
    in the template source, else the kind of error."""
    message = str(exc)
    if isinstance(exc, UndefinedError):
        if match := _UNDEFINED_NAME.match(message):
            return f"undefined variable '{match.group(1)}' (not in the contract, computed values or globals)"
        match = _MISSING_ATTR.search(message)
        if match and _written(match.group(1), source):
            return f"undefined attribute or key '{match.group(1)}'"
        return "undefined attribute or key"
    if isinstance(exc, SecurityError):
        match = _UNSAFE_ATTR.match(message)
        if match and (match.group(1).startswith("_") or _written(match.group(1), source)):
            return f"the sandbox refused access to attribute '{match.group(1)}'"
        return "the sandbox refused an unsafe operation"
    if isinstance(exc, TailorError):
        return str(getattr(exc, "detail", message))
    return f"{type(exc).__name__} in template code"


def _frames(exc: BaseException, template: Template) -> list[tuple[str, int, str | None]]:
    """The template frames of `exc`'s traceback, outermost first: (file, line, source line)."""
    root = template.root.resolve()
    found: list[tuple[str, int, str | None]] = []
    for frame in traceback.extract_tb(exc.__traceback__):
        name = frame.filename
        if name.startswith(MANIFEST + SNIPPET_MARK):
            key = name[len(MANIFEST) + 1 :]
            base = template.lines.get(key)
            line = base + (frame.lineno or 1) - 1 if base is not None else None
            found.append((MANIFEST, line or 0, None))
            continue
        path = Path(name)
        if path.is_absolute() and root in path.parents:
            found.append((path.relative_to(root).as_posix(), frame.lineno or 0, frame.line))
    return found


def template_fault(template: Template, exc: BaseException) -> TemplateError | None:
    """The `TemplateError` for an exception raised while template code ran (file and line of the
    innermost template frame, relative to the template and prefixed by its name), or None when no
    template code was running (a renderer or storage fault)."""
    if isinstance(exc, TemplateError):
        return exc
    frames = _frames(exc, template)
    if not frames:
        return None
    file, line, source = frames[-1]
    detail = describe(exc, source)
    outer = next((f for f in frames if f[0] != MANIFEST), None)
    if file == MANIFEST and outer is not None:
        detail += f" (used at {outer[0]}:{outer[1]})"
    return TemplateError(detail, file=f"{template.name}/{file}", line=line or None)
