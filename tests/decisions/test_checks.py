"""Golden cases, overlaps and unreachable triggers; ``tailor triggers test`` on the real library."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from test_decide import EVERYONE, SECTION, TRIGGERS, book_of, write_triggers
from typer.testing import CliRunner

from renderer.cli import app
from renderer.decisions.checks import find_overlaps, find_unreachable, run_golden
from renderer.decisions.library import load_library

DAY = dt.date(2026, 12, 2)
GOLDEN = """condition: kwh_change > 0.3
golden:
  - {name: up a half, data: {kwh_change: 0.5}, fires: true}
  - {name: exactly 30%, data: {kwh_change: 0.3}, fires: false}
  - {name: says it fires but does not, data: {kwh_change: 0.1}, fires: true}
  - {name: reads a name it lacks, data: {kwh: 3}, fires: true}
"""


def test_golden_cases_pass_fail_and_name_errors(tmp_path: Path) -> None:
    library = load_library([write_triggers(tmp_path, {"usage_up": GOLDEN})])
    results = run_golden(library.triggers.values(), DAY)
    assert [r.passed for r in results] == [True, True, False, False]
    assert results[2].fired is False and results[2].error is None
    assert results[3].fired is None and "kwh_change" in (results[3].error or "")


def test_overlaps_are_found_on_samples_and_golden_cases(tmp_path: Path) -> None:
    triggers = dict(TRIGGERS)
    triggers["paperless_offer"] += (
        "golden:\n  - {name: late too, data: {paperless: false, days_overdue: 4, locale: de_DE}, fires: true}\n"
    )
    book = book_of(tmp_path, SECTION, triggers)
    findings = find_overlaps(book, {"samples/de-DE.json": EVERYONE}, DAY)
    assert any(
        "slot 'offer'" in f and "samples/de-DE.json" in f and "paperless_offer dropped" in f for f in findings
    )
    assert any("golden case 'late too'" in f and "late_payment" in f for f in findings)
    quiet = {"samples/quiet.json": EVERYONE | {"days_overdue": 0, "kwh_change": 0}}
    assert not any("quiet" in finding for finding in find_overlaps(book, quiet, DAY))


def test_unreachable_triggers_say_why(tmp_path: Path) -> None:
    triggers = TRIGGERS | {
        "always": "condition: 'true'\npriority: 100\n",
        "unused": "condition: plan == 'basic'\n",
    }
    section = {
        "triggers": [*TRIGGERS, "always", "unused"],
        "slots": {"tip": {"triggers": ["always", "usage_up"]}, "offer": SECTION["slots"]["offer"]},
    }
    found = find_unreachable(book_of(tmp_path, section, triggers), {"fa_IR", "tr_TR"}, DAY)
    assert "trigger 'old_offer' is unreachable: expired on 2026-11-30" in found
    assert "trigger 'paperless_offer' is unreachable: eligible for none of the template's locales" in found
    assert (
        "trigger 'unused' is unreachable: in no slot, and no trigger requires it: it is never shown" in found
    )
    assert "trigger 'usage_up' is unreachable" not in " ".join(found)  # it can still win the offer slot
    assert not any("'late_payment'" in f for f in found)
    assert any("'loyal_late'" in f and "in no slot" in f for f in found)


def test_tailor_triggers_test_runs_the_shared_library() -> None:
    result = CliRunner().invoke(app, ["triggers", "test"])
    assert result.exit_code == 0, result.output
    assert "golden cases pass" in result.output


def test_tailor_triggers_test_fails_on_a_failing_case(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("TAILOR_TRIGGERS_DIR", str(write_triggers(tmp_path, {"usage_up": GOLDEN})))
    result = CliRunner().invoke(app, ["triggers", "test"])
    assert result.exit_code == 1
    assert "2 of 4 golden cases pass" in result.output
