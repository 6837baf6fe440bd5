"""Pydantic models of a trigger file (``triggers/<id>.yaml``): a versioned, tested data condition.

Shape only; `renderer.decisions.library` reads the files and compiles the conditions.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from renderer.template.decisions import DECISION_ID, check_ids


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Cap(_Strict):
    """Shown at most `times` in any `days` days to one recipient, across campaigns."""

    times: int = Field(ge=1, le=1000)
    days: int = Field(ge=1, le=3660)


class GoldenCase(_Strict):
    """Sample data (only the names the condition and eligibility read) and whether the trigger
    fires on it; `at` is the decision date (default: inside the trigger's validity)."""

    name: str = Field(min_length=1, max_length=200)
    data: dict[str, Any]
    fires: bool
    at: dt.date | None = None


class Trigger(_Strict):
    """A reusable condition: it fires for a recipient when it is valid on the decision date, the
    recipient is eligible, the `condition` holds, every trigger it `requires` fires and its `cap`
    is not reached."""

    id: str = Field(pattern=DECISION_ID)
    version: int = Field(ge=1)
    description: str = ""
    condition: str = Field(min_length=1)
    eligibility: dict[str, list[str]] = Field(default_factory=dict)
    priority: int = Field(default=0, ge=-1000, le=1000)
    valid_from: dt.date | None = None
    valid_until: dt.date | None = None
    cap: Cap | None = None
    requires: list[str] = Field(default_factory=list)
    golden: list[GoldenCase] = Field(default_factory=list)

    @field_validator("eligibility")
    @classmethod
    def _eligibility_lists(cls, eligibility: dict[str, list[str]]) -> dict[str, list[str]]:
        for field, allowed in eligibility.items():
            if not allowed:
                raise ValueError(f"eligibility {field!r} lists no value")
        return eligibility

    @model_validator(mode="after")
    def _dates_and_requires(self) -> Trigger:
        if self.valid_from and self.valid_until and self.valid_from > self.valid_until:
            raise ValueError("valid_from comes after valid_until")
        check_ids(self.requires, "required trigger")
        if self.id in self.requires:
            raise ValueError("a trigger cannot require itself")
        return self

    def valid_on(self, day: dt.date) -> str | None:
        """None when the trigger may fire on `day`, else why not (``expired``, ``not yet valid``)."""
        if self.valid_until is not None and day > self.valid_until:
            return f"expired on {self.valid_until.isoformat()}"
        if self.valid_from is not None and day < self.valid_from:
            return f"not valid before {self.valid_from.isoformat()}"
        return None
