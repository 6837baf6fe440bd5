"""The shared trigger library's content (``triggers/``): every file loads, each trigger has three
or more golden cases that fire and that do not, each case holds exactly the names the trigger
reads, and every case gives its stated result (`run_golden`, as ``tailor triggers test``)."""

from __future__ import annotations

import datetime as dt

import pytest

from renderer.decisions.checks import run_golden
from renderer.decisions.library import load_library
from renderer.settings import PROJECT_ROOT

LIBRARY = load_library([PROJECT_ROOT / "triggers"])
TODAY = dt.date(2026, 12, 2)


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


def test_every_golden_case_gives_its_result() -> None:
    failed = [
        (r.trigger, r.case, r.error) for r in run_golden(LIBRARY.triggers.values(), TODAY) if not r.passed
    ]
    assert failed == []
