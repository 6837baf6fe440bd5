"""The shared trigger library (``triggers/``): every file loads, each trigger has golden cases
that fire and that do not, each case holds exactly the names the trigger reads, and every case
gives its stated result on the decision date it names."""

from __future__ import annotations

import datetime as dt

import pytest

from renderer.decisions.decide import eligible
from renderer.decisions.library import CompiledTrigger, load_library
from renderer.settings import PROJECT_ROOT

LIBRARY = load_library([PROJECT_ROOT / "triggers"])
TODAY = dt.date(2026, 12, 2)


def fires(compiled: CompiledTrigger, data: dict[str, object], at: dt.date) -> bool:
    """Whether the trigger fires on `data` on `at` (validity, eligibility, condition; no caps)."""
    trigger = compiled.trigger
    return (
        trigger.valid_on(at) is None and eligible(compiled, data) is None and bool(compiled.condition(**data))
    )


def test_the_library_has_the_triggers_the_templates_use() -> None:
    assert len(LIBRARY.triggers) >= 8
    assert {"usage_up", "late_payment", "paperless_offer", "referral_reward", "app_not_installed"} <= set(
        LIBRARY.triggers
    )


@pytest.mark.parametrize("tid", sorted(LIBRARY.triggers))
def test_golden_cases_cover_both_outcomes_and_read_only_the_triggers_names(tid: str) -> None:
    compiled = LIBRARY.triggers[tid]
    cases = compiled.trigger.golden
    assert len(cases) >= 3 and {case.fires for case in cases} == {True, False}
    reads = compiled.reads | set(compiled.trigger.eligibility)
    for case in cases:
        assert set(case.data) == reads, f"{tid}: golden case {case.name!r}"


@pytest.mark.parametrize("tid", sorted(LIBRARY.triggers))
def test_golden_cases_give_their_result(tid: str) -> None:
    compiled = LIBRARY.triggers[tid]
    default_at = compiled.trigger.valid_from or TODAY
    wrong = [
        case.name
        for case in compiled.trigger.golden
        if fires(compiled, case.data, case.at or default_at) != case.fires
    ]
    assert wrong == []
