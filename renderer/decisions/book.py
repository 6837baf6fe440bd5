"""`build_book`: a template's ``decisions:`` section checked against the trigger library, ready
to decide for any recipient: its triggers in dependency order (``requires`` first), every name a
condition or eligibility reads known to the template, no cycle, and all conditions compiled into
one expression (one call per recipient, not one per trigger).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cached_property
from graphlib import CycleError, TopologicalSorter
from typing import Any

from jinja2 import Template as JinjaTemplate

from renderer.decisions.library import CompiledTrigger, TriggerLibrary
from renderer.decisions.slots import ranked
from renderer.errors import TemplateError
from renderer.template.decisions import DecisionsSection
from renderer.template.jinja import expression_environment

ELIGIBLE = "tailor_eligible"  # the list of eligibility flags the combined expression reads


@dataclass(frozen=True)
class DecisionBook:
    """What a template decides: the section, its triggers in evaluation order, and the combined
    condition expression (None when it uses no trigger)."""

    template: str
    section: DecisionsSection
    triggers: tuple[CompiledTrigger, ...] = ()
    combined: JinjaTemplate | None = field(default=None, repr=False)
    digest: str = ""

    @cached_property
    def jinja_globals(self) -> dict[str, Any]:
        """The combined template's globals (``abs``, ``min``...), for a shared context."""
        return dict(self.combined.globals) if self.combined is not None else {}

    @cached_property
    def priorities(self) -> dict[str, int]:
        """Each trigger's priority by id."""
        return {c.id: c.trigger.priority for c in self.triggers}

    @cached_property
    def plain(self) -> tuple[bool, ...]:
        """Per trigger: whether only its condition decides (no eligibility, validity window,
        requirement or cap): its reason is "fired" or "condition false"."""
        return tuple(
            not (t.eligibility or t.requires or t.cap or t.valid_from or t.valid_until)
            for t in (c.trigger for c in self.triggers)
        )

    @cached_property
    def slot_orders(self) -> dict[str, tuple[str, ...]]:
        """Each slot's triggers in the order it picks them (`renderer.decisions.slots.ranked`)."""
        return {
            name: tuple(ranked(spec, set(spec.triggers), self.priorities))
            for name, spec in self.section.slots.items()
        }

    def valid_on(self, day: dt.date) -> tuple[str | None, ...]:
        """Per trigger: None when it may fire on `day`, else why not (kept per day)."""
        found = self._validity.get(day)
        if found is None:
            found = tuple(c.trigger.valid_on(day) for c in self.triggers)
            self._validity[day] = found
        return found

    @cached_property
    def _validity(self) -> dict[dt.date, tuple[str | None, ...]]:
        return {}

    @property
    def empty(self) -> bool:
        """Whether the template decides nothing."""
        return self.section.empty

    def by_id(self) -> dict[str, CompiledTrigger]:
        """The book's triggers by id."""
        return {compiled.id: compiled for compiled in self.triggers}


def evaluation_order(triggers: dict[str, CompiledTrigger], file: str) -> list[str]:
    """Trigger ids with every trigger after those it requires; TemplateError naming the cycle."""
    graph = {tid: set(compiled.trigger.requires) for tid, compiled in triggers.items()}
    try:
        return list(TopologicalSorter(graph).static_order())
    except CycleError as exc:
        cycle = " -> ".join(str(node) for node in exc.args[1])
        raise TemplateError(
            f"decisions: triggers require each other in a cycle: {cycle}", file=file
        ) from None


def _check_reads(compiled: CompiledTrigger, known: frozenset[str], template: str) -> None:
    unknown = sorted(compiled.reads - known)
    if unknown:
        raise TemplateError(
            f"trigger {compiled.id!r} reads {', '.join(unknown)}: not a field or computed value"
            f" of {template}",
            file=compiled.file,
            line=compiled.line,
        )
    outside = sorted(set(compiled.trigger.eligibility) - known)
    if outside:
        raise TemplateError(
            f"trigger {compiled.id!r}: eligibility names {', '.join(outside)}, not a field of {template}",
            file=compiled.file,
            line=compiled.line,
        )


def _combine(triggers: Iterable[CompiledTrigger]) -> JinjaTemplate | None:
    """Every condition in one sandboxed template that sets ``result`` to the list of their values
    (False, unevaluated, where the ``tailor_eligible`` flag is off)."""
    parts = [f"((({c.trigger.condition})) if {ELIGIBLE}[{i}] else false)" for i, c in enumerate(triggers)]
    if not parts:
        return None
    return expression_environment().from_string(f"{{% set result = [{', '.join(parts)}] %}}")


def build_book(
    section: DecisionsSection, library: TriggerLibrary, template: str, known: frozenset[str], file: str
) -> DecisionBook:
    """The checked book of `template` (manifest `file`); `known` are the names its conditions may
    read (contract fields, computed values, the resolver's names). TemplateError for a trigger
    missing from the library, a required trigger the template does not list, an unknown name, a
    cycle."""
    chosen: dict[str, CompiledTrigger] = {}
    for tid in section.triggers:
        if tid not in library.triggers:
            raise TemplateError(f"decisions.triggers: no trigger {tid!r} in the trigger library", file=file)
        chosen[tid] = library.triggers[tid]
    for compiled in chosen.values():
        missing = sorted(set(compiled.trigger.requires) - set(chosen))
        if missing:
            raise TemplateError(
                f"trigger {compiled.id!r} requires {', '.join(missing)}"
                " (decisions.triggers does not list it)",
                file=file,
            )
        _check_reads(compiled, known, template)
    ordered = tuple(chosen[tid] for tid in evaluation_order(chosen, file))
    return DecisionBook(template, section, ordered, _combine(ordered), library.digest)
