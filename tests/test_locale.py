"""Locale formatting backed by Babel: money, numbers, percents, dates, months, direction."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from renderer.template import locale as loc

NBSP = "\u00a0"
LRM = "\u200e"


@pytest.mark.parametrize(
    ("locale", "expected"),
    [
        ("en_US", "€1,234.50"),
        ("de_DE", f"1.234,50{NBSP}€"),
        ("it_IT", f"1.234,50{NBSP}€"),
        ("tr_TR", "€1.234,50"),
        ("id_ID", "€1.234,50"),
        ("fa_IR", f"{LRM}€{NBSP}۱٬۲۳۴٫۵۰"),
    ],
)
def test_money_1234_50_eur(locale: str, expected: str) -> None:
    assert loc.format_money(Decimal("1234.5"), "EUR", locale) == expected


def test_money_in_local_currencies() -> None:
    assert loc.format_money(Decimal("12345000"), "IRR", "fa_IR") == f"{LRM}ریال{NBSP}۱۲٬۳۴۵٬۰۰۰"
    assert loc.format_money(Decimal("331200"), "IDR", "id_ID") == "Rp331.200,00"
    assert loc.format_money(Decimal("1025.4"), "TRY", "tr_TR") == "₺1.025,40"


def test_numbers_percent_dates_and_months() -> None:
    assert loc.format_number(Decimal("3100"), "de_DE", 0) == "3.100"
    assert loc.format_number(Decimal("350"), "fa_IR", 0) == "۳۵۰"
    assert loc.format_percent(Decimal("0.125"), "de_DE", 1) == f"12,5{NBSP}%"
    assert loc.format_percent(0.18, "fa_IR") == "۱۸%"
    day = dt.date(2026, 10, 21)
    assert loc.format_date(day, "de_DE", "long") == "21. Oktober 2026"
    assert loc.format_date(day, "tr_TR", "long") == "21 Ekim 2026"
    assert loc.format_date(day, "en_US", "short") == "10/21/26"
    assert loc.format_date(day, "fa_IR", "long") == "۲۱ اکتبر ۲۰۲۶"
    assert loc.month_name(day, "it_IT") == "ottobre"
    assert loc.month_name(3, "tr_TR", "abbreviated") == "Mar"


@pytest.mark.parametrize(
    ("locale", "direction"),
    [
        ("fa_IR", "rtl"),
        ("ar_EG", "rtl"),
        ("he", "rtl"),
        ("ur_PK", "rtl"),
        ("de-DE", "ltr"),
        ("hi_IN", "ltr"),
    ],
)
def test_direction(locale: str, direction: str) -> None:
    assert loc.text_direction(locale) == direction


def test_unknown_locale_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="unknown locale 'zz-ZZ'"):
        loc.parse_locale("zz-ZZ")


@pytest.mark.parametrize(
    "locale",
    ["en_US", "de_DE", "it_IT", "tr_TR", "id_ID", "fa_IR", "hi_IN", "ar_EG", "de_CH", "fr_FR", "en_IN"],
)
def test_fast_money_formatting_matches_babel(locale: str) -> None:
    import random

    from babel.numbers import format_currency

    rng = random.Random(locale)
    for currency in ("EUR", "USD", "IRR", "IDR", "TRY", "JPY", "INR"):
        for _ in range(200):
            amount = Decimal(rng.randint(-(10**9), 10**9)) / Decimal(10 ** rng.randint(0, 4))
            expected = loc.native_digits(
                format_currency(amount, currency, locale=locale, numbering_system="default"), locale
            )
            assert loc.format_money(amount, currency, locale) == expected, (currency, amount)
