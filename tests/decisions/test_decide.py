"""decide(): triggers evaluated with reasons, slots filled by their rule, caps, validity, cycles."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest

from renderer.decisions.book import DecisionBook, build_book
from renderer.decisions.decide import DecisionInputs, decide
from renderer.decisions.library import load_library
from renderer.errors import TemplateError
from renderer.template.decisions import DecisionsSection

DAY = dt.date(2026, 12, 2)
KNOWN = frozenset({"plan", "locale", "kwh_change", "days_overdue", "paperless", "first_name"})
TRIGGERS = {
    "usage_up": "condition: kwh_change > 0.3\npriority: 10\n",
    "late_payment": "condition: days_overdue > 0\npriority: 50\ncap: {times: 1, days: 30}\n",
    "paperless_offer": "condition: not paperless\npriority: 20\neligibility: {locale: [de, en_US]}\n",
    "old_offer": "condition: 'true'\npriority: 99\nvalid_until: 2026-11-30\n",
    "loyal_late": "condition: plan == 'basic'\nrequires: [late_payment]\n",
}


def write_triggers(folder: Path, triggers: dict[str, str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for tid, body in triggers.items():
        (folder / f"{tid}.yaml").write_text(f"id: {tid}\nversion: 1\n{body}", encoding="utf-8")
    return folder


def book_of(tmp_path: Path, section: dict[str, Any], triggers: dict[str, str] = TRIGGERS) -> DecisionBook:
    library = load_library([write_triggers(tmp_path / "triggers", triggers)])
    return build_book(DecisionsSection.model_validate(section), library, "t", KNOWN, "t/template.yaml")


SECTION = {
    "triggers": list(TRIGGERS),
    "slots": {
        "offer": {
            "triggers": ["old_offer", "late_payment", "paperless_offer", "usage_up"],
            "max": 2,
            "exclusive": [["late_payment", "paperless_offer"]],
        },
        "tip": {"triggers": ["usage_up", "loyal_late"], "pick": "order"},
    },
    "experiments": {"headline": {"seed": "h1", "variants": {"plain": 1, "warm": 1}, "default": "plain"}},
}
EVERYONE = {
    "plan": "basic",
    "locale": "de_DE",
    "kwh_change": 0.5,
    "days_overdue": 3,
    "paperless": False,
    "first_name": "Zelda-MARKER",
}


def test_slots_follow_priority_exclusive_groups_and_max(tmp_path: Path) -> None:
    book = book_of(tmp_path, SECTION)
    decision = decide(book, EVERYONE, "C-1", DecisionInputs("spring", DAY))
    offer = decision.slots["offer"]
    assert offer.candidates == ("late_payment", "paperless_offer", "usage_up")  # old_offer expired
    assert offer.winners == ("late_payment", "usage_up")
    assert offer.dropped == (("paperless_offer", "exclusive with late_payment"),)
    assert decision.slots["tip"].winners == ("usage_up",)  # order: as listed, max 1
    assert decision.context()["slots"] == {"offer": ("late_payment", "usage_up"), "tip": ("usage_up",)}
    assert decision.shown == ("late_payment", "usage_up")


def test_reasons_name_why_a_trigger_did_not_fire(tmp_path: Path) -> None:
    book = book_of(tmp_path, SECTION)
    someone = EVERYONE | {"locale": "fa_IR", "days_overdue": 0, "kwh_change": 0.1}
    reasons = {
        item.id: item.reason for item in decide(book, someone, "C-2", DecisionInputs("s", DAY)).evaluations
    }
    assert reasons == {
        "usage_up": "condition false",
        "late_payment": "condition false",
        "paperless_offer": "not eligible (locale)",
        "old_offer": "expired on 2026-11-30",
        "loyal_late": "requires late_payment",
    }


def test_a_trigger_past_valid_until_never_fires(tmp_path: Path) -> None:
    book = book_of(tmp_path, SECTION)
    for day in (dt.date(2026, 12, 1), dt.date(2027, 6, 1)):
        decision = decide(book, EVERYONE, "C-3", DecisionInputs("s", day))
        assert "old_offer" not in {item.id for item in decision.evaluations if item.fired}
    on_the_day = decide(book, EVERYONE, "C-3", DecisionInputs("s", dt.date(2026, 11, 30)))
    assert on_the_day.slots["offer"].winners[0] == "old_offer"  # inclusive, and priority 99


def test_a_frequency_cap_reads_the_exposure_history(tmp_path: Path) -> None:
    book = book_of(tmp_path, SECTION)
    shown = dt.datetime(2026, 11, 20, 9, tzinfo=dt.UTC)
    capped = decide(book, EVERYONE, "C-4", DecisionInputs("s", DAY, {"late_payment": [shown]}))
    late = next(item for item in capped.evaluations if item.id == "late_payment")
    assert (late.fired, late.reason) == (False, "capped (1 in 30 days)")
    assert capped.slots["offer"].winners == ("paperless_offer", "usage_up")  # the next in line
    later = DecisionInputs("s", shown.date() + dt.timedelta(days=30), {"late_payment": [shown]})
    assert decide(book, EVERYONE, "C-4", later).slots["offer"].winners[0] == "late_payment"


def test_the_global_control_group_gets_empty_slots_and_defaults(tmp_path: Path) -> None:
    book = book_of(tmp_path, SECTION | {"control_group": 0.5})
    decisions = [decide(book, EVERYONE, f"C-{n}", DecisionInputs("spring", DAY)) for n in range(200)]
    control = [d for d in decisions if d.control_group]
    assert 60 < len(control) < 140
    assert all(d.context()["slots"] == {"offer": (), "tip": ()} for d in control)
    assert {d.variant_key for d in control} == {"headline=control"}
    assert {d.context()["variants"]["headline"] for d in control} == {"plain"}


def test_the_trace_names_triggers_and_variants_and_holds_no_personal_value(tmp_path: Path) -> None:
    decision = decide(book_of(tmp_path, SECTION), EVERYONE, "C-5", DecisionInputs("s", DAY))
    trace = decision.trace()
    text = json.dumps(trace)
    assert "MARKER" not in text and "C-5" not in text
    assert {t["id"] for t in trace["triggers"]} == set(TRIGGERS)
    assert trace["experiments"]["headline"]["arm"] in {"plain", "warm"}
    assert (
        trace["variant_key"] == decision.variant_key == f"headline={trace['experiments']['headline']['arm']}"
    )


def test_a_forced_variant_wins(tmp_path: Path) -> None:
    inputs = DecisionInputs("s", DAY, forced={"headline": "warm"})
    assert decide(book_of(tmp_path, SECTION), EVERYONE, "C-6", inputs).context()["variants"] == {
        "headline": "warm"
    }


def test_cycles_unknown_names_and_missing_triggers_are_load_errors(tmp_path: Path) -> None:
    cyclic = {"a": "condition: 'true'\nrequires: [b]\n", "b": "condition: 'true'\nrequires: [a]\n"}
    with pytest.raises(TemplateError, match="cycle"):
        book_of(tmp_path / "1", {"triggers": ["a", "b"]}, cyclic)
    with pytest.raises(TemplateError, match="reads balance"):
        book_of(tmp_path / "2", {"triggers": ["x"]}, {"x": "condition: balance > 0\n"})
    with pytest.raises(TemplateError, match="no trigger 'nope'"):
        book_of(tmp_path / "3", {"triggers": ["nope"]}, {})
    with pytest.raises(TemplateError, match="requires a"):
        book_of(tmp_path / "4", {"triggers": ["b"]}, cyclic)


def test_a_broken_trigger_file_names_its_file_and_line(tmp_path: Path) -> None:
    folder = write_triggers(tmp_path / "triggers", {"bad": "condition: 'x >'\n"})
    with pytest.raises(TemplateError) as caught:
        load_library([folder])
    assert "bad.yaml" in str(caught.value) and "broken expression" in str(caught.value)
    (folder / "bad.yaml").write_text("id: other\nversion: 1\ncondition: 'true'\n", encoding="utf-8")
    with pytest.raises(TemplateError, match="differs from the file name"):
        load_library([folder])
