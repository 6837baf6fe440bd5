"""Resolve a recipient with the template's decisions taken: `resolve_decided` runs
`renderer.decisions.decide` inside resolution (after the computed values, before any output
reads ``slots`` or ``variants``) and returns the decision with the spec, so the caller can record
its trace and exposures. `replayed` rebuilds the context stored with an on-play stream (its
segments show what the page was rendered with, whatever the exposure history says now).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from renderer.decisions.decide import NO_DECISION, Decision, DecisionInputs, decide
from renderer.outputs.template import Template
from renderer.template.resolve import Decide, ResolvedSpec, resolve


def default_inputs(campaign: str) -> DecisionInputs:
    """Inputs for a render with no exposure history: `campaign`, today's date (UTC)."""
    return DecisionInputs(campaign=campaign, at=dt.datetime.now(dt.UTC).date())


def resolve_decided(
    template: Template, recipient: Mapping[str, Any], inputs: DecisionInputs
) -> tuple[ResolvedSpec, Decision]:
    """The resolved spec with ``slots`` and ``variants`` in its context, and the decision taken
    (`NO_DECISION` for a template that decides nothing)."""
    book = template.decisions
    if book.empty:
        return resolve(template, recipient), NO_DECISION
    taken: list[Decision] = []

    def take(context: Mapping[str, Any], recipient_id: str) -> Mapping[str, Any]:
        taken.append(decide(book, context, recipient_id, inputs))
        return taken[-1].context()

    spec = resolve(template, recipient, take)
    return spec, taken[-1]


def decide_only(template: Template, recipient: Mapping[str, Any], inputs: DecisionInputs) -> Decision:
    """The decision `render_recipient` would take for `recipient`, without rendering anything."""
    return resolve_decided(template, recipient, inputs)[1]


def replayed(stored: Mapping[str, Any] | None) -> Decide | None:
    """A `resolve` hook giving back the ``slots`` and ``variants`` stored with a stream; None (so
    `resolve` gives the undecided defaults) for a record made before decisions were stored."""
    if stored is None:
        return None
    slots = {k: tuple(v) for k, v in stored.get("slots", {}).items()}
    variants = dict(stored.get("variants", {}))
    return lambda context, recipient_id: {"slots": slots, "variants": variants}
