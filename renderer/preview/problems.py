"""Pure: a failure as the studio lists it — what went wrong, in which output, and the file (named
from the folder a designer knows it by) and line to open."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from renderer.errors import TailorError, TemplateError


def shown_file(file: str | None, roots: Mapping[str, Path]) -> str | None:
    """`file` relative to the first of `roots` (label -> folder) holding it, prefixed with the
    label unless it is empty (``microsite/index.html``, ``assets/fonts/x.ttf``); as given otherwise."""
    if not file:
        return None
    path = Path(file)
    for label, root in roots.items():
        base = root.resolve()
        candidate = path if path.is_absolute() else base / path
        if candidate.resolve().is_relative_to(base):
            relative = candidate.resolve().relative_to(base).as_posix()
            return f"{label}/{relative}" if label else relative
    return file


def problem(output: str | None, exc: TailorError, roots: Mapping[str, Path]) -> dict[str, Any]:
    """``{output, message, file, line}``: a TemplateError's detail with its file and line, any
    other error's message (which names no personal value) without them."""
    if isinstance(exc, TemplateError):
        return {
            "output": output,
            "message": exc.detail,
            "file": shown_file(exc.file, roots),
            "line": exc.line,
        }
    return {"output": output, "message": str(exc), "file": None, "line": None}
