"""Locale-aware formatting backed by Babel: money, numbers, percents, dates, month names, direction.

Every function here is pure and takes the recipient's locale explicitly; `jinja.py` wraps them
as filters that read the locale from the render context.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from functools import lru_cache

from babel import Locale, UnknownLocaleError
from babel import dates as babel_dates
from babel import numbers as babel_numbers

RTL_LANGUAGES = frozenset({"ar", "fa", "he", "ur", "ps", "sd", "ug", "yi", "dv", "ckb"})

# Babel picks the locale's separators but always prints ASCII digits; these are the CLDR digits
# of the native numbering systems we render, so Persian shows ۱۲۳ rather than a mix of both.
_NATIVE_DIGITS = {
    "arab": "٠١٢٣٤٥٦٧٨٩",
    "arabext": "۰۱۲۳۴۵۶۷۸۹",
    "deva": "०१२३४५६७८९",
    "beng": "০১২৩৪৫৬৭৮৯",
}

Number = int | float | Decimal


@lru_cache(maxsize=256)
def parse_locale(code: str) -> Locale:
    """Parse ``de-DE`` or ``de_DE`` into a Babel Locale; raises ValueError naming the code."""
    try:
        return Locale.parse(code.replace("-", "_"))
    except (UnknownLocaleError, ValueError, TypeError) as exc:
        raise ValueError(f"unknown locale {code!r}") from exc


@lru_cache(maxsize=256)
def _digit_table(code: str) -> dict[int, int] | None:
    digits = _NATIVE_DIGITS.get(parse_locale(code).default_numbering_system)
    return str.maketrans("0123456789", digits) if digits else None


def native_digits(text: str, locale: str) -> str:
    """Replace ASCII digits by the locale's native digits (Persian ۱۲۳); unchanged for Latin."""
    table = _digit_table(locale)
    return text.translate(table) if table else text


def format_money(amount: Number, currency: str, locale: str) -> str:
    """Amount with currency symbol, separators and native digits of `locale` (1.234,50 €)."""
    text = babel_numbers.format_currency(
        amount, currency, locale=parse_locale(locale), numbering_system="default"
    )
    return native_digits(text, locale)


@lru_cache(maxsize=1024)
def _pattern(code: str, kind: str, digits: int | None) -> babel_numbers.NumberPattern:
    """The locale's own decimal/percent pattern, with the fraction digits fixed when asked."""
    formats = getattr(parse_locale(code), f"{kind}_formats")
    pattern = babel_numbers.parse_pattern(formats[None].pattern)
    if digits is not None:
        pattern.frac_prec = (digits, digits)
    return pattern


def format_number(value: Number, locale: str, digits: int | None = None) -> str:
    """A grouped decimal number in `locale`; `digits` fixes the fraction digits when given."""
    text = babel_numbers.format_decimal(
        value,
        format=_pattern(locale, "decimal", digits),
        locale=parse_locale(locale),
        numbering_system="default",
    )
    return native_digits(text, locale)


def format_percent(value: Number, locale: str, digits: int = 0) -> str:
    """A ratio (0.125) as a percent in `locale` (12,5 % in de), with `digits` fraction digits."""
    text = babel_numbers.format_percent(
        value,
        format=_pattern(locale, "percent", digits),
        locale=parse_locale(locale),
        numbering_system="default",
    )
    return native_digits(text, locale)


def format_date(value: dt.date, locale: str, width: str = "medium") -> str:
    """A date as 'short', 'medium', 'long' or 'full' in `locale`, with native digits."""
    text = babel_dates.format_date(value, format=width, locale=parse_locale(locale))
    return native_digits(text, locale)


def month_name(value: dt.date | int, locale: str, width: str = "wide") -> str:
    """The stand-alone month name ('wide' or 'abbreviated') of a date or a month number."""
    month = value if isinstance(value, int) else value.month
    names = parse_locale(locale).months["stand-alone"][width]
    return str(names[month])


def text_direction(locale: str) -> str:
    """'rtl' for right-to-left languages (fa, ar, he, ur, ...), otherwise 'ltr'."""
    return "rtl" if parse_locale(locale).language in RTL_LANGUAGES else "ltr"


def html_lang(locale: str) -> str:
    """The BCP 47 tag for an HTML lang attribute: ``de_DE`` -> ``de-DE``."""
    return locale.replace("_", "-")
