"""Checks of a trigger library and a template's decisions, pure over loaded objects:
`run_golden` runs every golden case (eligibility and condition on the case's data, on its date);
`find_overlaps` names slots where more triggers fire than can show (on samples and on each
other's golden cases); `find_unreachable` names triggers that can never be shown.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from jinja2 import TemplateError as JinjaError

from renderer.decisions.book import DecisionBook
from renderer.decisions.decide import DecisionInputs, decide, eligible
from renderer.decisions.library import CompiledTrigger
from renderer.decisions.models import GoldenCase
from renderer.decisions.slots import fill_slot, ranked
from renderer.template.faults import describe
from renderer.template.locale import parse_locale

ALWAYS = frozenset({"true", "True", "1"})


@dataclass(frozen=True)
class GoldenResult:
    """One golden case run: what it expects, what happened (None on an error), and the error."""

    trigger: str
    version: int
    case: str
    expected: bool
    fired: bool | None
    error: str | None = None

    @property
    def passed(self) -> bool:
        """Whether the trigger did what the case says."""
        return self.error is None and self.fired == self.expected


def fires_on(compiled: CompiledTrigger, data: Mapping[str, Any], at: dt.date) -> bool:
    """Whether the trigger fires on `data` on day `at`, its requirements and cap taken as met."""
    if compiled.trigger.valid_on(at) is not None or eligible(compiled, data) is not None:
        return False
    return bool(compiled.condition(**data))


def _case_day(compiled: CompiledTrigger, case: GoldenCase, today: dt.date) -> dt.date:
    return case.at or compiled.trigger.valid_from or today


def run_golden(triggers: Iterable[CompiledTrigger], today: dt.date) -> list[GoldenResult]:
    """Every golden case of `triggers`, in file order; a case that errors (a name missing from its
    data, a type error) is a failure naming the problem, never a value."""
    results = []
    for compiled in triggers:
        trigger = compiled.trigger
        for case in trigger.golden:
            try:
                fired: bool | None = fires_on(compiled, case.data, _case_day(compiled, case, today))
                error = None
            except (JinjaError, ArithmeticError, TypeError, ValueError) as exc:
                fired, error = None, describe(exc)
            results.append(GoldenResult(trigger.id, trigger.version, case.name, case.fires, fired, error))
    return results


def _sample_overlaps(book: DecisionBook, samples: Mapping[str, Mapping[str, Any]], at: dt.date) -> list[str]:
    findings = []
    for name, context in samples.items():
        decision = decide(book, context, "overlap-check", DecisionInputs("validate", at))
        for slot_id, slot in decision.slots.items():
            if len(slot.candidates) > len(slot.winners) and not decision.control_group:
                dropped = ", ".join(tid for tid, _ in slot.dropped)
                findings.append(
                    f"slot {slot_id!r}: {', '.join(slot.candidates)} fire on {name}; only"
                    f" {', '.join(slot.winners)} can show ({dropped} dropped)"
                )
    return findings


def _golden_overlaps(book: DecisionBook, today: dt.date) -> list[str]:
    by_id, findings = book.by_id(), []
    for slot_id, spec in book.section.slots.items():
        for tid in spec.triggers:
            for case in (c for c in by_id[tid].trigger.golden if c.fires):
                day = _case_day(by_id[tid], case, today)
                fired = set()
                for other in spec.triggers:
                    try:
                        if other == tid or fires_on(by_id[other], case.data, day):
                            fired.add(other)
                    except (JinjaError, ArithmeticError, TypeError, ValueError):
                        continue  # the case does not hold the names the other trigger reads
                priorities = {t: by_id[t].trigger.priority for t in fired}
                filled = fill_slot(spec, fired, priorities, control_group=False)
                if len(filled.winners) < len(fired):
                    both = ", ".join(filled.candidates)
                    shown = ", ".join(filled.winners)
                    findings.append(
                        f"slot {slot_id!r}: {both} all fire on {tid}'s golden case {case.name!r};"
                        f" only {shown} can show"
                    )
    return findings


def find_overlaps(book: DecisionBook, samples: Mapping[str, Mapping[str, Any]], today: dt.date) -> list[str]:
    """Slots where more triggers fire than the slot can show: on each sample (resolved contexts by
    sample name) and on each trigger's golden cases that fire; one message per finding."""
    return _sample_overlaps(book, samples, today) + _golden_overlaps(book, today)


def _always(compiled: CompiledTrigger) -> bool:
    trigger = compiled.trigger
    unconditional = not trigger.eligibility and trigger.cap is None and not trigger.requires
    open_ended = trigger.valid_from is None and trigger.valid_until is None
    return trigger.condition.strip() in ALWAYS and unconditional and open_ended


def _why_unreachable(
    book: DecisionBook, compiled: CompiledTrigger, locales: set[str], today: dt.date
) -> str | None:
    trigger, by_id = compiled.trigger, book.by_id()
    if trigger.valid_until is not None and trigger.valid_until < today:
        return f"expired on {trigger.valid_until.isoformat()}"
    allowed = trigger.eligibility.get("locale")
    if allowed and locales:
        options = {a.replace("-", "_") for a in allowed}
        if not any(code in options or parse_locale(code).language in options for code in locales):
            return "eligible for none of the template's locales"
    slots = [spec for spec in book.section.slots.values() if trigger.id in spec.triggers]
    required_by = [c.id for c in book.triggers if trigger.id in c.trigger.requires]
    if not slots and not required_by:
        return "in no slot, and no trigger requires it: it is never shown"
    for spec in slots:
        rank = {t: by_id[t].trigger.priority for t in spec.triggers}
        ahead = ranked(spec, set(spec.triggers), rank)
        above = [t for t in ahead[: ahead.index(trigger.id)] if _always(by_id[t])]
        rivals = [t for t in above if any(trigger.id in g and t in g for g in spec.exclusive)]
        if len(above) < spec.max and not rivals:
            return None
    if slots:
        return "always outranked in its slots by triggers that fire for everyone"
    return None


def find_unreachable(book: DecisionBook, locales: set[str], today: dt.date) -> list[str]:
    """Triggers of the book that can never be shown, each with the reason."""
    found = []
    for compiled in book.triggers:
        why = _why_unreachable(book, compiled, locales, today)
        if why is not None:
            found.append(f"trigger {compiled.id!r} is unreachable: {why}")
    return found
