"""Pure: a loaded template plus one validated recipient -> the `ResolvedSpec` every output renders.

Resolution picks the locale and currency, evaluates computed values in declaration order inside
the sandbox, and binds the template's text snippets (``t('greeting')``) to the recipient's
language. It performs no I/O; errors name the expression, never the recipient's values.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from jinja2 import Template as JinjaTemplate
from jinja2 import TemplateError as JinjaError

from renderer.errors import RenderError
from renderer.template.computed import add_computed_values, expression_fault
from renderer.template.load import TemplateSource as Template
from renderer.template.locale import html_lang, parse_locale, text_direction


@dataclass(frozen=True)
class ResolvedSpec:
    """Everything an output renderer needs for one recipient; immutable."""

    template: str
    recipient_id: str
    locale: str
    direction: str
    context: Mapping[str, Any]


class TextTable:
    """``t('key')`` in templates: the snippet for the recipient's language, rendered with its data.

    Lookup order: the exact locale (``de_DE``), its language (``de``), then ``en``.
    """

    def __init__(self, texts: Mapping[str, Mapping[str, JinjaTemplate | str]], locale: str) -> None:
        language = parse_locale(locale).language
        chain = [locale, locale.replace("_", "-"), language, "en"]
        self._tables = [texts[code] for code in dict.fromkeys(chain) if code in texts]
        self._context: Mapping[str, Any] = {}

    def bind(self, context: Mapping[str, Any]) -> None:
        """Attach the recipient context the snippets render with (done once by `resolve`)."""
        self._context = context

    def __call__(self, key: str) -> str:
        text = self.get(key)
        if text is None:
            raise RenderError(f"text {key!r} is not defined for this locale or in 'en'")
        return text

    def get(self, key: str) -> str | None:
        """The text `key` rendered for the recipient, or None when no table in the chain has it."""
        for table in self._tables:
            if key in table:
                snippet = table[key]
                return snippet if isinstance(snippet, str) else snippet.render(self._context)
        return None


Decide = Callable[[Mapping[str, Any], str], Mapping[str, Any]]


def undecided(template: Template) -> Mapping[str, Any]:
    """``slots`` and ``variants`` when nothing is decided (what the global control group sees):
    every declared slot empty, every experiment its default variant."""
    section = template.manifest.decisions
    return {
        "slots": {name: () for name in section.slots},
        "variants": {exp: spec.default for exp, spec in section.experiments.items()},
    }


def resolve(template: Template, recipient: Mapping[str, Any], decide: Decide | None = None) -> ResolvedSpec:
    """Resolve `template` for one validated recipient. Pure; raises TemplateError (manifest file and
    line) on a failing expression. `decide` gets the context with every computed value and the
    recipient id and returns the names it adds (``slots``, ``variants``: renderer.decisions);
    without it every slot is empty and every experiment shows its default (`undecided`)."""
    contract = template.manifest.contract
    locale = str(recipient.get(contract.locale_field or "", None) or contract.default_locale)
    currency = recipient.get(contract.currency_field or "", None)
    recipient_id = str(recipient[contract.recipient_id])
    texts = TextTable(template.texts, locale)
    context: dict[str, Any] = {
        **recipient,
        "recipient_id": recipient_id,
        "locale": locale,
        "currency": currency,
        "lang": html_lang(locale),
        "dir": text_direction(locale),
        "calendars": template.manifest.calendars,
        "t": texts,
    }
    add_computed_values(template, context)
    context.update(undecided(template) if decide is None else decide(MappingProxyType(context), recipient_id))
    frozen = MappingProxyType(context)
    texts.bind(frozen)
    return ResolvedSpec(
        template=template.name,
        recipient_id=recipient_id,
        locale=locale,
        direction=context["dir"],
        context=frozen,
    )


def evaluate_condition(template: Template, key: str, spec: ResolvedSpec) -> bool:
    """Evaluate a compiled `when` expression (``scene.<id>.when``) for a resolved recipient;
    TemplateError (manifest file and line) when it fails."""
    try:
        return bool(template.expressions[key](**spec.context))
    except (JinjaError, ArithmeticError, TypeError, ValueError) as exc:
        raise expression_fault(template, key, exc) from None
