"""The unit of a campaign's work: one validated row -> rendered and stored, or a failure report.

`render_row` never raises for a failed output: it returns a `RowResult` saying what happened,
so a campaign always goes on. Messages name fields and outputs, never values.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from renderer.errors import FieldIssue, RenderError, StorageError, TemplateError
from renderer.outputs.kind import RenderOptions
from renderer.outputs.render import render_recipient
from renderer.outputs.template import Template
from renderer.storage.base import Storage


@dataclass
class RowResult:
    """What happened to one validated row: ``ok`` (with the job store's record of its outputs),
    or ``failed`` (render or storage) with the issue."""

    row: int
    status: str
    recipient_id: str = ""
    outputs: dict[str, str] = field(default_factory=dict)
    issues: list[FieldIssue] = field(default_factory=list)


def render_row(
    template: Template,
    row: int,
    recipient: dict[str, Any],
    outputs: list[str],
    storage: Storage,
    campaign: str,
    options: RenderOptions = RenderOptions(),
) -> RowResult:
    """Render one validated row; every failure becomes a RowResult, never an exception."""
    rid = str(recipient[template.manifest.contract.recipient_id])
    try:
        stored = render_recipient(template, recipient, outputs, storage, campaign, options)
    except (RenderError, StorageError, TemplateError) as exc:
        return RowResult(row, "failed", rid, issues=[FieldIssue("(render)", str(exc))])
    except Exception as exc:  # never let one recipient stop a campaign; the type names the bug
        issue = FieldIssue("(render)", f"unexpected {type(exc).__name__}")
        return RowResult(row, "failed", rid, issues=[issue])
    return RowResult(row, "ok", rid, stored.to_record())
