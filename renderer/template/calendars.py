"""Calendars other than the Gregorian one: which calendar a locale reads, and Solar Hijri dates.

Babel formats Gregorian dates only, and people in Iran read the Solar Hijri (Persian) calendar
on every bill. The conversion is jdatetime's (a maintained Jalali calendar package); month and
weekday names are CLDR's Persian ones (jdatetime carries the month names, Babel the weekdays);
the patterns are CLDR's ``fa`` Persian-calendar date formats without the era. Everything here is pure.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from enum import StrEnum

import jdatetime
from babel import Locale


class Calendar(StrEnum):
    """The calendars a template may choose for a locale."""

    GREGORIAN = "gregorian"
    PERSIAN = "persian"


# CLDR's calendarPreferenceData lists the Persian calendar first for Iran; Afghanistan reads it
# too, but with Dari month names that jdatetime does not carry, so fa-AF stays Gregorian.
_REGION_DEFAULTS = {"IR": Calendar.PERSIAN}

# CLDR fa.xml, calendar type="persian", dateFormats without the era (G).
_PERSIAN_PATTERNS = {
    "short": "{y}/{M}/{d}",
    "medium": "{d} {MMMM} {y}",
    "long": "{d} {MMMM} {y}",
    "full": "{EEEE} {d} {MMMM} {y}",
}


def calendar_for(locale: Locale, overrides: Mapping[str, Calendar]) -> Calendar:
    """The calendar `locale` reads: a template override by locale (``fa_IR``) or language (``fa``),
    else the region's CLDR preference (Solar Hijri in Iran), else Gregorian."""
    tag = f"{locale.language}_{locale.territory}" if locale.territory else locale.language
    for key in (tag, tag.replace("_", "-"), locale.language):
        if key in overrides:
            return Calendar(overrides[key])
    return _REGION_DEFAULTS.get(locale.territory or "", Calendar.GREGORIAN)


def persian_month_names() -> tuple[str, ...]:
    """The twelve Solar Hijri month names in Persian, Farvardin first."""
    return tuple(jdatetime.date.j_months_fa)


def persian_month(value: dt.date) -> int:
    """The Solar Hijri month number (1 = Farvardin) of a Gregorian date."""
    return int(jdatetime.date.fromgregorian(date=value).month)


def format_persian_date(value: dt.date, locale: Locale, width: str) -> str:
    """`value` (a Gregorian date) as a Solar Hijri date in `width` ('short'...'full'), ASCII digits.

    The caller applies the locale's native digits. Raises ValueError for an unknown width.
    """
    if width not in _PERSIAN_PATTERNS:
        raise ValueError(f"date width must be one of {', '.join(_PERSIAN_PATTERNS)}, got {width!r}")
    solar = jdatetime.date.fromgregorian(date=value)
    return _PERSIAN_PATTERNS[width].format(
        y=solar.year,
        M=solar.month,
        d=solar.day,
        MMMM=persian_month_names()[solar.month - 1],
        EEEE=locale.days["format"]["wide"][value.weekday()],
    )
