"""Form submissions are validated against the form's declared fields on the server: typed answers
back, or one message per wrong field that never repeats what was typed."""

from __future__ import annotations

import datetime as dt

import pytest

from renderer.data.forms import FormValidator
from renderer.errors import RowError
from renderer.template.models import Form

FORM = Form.model_validate(
    {
        "id": "preferences",
        "title": "form_prefs",
        "thanks": "form_thanks",
        "fields": {
            "channel": {
                "type": "enum",
                "choices": ["email", "phone", "post"],
                "required": True,
                "label": "f",
            },
            "email": {"type": "email", "label": "f"},
            "callback_time": {"type": "string", "max_length": 10, "label": "f"},
            "visit_on": {"type": "date", "label": "f"},
            "newsletter": {"type": "bool", "label": "f"},
            "tips_by_email": {"type": "consent", "version": "2026-12", "label": "f"},
            "terms": {"type": "consent", "version": "v3", "required": True, "label": "f"},
        },
    }
)


def _issues(values: dict[str, str]) -> dict[str, str]:
    with pytest.raises(RowError) as caught:
        FormValidator(FORM).validate(values)
    return {issue.field: issue.reason for issue in caught.value.issues}


def test_a_browser_post_becomes_typed_answers_with_consent_versions() -> None:
    posted = {
        "channel": "phone",
        "callback_time": " 18:00 ",
        "visit_on": "2026-12-24",
        "terms": "on",
        "csrf": "x",
    }
    assert FormValidator(FORM).validate(posted) == {
        "channel": "phone",
        "email": None,
        "callback_time": "18:00",
        "visit_on": dt.date(2026, 12, 24),
        "newsletter": False,  # an unticked box is posted as nothing
        "tips_by_email": {"given": False, "version": "2026-12"},
        "terms": {"given": True, "version": "v3"},
    }


def test_a_json_body_works_the_same() -> None:
    answers = FormValidator(FORM).validate(
        {"channel": "email", "email": "ana@example.com", "terms": True, "newsletter": True}
    )
    assert (answers["email"], answers["newsletter"], answers["terms"]["given"]) == (
        "ana@example.com",
        True,
        True,
    )


def test_every_wrong_field_is_named_and_no_value_is_repeated() -> None:
    secret = "0176-5550123-too-long"
    issues = _issues({"channel": "fax", "email": "ana@", "callback_time": secret, "visit_on": "24.12.2026"})
    assert issues == {
        "channel": "should be one of: 'email', 'phone' or 'post'",
        "email": "is not a valid email address",
        "callback_time": "is longer than 10 characters",
        "visit_on": "is not a valid date (YYYY-MM-DD)",
        "terms": "must be given to send this form",
    }
    assert not any(secret in message or "fax" in message for message in issues.values())


def test_required_fields_and_blank_values() -> None:
    assert _issues({"channel": "  ", "terms": "on"}) == {"channel": "is required"}
    assert _issues({"channel": "post", "terms": "off"}) == {"terms": "must be given to send this form"}


def test_the_sample_preference_form_accepts_a_real_submit(bill) -> None:  # type: ignore[no-untyped-def]
    form = bill.manifest.interactions.forms[0]
    answers = FormValidator(form).validate(
        {"channel": "email", "callback_time": "after 6 pm", "tips_by_email": "on"}
    )
    assert answers["tips_by_email"] == {"given": True, "version": "2026-12"}


def test_every_issue_carries_the_code_the_page_shows_a_message_for() -> None:
    from renderer.data.forms import ERROR_CODES, issue_codes

    with pytest.raises(RowError) as caught:
        FormValidator(FORM).validate(
            {"email": "ana@", "callback_time": "x" * 11, "visit_on": "24.12.2026", "newsletter": "perhaps"}
        )
    assert issue_codes(caught.value) == {
        "channel": "required",
        "email": "email",
        "callback_time": "too_long",
        "visit_on": "date",
        "newsletter": "checked",
        "terms": "consent",
    }
    with pytest.raises(RowError) as caught:
        FormValidator(FORM).validate({"channel": "fax", "terms": "on"})
    assert issue_codes(caught.value) == {"channel": "choice"}
    assert set(ERROR_CODES) == {"required", "too_long", "email", "choice", "date", "checked", "consent"}


def test_stored_answers_are_json_values() -> None:
    from renderer.data.forms import stored_answers

    answers = FormValidator(FORM).validate({"channel": "post", "visit_on": "2026-12-24", "terms": "on"})
    assert stored_answers(answers)["visit_on"] == "2026-12-24"
