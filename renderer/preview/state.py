"""Pure: what the studio previews — a sample, the designer's edits and forced variants — and
the recipient data, field errors and query string that follow from it.

The query string is the shareable preview URL: ``?sample=de-DE&edits={"first_name":"Ada"}&
force=headline:warm``; `PreviewState.from_query` reads back what `to_query` wrote and refuses
anything else with a message naming the parameter.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from renderer.errors import RenderError, RowError
from renderer.outputs.template import Template

MAX_EDITS_BYTES = 256 * 1024  # a pasted list field can be long; a query string cannot be endless


@dataclass(frozen=True)
class PreviewState:
    """One preview: a sample's name, field edits on top of it, experiment -> forced variant."""

    sample: str
    edits: Mapping[str, Any] = field(default_factory=dict)
    forced: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_query(cls, query: Mapping[str, str], default_sample: str) -> PreviewState:
        """The state a query string (or a JSON body of the same keys) names; RenderError naming
        the parameter when `edits` is not a JSON object or `force` not ``exp:variant,...``."""
        sample = str(query.get("sample") or default_sample)
        raw_edits = query.get("edits") or "{}"
        edits = _edits(raw_edits) if isinstance(raw_edits, str) else raw_edits
        if not isinstance(edits, Mapping):
            raise RenderError("parameter 'edits' must be a JSON object of field -> value")
        raw_force = query.get("force") or ""
        forced = _forced(raw_force) if isinstance(raw_force, str) else raw_force
        if not isinstance(forced, Mapping):
            raise RenderError("parameter 'force' must be experiment:variant pairs")
        return cls(sample, dict(edits), {str(k): str(v) for k, v in forced.items()})

    def to_query(self) -> str:
        """The query string `from_query` reads back (empty parts left out)."""
        params = {"sample": self.sample}
        if self.edits:
            params["edits"] = json.dumps(self.edits, separators=(",", ":"), ensure_ascii=False)
        if self.forced:
            params["force"] = ",".join(f"{exp}:{arm}" for exp, arm in sorted(self.forced.items()))
        return urlencode(params)


def _edits(raw: str) -> Any:
    if len(raw.encode()) > MAX_EDITS_BYTES:
        raise RenderError(f"parameter 'edits' is over {MAX_EDITS_BYTES // 1024} KiB")
    try:
        return json.loads(raw)
    except json.JSONDecodeError as exc:
        raise RenderError(f"parameter 'edits' is not JSON ({exc.msg} at {exc.pos})") from None


def _forced(raw: str) -> dict[str, str]:
    forced = {}
    for pair in filter(None, raw.split(",")):
        exp, sep, arm = pair.partition(":")
        if not sep or not exp or not arm:
            raise RenderError("parameter 'force' must be experiment:variant pairs separated by commas")
        forced[exp] = arm
    return forced


def recipient_data(template: Template, state: PreviewState) -> dict[str, Any]:
    """The sample's raw data with the edits on top; RenderError for an unknown sample."""
    if state.sample not in template.samples:
        known = ", ".join(sorted(template.samples)) or "none"
        raise RenderError(f"template {template.name!r} has no sample {state.sample!r} (have: {known})")
    return {**template.samples[state.sample], **state.edits}


def field_errors(template: Template, raw: Mapping[str, Any]) -> dict[str, str]:
    """Field (dotted path) -> what is wrong with it, by the contract's own validator; empty when
    the data is valid. Messages name the rule, never the value."""
    try:
        template.validator.validate(dict(raw))
    except RowError as exc:
        errors: dict[str, str] = {}
        for issue in exc.issues:
            errors.setdefault(issue.field, issue.reason)
        return errors
    return {}


def checked_forced(template: Template, forced: Mapping[str, str]) -> dict[str, str]:
    """The forced variants, each checked against the template's experiments; RenderError naming
    the experiment or variant that does not exist."""
    experiments = template.manifest.decisions.experiments
    for exp, arm in forced.items():
        if exp not in experiments:
            raise RenderError(f"template {template.name!r} has no experiment {exp!r}")
        if arm not in experiments[exp].variants:
            known = ", ".join(experiments[exp].variants)
            raise RenderError(f"experiment {exp!r} has no variant {arm!r} (have: {known})")
    return dict(forced)
