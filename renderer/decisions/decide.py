"""`decide`: pure, one resolved recipient -> the `Decision` (fired triggers, slot winners,
experiment arms, the global control group) and its trace, which holds ids, versions and reasons
and never a personal value. Nothing here reads a store or a clock: the decision date, the
campaign and the exposure history come in `DecisionInputs`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from jinja2 import TemplateError as JinjaError

from renderer.decisions.assign import CONTROL, Arm, assign_arm, in_control_group
from renderer.decisions.book import ELIGIBLE, DecisionBook
from renderer.decisions.library import CompiledTrigger
from renderer.decisions.slots import SlotResult, fill_slot
from renderer.errors import TemplateError
from renderer.template.faults import describe
from renderer.template.locale import parse_locale

TRACE_VERSION = 1
FIRED, CONDITION_FALSE = "fired", "condition false"


@dataclass(frozen=True)
class DecisionInputs:
    """What a decision depends on besides the recipient: the campaign (its global control group),
    the decision date (validity, caps), each trigger's exposures to this recipient in *other*
    campaigns, and variants forced by a designer's preview (experiment -> variant)."""

    campaign: str
    at: dt.date
    history: Mapping[str, Sequence[dt.datetime]] = field(default_factory=dict)
    forced: Mapping[str, str] = field(default_factory=dict)


class Evaluation(NamedTuple):
    """One trigger evaluated for the recipient: fired or not, and why."""

    id: str
    version: int
    fired: bool
    reason: str


@dataclass(frozen=True)
class Decision:
    """The choices for one recipient; `context` is what templates read (``slots``, ``variants``)."""

    at: dt.date
    control_group: bool
    evaluations: tuple[Evaluation, ...] = ()
    slots: Mapping[str, SlotResult] = field(default_factory=dict)
    arms: Mapping[str, Arm] = field(default_factory=dict)
    seeds: Mapping[str, tuple[str, float]] = field(default_factory=dict)

    @property
    def variant_key(self) -> str | None:
        """``exp=arm`` pairs sorted by experiment, joined by ``;`` (None without experiments)."""
        if not self.arms:
            return None
        return ";".join(f"{exp}={self.arms[exp].arm}" for exp in sorted(self.arms))

    @property
    def shown(self) -> tuple[str, ...]:
        """Every trigger that won a slot (its exposure to record), in slot order, once each."""
        return tuple(dict.fromkeys(tid for slot in self.slots.values() for tid in slot.winners))

    def context(self) -> dict[str, Any]:
        """``slots`` (slot -> tuple of winning trigger ids) and ``variants`` (experiment -> the
        variant rendered) for the Jinja context."""
        return {
            "slots": {name: slot.winners for name, slot in self.slots.items()},
            "variants": {exp: arm.variant for exp, arm in self.arms.items()},
        }

    def trace(self) -> dict[str, Any]:
        """The decision trace (JSON-ready): triggers evaluated with versions and reasons, slot
        winners and what was dropped, each experiment's arm, seed and holdout; no personal value."""
        return {
            "version": TRACE_VERSION,
            "at": self.at.isoformat(),
            "control_group": self.control_group,
            "triggers": [item._asdict() for item in self.evaluations],
            "slots": {name: slot.trace() for name, slot in self.slots.items()},
            "experiments": {
                exp: {
                    "arm": arm.arm,
                    "variant": arm.variant,
                    "seed": self.seeds[exp][0],
                    "holdout": self.seeds[exp][1],
                }
                for exp, arm in self.arms.items()
            },
            "variant_key": self.variant_key,
        }


def _text(value: Any) -> str:
    return ("true" if value else "false") if isinstance(value, bool) else str(value)


def eligible(trigger: CompiledTrigger, context: Mapping[str, Any]) -> str | None:
    """None when the recipient passes the trigger's eligibility, else the first field that fails.
    A locale matches a listed language (``de``) or locale (``de_DE`` or ``de-DE``)."""
    for name, allowed in trigger.trigger.eligibility.items():
        value = context.get(name)
        if name == "locale" and value is not None:
            code = str(value).replace("-", "_")
            options = {a.replace("-", "_") for a in allowed}
            if code not in options and parse_locale(code).language not in options:
                return name
        elif _text(value) not in allowed:
            return name
    return None


