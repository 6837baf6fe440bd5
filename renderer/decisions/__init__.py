"""Triggers, slots, variants and holdouts: pure functions of (template, recipient) -> choices, and
the decision trace that says why a customer got what they got.

`library` reads trigger files; `book` checks a template's ``decisions:`` section against them;
`assign` draws variants; `decide` takes the decisions for one resolved recipient; `checks` runs
golden cases and finds overlaps, unreachable triggers and cycles.
"""
