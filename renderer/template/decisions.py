"""The ``decisions:`` section of ``template.yaml``: which library triggers the template uses, the
slots they fill, its experiments (variant groups with weights and a holdout) and the campaign's
global control group. Shape only; `renderer.decisions` loads the triggers and decides.

Identifiers (trigger, slot, experiment and variant ids) are lower-case Python identifiers, so a
template can write ``t('offer_' ~ slots.offer[0])`` and ``variants.headline``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

DECISION_ID = r"^[a-z][a-z0-9_]{0,62}$"
# arms a recipient can be in besides a variant: kept out by the experiment's holdout, or in the
# campaign's global control group
RESERVED_ARMS = frozenset({"holdout", "control"})


def check_ids(names: Iterable[str], what: str) -> None:
    """ValueError naming the first of `names` that is not a decision identifier (a `what`)."""
    for name in names:
        if not re.fullmatch(DECISION_ID, name):
            raise ValueError(f"{what} {name!r} must be a lower-case identifier (a-z, 0-9, _)")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SlotSpec(_Strict):
    """A place in the outputs (an offer block, a tip scene, a headline) that triggers may fill:
    of its `triggers` that fire, `pick` orders them (``priority``: highest first, ties in the order
    listed; ``order``: as listed), at most one of each `exclusive` group is kept, and the first
    `max` are the winners."""

    triggers: list[str] = Field(min_length=1)
    pick: Literal["priority", "order"] = "priority"
    max: int = Field(default=1, ge=1, le=20)
    exclusive: list[list[str]] = Field(default_factory=list)

    @model_validator(mode="after")
    def _groups_within_slot(self) -> SlotSpec:
        check_ids(self.triggers, "trigger id")
        if len(set(self.triggers)) != len(self.triggers):
            raise ValueError("a slot lists each trigger once")
        for group in self.exclusive:
            outside = sorted(set(group) - set(self.triggers))
            if outside:
                raise ValueError(f"exclusive group names triggers not in the slot: {', '.join(outside)}")
            if len(group) < 2:
                raise ValueError("an exclusive group names at least two triggers")
        return self


class ExperimentSpec(_Strict):
    """A variant group: each recipient gets one of `variants` (by weight), assigned from a hash of
    `seed` and the recipient id; a `holdout` share is kept out and gets `default`, as does the
    campaign's global control group."""

    seed: str = Field(min_length=1, max_length=200)
    variants: dict[str, float] = Field(min_length=2)
    default: str
    holdout: float = Field(default=0.0, ge=0.0, lt=1.0)
    description: str = ""

    @model_validator(mode="after")
    def _variants_are_sound(self) -> ExperimentSpec:
        check_ids(self.variants, "variant")
        reserved = sorted(set(self.variants) & RESERVED_ARMS)
        if reserved:
            raise ValueError(f"variant names {', '.join(reserved)} are reserved (holdout, control)")
        if any(weight <= 0 for weight in self.variants.values()):
            raise ValueError("every variant weight must be above 0")
        if self.default not in self.variants:
            raise ValueError(f"default {self.default!r} is not one of the variants")
        return self


class DecisionsSection(_Strict):
    """The template's triggers (ids from the trigger library), slots, experiments and the global
    control group's share (drawn per campaign: those recipients get every default, no slot filled)."""

    triggers: list[str] = Field(default_factory=list)
    slots: dict[str, SlotSpec] = Field(default_factory=dict)
    experiments: dict[str, ExperimentSpec] = Field(default_factory=dict)
    control_group: float = Field(default=0.0, ge=0.0, lt=1.0)

    @field_validator("triggers")
    @classmethod
    def _trigger_ids(cls, triggers: list[str]) -> list[str]:
        check_ids(triggers, "trigger id")
        if len(set(triggers)) != len(triggers):
            raise ValueError("each trigger is listed once")
        return triggers

    @model_validator(mode="after")
    def _slots_use_listed_triggers(self) -> DecisionsSection:
        check_ids(self.slots, "slot id")
        check_ids(self.experiments, "experiment id")
        for name, slot in self.slots.items():
            missing = sorted(set(slot.triggers) - set(self.triggers))
            if missing:
                raise ValueError(f"slot {name!r} names triggers not under 'triggers': {', '.join(missing)}")
        return self

    @property
    def empty(self) -> bool:
        """Whether the template decides nothing (no trigger, no experiment, no control group)."""
        return not self.triggers and not self.experiments and not self.control_group
