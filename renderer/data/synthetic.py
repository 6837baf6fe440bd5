"""Deterministic synthetic recipients for demos and benchmarks (`tailor sample-data`).

Values follow each field's type and its optional ``synth`` hint in ``template.yaml``; the same
seed always yields the same rows. Locales cycle through the template's sample locales, and
names, streets, cities and amounts fit each locale and its currency.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterable, Iterator
from decimal import Decimal
from typing import Any

from babel.numbers import get_currency_precision, get_territory_currencies

from renderer.template.locale import parse_locale
from renderer.template.models import Contract, FieldSpec, FieldType, SynthHint

NAMES: dict[str, tuple[list[str], list[str], list[str], list[str]]] = {
    # language: (first names, last names, streets, cities)
    "en": (
        ["Emily", "James", "Olivia", "Noah", "Ava", "Liam", "Sophia", "Mason", "Chloe", "Ethan"],
        ["Smith", "Johnson", "Brown", "Garcia", "Miller", "Davis", "Wilson", "Taylor", "Clark"],
        ["Maple Street", "Oak Avenue", "Pine Road", "Cedar Lane", "Elm Drive"],
        ["Springfield", "Portland", "Austin", "Denver", "Madison"],
    ),
    "de": (
        ["Anna", "Jürgen", "Lena", "Lukas", "Sophie", "Maximilian", "Marie", "Jörg", "Leonie"],
        ["Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Meyer", "Wagner", "Becker"],
        ["Hauptstraße", "Schillerstraße", "Goethestraße", "Bahnhofstraße", "Lindenweg"],
        ["Berlin", "München", "Köln", "Düsseldorf", "Leipzig"],
    ),
    "it": (
        ["Giulia", "Marco", "Francesca", "Luca", "Chiara", "Matteo", "Sara", "Niccolò"],
        ["Rossi", "Russo", "Ferrari", "Esposito", "Bianchi", "Romano", "Colombo", "Ricci"],
        ["Via Roma", "Via Garibaldi", "Corso Italia", "Via Mazzini", "Via Dante"],
        ["Torino", "Milano", "Bologna", "Firenze", "Napoli"],
    ),
    "tr": (
        ["İlkay", "Ayşe", "Mehmet", "Zeynep", "Çağlar", "Gülşen", "Oğuz", "Şule", "Ilgaz"],
        ["Yılmaz", "Kaya", "Demir", "Şahin", "Çelik", "Öztürk", "Aydın", "Kılıç"],
        ["İstiklal Caddesi", "Atatürk Bulvarı", "Cumhuriyet Caddesi", "Gül Sokak"],
        ["İstanbul", "Ankara", "İzmir", "Bursa", "Eskişehir"],
    ),
    "id": (
        ["Siti", "Budi", "Dewi", "Agus", "Putri", "Rizky", "Ayu", "Wahyu", "Indah"],
        ["Rahmawati", "Santoso", "Wijaya", "Saputra", "Hidayat", "Kusuma", "Pratama"],
        ["Jl. Merdeka", "Jl. Sudirman", "Jl. Diponegoro", "Jl. Gatot Subroto"],
        ["Bandung", "Jakarta", "Surabaya", "Yogyakarta", "Medan"],
    ),
    "fa": (
        ["مریم", "علی", "زهرا", "رضا", "فاطمه", "حسین", "سارا", "امیر", "نگار"],
        ["احمدی", "محمدی", "حسینی", "رضایی", "کریمی", "موسوی", "جعفری", "صادقی"],
        ["خیابان ولیعصر", "خیابان انقلاب", "خیابان آزادی", "بلوار کشاورز"],
        ["تهران", "اصفهان", "شیراز", "تبریز", "مشهد"],
    ),
}

_CURRENCY_DATE = dt.date(2026, 1, 1)

# How many units of a currency buy roughly what one euro does, so synthetic bills look plausible.
CURRENCY_SCALE = {"TRY": 35, "IDR": 17000, "IRR": 50000, "JPY": 160, "INR": 90}


class _RowMaker:
    def __init__(self, contract: Contract, rng: random.Random, index: int, locale: str) -> None:
        self.contract = contract
        self.rng = rng
        self.index = index
        self.locale = locale
        language = parse_locale(locale).language
        self.names = NAMES.get(language, NAMES["en"])
        territory = parse_locale(locale).territory or "US"
        # a fixed date keeps the output stable when a country changes its currency
        self.currency = (get_territory_currencies(territory, start_date=_CURRENCY_DATE) or ["EUR"])[0]

    def row(self) -> dict[str, Any]:
        return self.fields(self.contract.fields, {})

    def fields(self, specs: dict[str, FieldSpec], row: dict[str, Any]) -> dict[str, Any]:
        for name, spec in specs.items():
            value = self.value(spec, row)
            if value is not None:
                row[name] = value
        return row

    def value(self, spec: FieldSpec, row: dict[str, Any]) -> Any:
        hint = spec.synth
        if hint is None:
            return self.default(spec)
        maker = getattr(self, f"make_{hint.kind}", None)
        if maker is None:
            raise ValueError(f"unknown synth kind {hint.kind!r}")
        return maker(spec, hint, row)

    def default(self, spec: FieldSpec) -> Any:
        """A value of the field's type for fields without a hint (optional ones stay empty)."""
        if spec.type is FieldType.BOOL:
            return self.rng.random() < 0.5
        if spec.default is not None or not spec.required:
            return None
        by_type: dict[FieldType, Any] = {
            FieldType.ENUM: lambda: self.rng.choice(spec.choices or [""]),
            FieldType.INTEGER: lambda: self.index,
            FieldType.DECIMAL: lambda: self.money(
                spec.minimum or Decimal(0), spec.maximum or Decimal(100), False
            ),
            FieldType.MONEY: lambda: self.money(
                spec.minimum or Decimal(1), spec.maximum or Decimal(100), True
            ),
            FieldType.DATE: lambda: _CURRENCY_DATE + dt.timedelta(days=self.rng.randint(0, 364)),
            FieldType.EMAIL: lambda: f"customer{self.index}@example.com",
            FieldType.URL: lambda: f"https://example.com/{self.index}",
            FieldType.LOCALE: lambda: self.locale.replace("_", "-"),
            FieldType.CURRENCY: lambda: self.currency,
            FieldType.LIST: lambda: self._items(spec, spec.min_items or 1),
        }
        make = by_type.get(spec.type)
        return make() if make else f"value-{self.index}"

    def money(self, low: Decimal, high: Decimal, scale: bool) -> Decimal:
        factor = CURRENCY_SCALE.get(self.currency, 1) if scale else 1
        raw = self.rng.uniform(float(low), float(high)) * factor
        if factor > 1:  # whole amounts rounded to a plausible step: 331200 IDR, 8400000 IRR
            step = 10 ** max(len(str(factor)) - 2, 0)
            return Decimal(round(raw / step) * step)
        digits = get_currency_precision(self.currency) if scale else 2
        return Decimal(str(raw)).quantize(Decimal(1).scaleb(-digits))

    def make_sequence(self, spec: FieldSpec, hint: SynthHint, row: dict[str, Any]) -> str:
        return f"{hint.prefix}{self.index:07d}"

    def make_first_name(self, spec: FieldSpec, hint: SynthHint, row: dict[str, Any]) -> str:
        return self.rng.choice(self.names[0])

    def make_last_name(self, spec: FieldSpec, hint: SynthHint, row: dict[str, Any]) -> str:
        return self.rng.choice(self.names[1])

    def make_street(self, spec: FieldSpec, hint: SynthHint, row: dict[str, Any]) -> str:
        return f"{self.rng.choice(self.names[2])} {self.rng.randint(1, 180)}"

    def make_city(self, spec: FieldSpec, hint: SynthHint, row: dict[str, Any]) -> str:
        return self.rng.choice(self.names[3])

    def make_email(self, spec: FieldSpec, hint: SynthHint, row: dict[str, Any]) -> str:
        return f"customer{self.index}@example.com"

    def make_phone(self, spec: FieldSpec, hint: SynthHint, row: dict[str, Any]) -> str:
        return f"+1 555 {self.rng.randint(100, 999)} {self.rng.randint(1000, 9999)}"

    def make_digits(self, spec: FieldSpec, hint: SynthHint, row: dict[str, Any]) -> str:
        return f"{hint.prefix}{self.rng.randint(1000, 9999)}-{self.rng.randint(1000, 9999)}"

    def make_locale(self, spec: FieldSpec, hint: SynthHint, row: dict[str, Any]) -> str:
        return self.locale.replace("_", "-")

    def make_currency(self, spec: FieldSpec, hint: SynthHint, row: dict[str, Any]) -> str:
        return self.currency

    def make_url(self, spec: FieldSpec, hint: SynthHint, row: dict[str, Any]) -> str:
        return f"{hint.prefix}{self.index:07d}"

    def make_choice(self, spec: FieldSpec, hint: SynthHint, row: dict[str, Any]) -> str:
        assert spec.choices
        return self.rng.choices(spec.choices, weights=hint.weights)[0]

    def make_date(self, spec: FieldSpec, hint: SynthHint, row: dict[str, Any]) -> dt.date:
        start = dt.date.fromisoformat(hint.start or "2026-01-01")
        return start + dt.timedelta(days=self.rng.randint(0, hint.days or 0))

    def make_date_after(self, spec: FieldSpec, hint: SynthHint, row: dict[str, Any]) -> dt.date:
        base: dt.date = row[hint.field or ""]
        return base + dt.timedelta(days=hint.days or 0)

    def make_amount(self, spec: FieldSpec, hint: SynthHint, row: dict[str, Any]) -> Decimal:
        low, high = hint.min or Decimal(0), hint.max or Decimal(100)
        return self.money(low, high, scale=spec.type is FieldType.MONEY)

    def _items(self, spec: FieldSpec, count: int) -> list[dict[str, Any]]:
        assert spec.items is not None
        used: dict[str, set[str]] = {}
        items: list[dict[str, Any]] = []
        for _ in range(count):
            item: dict[str, Any] = {}
            for name, sub in spec.items.items():
                if sub.synth is not None and sub.synth.kind == "distinct":
                    taken = used.setdefault(name, set())
                    choices = sub.choices or []
                    weights = sub.synth.weights or [1.0] * len(choices)
                    free = [c for c, w in zip(choices, weights, strict=True) if w > 0 and c not in taken]
                    if not free:
                        return items
                    item[name] = self.rng.choice(free)
                    taken.add(item[name])
                else:
                    value = self.value(sub, item)
                    if value is not None:
                        item[name] = value
            items.append(item)
        return items

    def make_rows(self, spec: FieldSpec, hint: SynthHint, row: dict[str, Any]) -> list[dict[str, Any]]:
        low, high = hint.count or (spec.min_items or 1, spec.max_items or 5)
        return self._items(spec, self.rng.randint(low, high))

    def make_months(self, spec: FieldSpec, hint: SynthHint, row: dict[str, Any]) -> list[dict[str, Any]]:
        assert spec.items is not None
        count = (hint.count or (12, 12))[0]
        end: dt.date = row[hint.field or ""]
        date_field = next(n for n, s in spec.items.items() if s.type is FieldType.DATE)
        items = self._items(
            spec.model_copy(update={"items": {k: v for k, v in spec.items.items() if k != date_field}}),
            count,
        )
        year, month = end.year, end.month
        for item in reversed(items):
            item[date_field] = dt.date(year, month, 1)
            year, month = (year - 1, 12) if month == 1 else (year, month - 1)
        return [{date_field: item.pop(date_field), **item} for item in items]


def synthetic_rows(
    contract: Contract, locales: list[str], rows: int, seed: int = 1
) -> Iterator[dict[str, Any]]:
    """Yield `rows` deterministic recipients, cycling through `locales` (e.g. the sample locales)."""
    rng = random.Random(seed)
    codes = [code.replace("-", "_") for code in locales] or [contract.default_locale]
    for index in range(1, rows + 1):
        yield _RowMaker(contract, rng, index, codes[(index - 1) % len(codes)]).row()


def sample_locales(sample_names: Iterable[str], default_locale: str) -> list[str]:
    """The locales synthetic recipients are drawn from: the sample names that are locale tags
    (``de-DE``), sorted, or the contract's default locale when none is."""
    locales = []
    for name in sorted(sample_names):
        try:
            parse_locale(name)
        except ValueError:
            continue
        locales.append(name)
    return locales or [default_locale]
