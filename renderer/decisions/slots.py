"""`fill_slot`: pure, the winners of one slot from the triggers that fired, by the slot's rule
(priority or declared order, exclusive groups, at most `max`), and what was dropped and why."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from renderer.template.decisions import SlotSpec


@dataclass(frozen=True)
class SlotResult:
    """One slot's winners (in showing order), the fired candidates, and each dropped one's reason."""

    winners: tuple[str, ...]
    candidates: tuple[str, ...]
    dropped: tuple[tuple[str, str], ...] = ()

    def trace(self) -> dict[str, Any]:
        """The slot's part of the decision trace."""
        return {
            "winners": list(self.winners),
            "candidates": list(self.candidates),
            "dropped": [{"id": tid, "reason": reason} for tid, reason in self.dropped],
        }


def ranked(spec: SlotSpec, fired: set[str], priorities: Mapping[str, int]) -> list[str]:
    """The slot's fired triggers in the order the slot picks them (priority: highest first, ties
    in the order the slot lists them)."""
    candidates = [tid for tid in spec.triggers if tid in fired]
    if spec.pick == "priority":
        candidates.sort(key=lambda tid: -priorities.get(tid, 0))  # sort is stable: ties keep order
    return candidates


def fill_slot(
    spec: SlotSpec,
    fired: set[str],
    priorities: Mapping[str, int],
    control_group: bool,
    order: tuple[str, ...] | None = None,
) -> SlotResult:
    """The slot filled from `fired`; empty for the global control group (every candidate dropped).
    `order`: the slot's triggers already `ranked` (the same result, computed once per book)."""
    candidates = (
        [tid for tid in order if tid in fired] if order is not None else ranked(spec, fired, priorities)
    )
    if control_group:
        return SlotResult((), tuple(candidates), tuple((tid, "global control group") for tid in candidates))
    winners: list[str] = []
    dropped: list[tuple[str, str]] = []
    for tid in candidates:
        rival = next((w for group in spec.exclusive if tid in group for w in winners if w in group), None)
        if rival is not None:
            dropped.append((tid, f"exclusive with {rival}"))
        elif len(winners) >= spec.max:
            dropped.append((tid, f"beyond max {spec.max}"))
        else:
            winners.append(tid)
    return SlotResult(tuple(winners), tuple(candidates), tuple(dropped))