def condition_values(book: DecisionBook, context: Mapping[str, Any], flags: list[bool]) -> list[bool]:
    """Every trigger's condition (False where `flags` says ineligible), in one call; on a failure,
    TemplateError naming the first failing trigger's file and line."""
    combined = book.combined
    assert combined is not None
    try:  # a shared context over the recipient's own mapping: nothing copied per recipient
        names = {**book.jinja_globals, **context, ELIGIBLE: flags}
        run = combined.new_context(names, shared=True)
        for _ in combined.root_render_func(run):
            pass
        return [bool(v) for v in run.vars["result"]]
    except (JinjaError, ArithmeticError, TypeError, ValueError):
        pass
    for compiled, flag in zip(book.triggers, flags, strict=True):
        try:
            bool(compiled.condition(**context)) if flag else False
        except (JinjaError, ArithmeticError, TypeError, ValueError) as exc:
            message = f"trigger {compiled.id!r} condition failed: {describe(exc)}"
            raise TemplateError(message, file=compiled.file, line=compiled.line) from None
    raise TemplateError(f"{book.template}: the trigger conditions failed together")  # pragma: no cover


def capped(compiled: CompiledTrigger, inputs: DecisionInputs) -> bool:
    """Whether the trigger's cap is reached on `inputs.at` by its exposures in other campaigns."""
    cap = compiled.trigger.cap
    if cap is None:
        return False
    since = inputs.at - dt.timedelta(days=cap.days - 1)
    shown = [when for when in inputs.history.get(compiled.id, ()) if since <= when.date() <= inputs.at]
    return len(shown) >= cap.times


def _reason(
    compiled: CompiledTrigger,
    inputs: DecisionInputs,
    validity: str | None,
    ineligible: str | None,
    holds: bool,
    fired: set[str],
) -> str:
    trigger = compiled.trigger
    if validity is not None:
        return validity
    if ineligible is not None:
        return f"not eligible ({ineligible})"
    if not holds:
        return CONDITION_FALSE
    missing = [tid for tid in trigger.requires if tid not in fired]
    if missing:
        return f"requires {', '.join(missing)}"
    if capped(compiled, inputs):
        return f"capped ({trigger.cap.times} in {trigger.cap.days} days)" if trigger.cap else "capped"
    return FIRED


def evaluate_triggers(
    book: DecisionBook, context: Mapping[str, Any], inputs: DecisionInputs
) -> tuple[Evaluation, ...]:
    """Every trigger of the book, in dependency order: fired, or the first reason it did not."""
    if not book.triggers:
        return ()
    validity = book.valid_on(inputs.at)
    problems = [eligible(c, context) if c.trigger.eligibility else None for c in book.triggers]
    flags = [problem is None and valid is None for problem, valid in zip(problems, validity, strict=True)]
    holds = condition_values(book, context, flags)
    fired: set[str] = set()
    evaluations = []
    for i, compiled in enumerate(book.triggers):
        if book.plain[i]:  # only the condition decides: the common case, kept cheap
            reason = FIRED if holds[i] else CONDITION_FALSE
        else:
            reason = _reason(compiled, inputs, validity[i], problems[i], holds[i], fired)
        if reason == FIRED:
            fired.add(compiled.id)
        evaluations.append(Evaluation(compiled.id, compiled.trigger.version, reason == FIRED, reason))
    return tuple(evaluations)


def decide(book: DecisionBook, context: Mapping[str, Any], unit: str, inputs: DecisionInputs) -> Decision:
    """The decision for the recipient whose resolved `context` and id (`unit`) are given. Pure and
    deterministic: the same inputs give the same decision on any machine."""
    section = book.section
    control = in_control_group(section.control_group, inputs.campaign, unit)
    evaluations = evaluate_triggers(book, context, inputs)
    fired = {item.id for item in evaluations if item.fired}
    orders = book.slot_orders
    slots = {
        name: fill_slot(spec, fired, book.priorities, control, orders[name])
        for name, spec in section.slots.items()
    }
    arms = {}
    for exp, spec in section.experiments.items():
        forced = inputs.forced.get(exp)
        if forced is not None and forced in spec.variants:
            arms[exp] = Arm(forced, forced)
        else:
            arms[exp] = assign_arm(spec, unit, control)
    seeds = {exp: (spec.seed, spec.holdout) for exp, spec in section.experiments.items()}
    return Decision(inputs.at, control, evaluations, slots, arms, seeds)


NO_DECISION = Decision(dt.date(1970, 1, 1), False)
__all__ = ["CONTROL", "NO_DECISION", "Decision", "DecisionInputs", "Evaluation", "decide"]
