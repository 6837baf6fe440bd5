"""Computed values in one program: the same values as one expression at a time, and a failure
still names the failing expression and its line."""

from __future__ import annotations

from typing import Any

import pytest

from renderer.errors import TemplateError
from renderer.outputs.template import Template
from renderer.template.computed import add_computed_values
from renderer.template.resolve import resolve


def _one_by_one(template: Template, context: dict[str, Any]) -> dict[str, Any]:
    for name in template.manifest.computed:
        context[name] = template.expressions[f"computed.{name}"](**context)
    return context


def test_the_program_gives_what_each_expression_gives(bill: Template) -> None:
    for raw in bill.samples.values():
        spec = resolve(bill, bill.validator.validate(raw))
        base = {k: v for k, v in spec.context.items() if k not in bill.manifest.computed}
        together, alone = dict(base), _one_by_one(bill, dict(base))
        add_computed_values(bill, together)
        assert {n: together[n] for n in bill.manifest.computed} == {
            n: alone[n] for n in bill.manifest.computed
        }


def test_a_failing_value_is_named_with_its_line(bill: Template) -> None:
    spec = resolve(bill, bill.validator.validate(next(iter(bill.samples.values()))))
    broken = {k: v for k, v in spec.context.items() if k not in bill.manifest.computed}
    broken["line_items"] = [{"amount": "not a number"}]  # sum() of strings and numbers fails
    with pytest.raises(TemplateError) as caught:
        add_computed_values(bill, broken)
    assert "computed.amount_due failed" in str(caught.value)
    assert caught.value.line == bill.lines["computed.amount_due"]
