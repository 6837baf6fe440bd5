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
    # CLDR 48 (currencyData) gives the rupiah no minor digits, as Indonesian bills print it; CLDR 47
    # and Babel <= 2.17 said two (Rp331.200,00). The lock pins a Babel on CLDR >= 48.
    assert loc.format_money(Decimal("331200"), "IDR", "id_ID") == "Rp331.200"
    assert loc.format_money(Decimal("331200.49"), "IDR", "id_ID") == "Rp331.200"
    assert loc.format_money(Decimal("1025.4"), "TRY", "tr_TR") == "₺1.025,40"


def test_numbers_percent_dates_and_months() -> None:
    assert loc.format_number(Decimal("3100"), "de_DE", 0) == "3.100"
    assert loc.format_number(Decimal("350"), "fa_IR", 0) == "۳۵۰"
    assert loc.format_percent(Decimal("0.125"), "de_DE", 1) == f"12,5{NBSP}%"
    assert loc.format_percent(0.18, "fa_IR") == "۱۸٪"  # CLDR's arabext percent sign
    assert loc.format_percent(0.18, "ar_EG") == "١٨٪؜"  # arab: the sign and its Arabic letter mark
    assert loc.format_percent(0.18, "en_US") == "18%"
    day = dt.date(2026, 10, 21)
    assert loc.format_date(day, "de_DE", "long") == "21. Oktober 2026"
    assert loc.format_date(day, "tr_TR", "long") == "21 Ekim 2026"
    assert loc.format_date(day, "en_US", "short") == "10/21/26"
    assert loc.format_date(day, "fa_IR", "long") == "۲۹ مهر ۱۴۰۵"  # Solar Hijri, Iran's calendar
    assert loc.month_name(day, "it_IT") == "ottobre"
    assert loc.month_name(3, "tr_TR", "abbreviated") == "Mar"


def test_babel_carries_cldr_48_or_later() -> None:
    from babel.core import get_cldr_version

    assert int(get_cldr_version()) >= 48, "the lock must pin a Babel on CLDR >= 48 (rupiah digits)"


@pytest.mark.parametrize(
    ("width", "expected"),
    [
        ("short", "۱۴۰۵/۷/۲۹"),
        ("medium", "۲۹ مهر ۱۴۰۵"),
        ("long", "۲۹ مهر ۱۴۰۵"),
        ("full", "چهارشنبه ۲۹ مهر ۱۴۰۵"),
    ],
)
def test_fa_ir_dates_are_solar_hijri(width: str, expected: str) -> None:
    assert loc.format_date(dt.date(2026, 10, 21), "fa_IR", width) == expected


def test_solar_hijri_year_boundaries() -> None:
    # Nowruz: 1 Farvardin 1405 is 21 March 2026; the day before is 29 Esfand 1404.
    assert loc.format_date(dt.date(2026, 3, 21), "fa_IR", "long") == "۱ فروردین ۱۴۰۵"
    assert loc.format_date(dt.date(2026, 3, 20), "fa_IR", "long") == "۲۹ اسفند ۱۴۰۴"
    assert loc.month_name(dt.date(2026, 10, 21), "fa_IR", calendars={}) == "مهر"
    assert loc.month_name(dt.date(2026, 10, 21), "fa_IR") == "اکتبر"  # chart axes: Gregorian data months


def test_a_template_chooses_the_calendar_per_locale() -> None:
    day = dt.date(2026, 10, 21)
    gregorian = {"fa_IR": loc.Calendar.GREGORIAN}
    assert loc.format_date(day, "fa_IR", "long", gregorian) == "۲۱ اکتبر ۲۰۲۶"
    assert loc.format_date(day, "fa_IR", "long", {"fa": loc.Calendar.GREGORIAN}) == "۲۱ اکتبر ۲۰۲۶"
    assert loc.format_date(day, "fa_AF", "long") == "۲۱ اکتوبر ۲۰۲۶"  # Dari spelling, Gregorian
    with pytest.raises(ValueError, match="date width"):
        loc.format_date(day, "fa_IR", "huge")


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
