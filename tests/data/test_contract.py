"""Data contracts: every field type's rules, with errors that name the field and never the value."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest

from renderer.data.contract import RecipientValidator
from renderer.errors import RowError
from renderer.template.models import Contract

CONTRACT = Contract.model_validate(
    {
        "recipient_id": "id",
        "locale_field": "locale",
        "fields": {
            "id": {"type": "string", "required": True, "max_length": 10, "pattern": "^[A-Z0-9-]+$"},
            "name": {"type": "string", "required": True, "max_length": 5, "personal": True},
            "age": {"type": "integer", "minimum": 18, "maximum": 120},
            "ratio": {"type": "decimal", "minimum": 0},
            "amount": {"type": "money", "required": True},
            "born": {"type": "date"},
            "vip": {"type": "bool", "default": False},
            "email": {"type": "email"},
            "site": {"type": "url"},
            "locale": {"type": "locale", "required": True},
            "currency": {"type": "currency"},
            "plan": {"type": "enum", "choices": ["basic", "plus"], "default": "basic"},
            "items": {
                "type": "list",
                "min_items": 1,
                "max_items": 3,
                "items": {
                    "label": {"type": "string", "required": True},
                    "price": {"type": "money"},
                },
            },
        },
    }
)
VALID = {"id": "A-1", "name": "Ann", "amount": "12.50", "locale": "de-DE"}


@pytest.fixture(scope="module")
def validator() -> RecipientValidator:
    return RecipientValidator(CONTRACT)


def _issues(validator: RecipientValidator, **changes: Any) -> dict[str, str]:
    with pytest.raises(RowError) as caught:
        validator.validate({**VALID, **changes}, row_number=7)
    assert caught.value.row == 7
    return {issue.field: issue.reason for issue in caught.value.issues}


def test_valid_row_is_typed_and_defaulted(validator: RecipientValidator) -> None:
    row = validator.validate(
        {
            **VALID,
            "age": "42",
            "born": "1990-02-03",
            "vip": "true",
            "currency": "eur",
            "items": '[{"label": "x", "price": "1.5"}]',
            "email": "",
            "site": "https://example.com/a",
        }
    )
    assert row["amount"] == Decimal("12.50")
    assert row["age"] == 42
    assert row["born"] == dt.date(1990, 2, 3)
    assert row["vip"] is True
    assert row["currency"] == "EUR"
    assert row["locale"] == "de_DE"
    assert row["plan"] == "basic"
    assert row["email"] is None
    assert row["site"] == "https://example.com/a"
    assert row["items"] == [{"label": "x", "price": Decimal("1.5")}]


@pytest.mark.parametrize(
    ("field", "value", "reason"),
    [
        ("id", "a b", "does not match the required pattern"),
        ("id", "X" * 11, "at most 10 characters"),
        ("name", "Bartholomew", "at most 5 characters"),
        ("age", "twelve", "valid integer"),
        ("age", "12", "greater than or equal to 18"),
        ("ratio", "-1", "greater than or equal to 0"),
        ("amount", "12,5.0", "valid decimal"),
        ("amount", "NaN", "finite number"),
        ("born", "31/12/1999", "valid date"),
        ("vip", "perhaps", "valid boolean"),
        ("email", "not-an-address", "not a valid email address"),
        ("site", "javascript:alert(1)", "not a valid http(s) URL"),
        ("locale", "xx-QQ", "not a known locale"),
        ("currency", "EURO", "not an ISO 4217 currency code"),
        ("plan", "gold", "one of: 'basic' or 'plus'"),
        ("items", "[]", "at least 1 item"),
        ("items", "{broken", "not a valid JSON list"),
    ],
)
def test_each_rule_names_field_and_rule(
    validator: RecipientValidator, field: str, value: str, reason: str
) -> None:
    issues = _issues(validator, **{field: value})
    assert field in issues, issues
    assert reason in issues[field]
    if len(value) > 3:
        assert value not in issues[field], "the personal value must never be echoed"


def test_missing_required_and_nested_paths(validator: RecipientValidator) -> None:
    issues = _issues(validator, name="", items=[{"price": "x"}])
    assert issues["name"] == "is required"
    assert issues["items.0.label"] == "is required"
    assert "valid decimal" in issues["items.0.price"]


def test_row_error_message_lists_fields_without_values(validator: RecipientValidator) -> None:
    secret = "Zaphod-Beeblebrox-the-secret"
    with pytest.raises(RowError) as caught:
        validator.validate({**VALID, "name": secret, "age": secret})
    message = str(caught.value)
    assert "name:" in message and "age:" in message
    assert secret not in message


def test_contract_rejects_options_that_do_not_fit_the_type() -> None:
    with pytest.raises(ValueError, match="'choices' is required for type enum"):
        Contract.model_validate(
            {
                "recipient_id": "id",
                "fields": {"id": {"type": "string", "required": True}, "p": {"type": "enum"}},
            }
        )
    with pytest.raises(ValueError, match="apply only to string"):
        Contract.model_validate(
            {
                "recipient_id": "id",
                "fields": {"id": {"type": "integer", "required": True, "max_length": 3}},
            }
        )
    with pytest.raises(ValueError, match="recipient_id names field 'nope'"):
        Contract.model_validate({"recipient_id": "nope", "fields": {"id": {"type": "string"}}})
