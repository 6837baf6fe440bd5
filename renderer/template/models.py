"""Pydantic models of ``template.yaml``: the data contract and everything but the outputs.

These models check *shape* (types, unknown keys, ranges). Cross-checks that need files or Jinja
(entries exist, expressions compile) live in `load.py`, which owns all file I/O of this stage.
`Manifest` is generic over its ``outputs`` section: each output kind owns the model of its own
section (`renderer.outputs.registry.Outputs` puts them together), so this stage knows no output.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from decimal import Decimal
from enum import StrEnum
from typing import Any, Generic, Literal, TypeVar
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from renderer.template.calendars import Calendar
from renderer.template.decisions import DecisionsSection

SLUG = r"^[a-z0-9][a-z0-9-]{0,62}$"
IDENT = r"^[A-Za-z_][A-Za-z0-9_]{0,62}$"
HEX_COLOUR = r"^#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6}|[0-9a-fA-F]{8})$"
DEFAULT_MAX_LENGTH = 10_000  # characters of a string field without max_length
RESERVED_TEMPLATE_NAMES = frozenset({"stream"})  # /r/{token}/stream/... serves a recipient's stream
MAX_STRING_LENGTH = 1_000_000  # the most a max_length may allow (Pillow lays out no longer text)


def check_identifiers(names: Iterable[str], what: str) -> None:
    """ValueError naming the first of `names` that is not a Python-style identifier (a `what`)."""
    for name in names:
        if not re.match(IDENT, name):
            raise ValueError(f"{what} {name!r} must be a Python-style identifier")


class Strict(BaseModel):
    """Base for manifest models: unknown keys are errors, instances are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class FieldType(StrEnum):
    """The types a data-contract field can have."""

    STRING = "string"
    INTEGER = "integer"
    DECIMAL = "decimal"
    MONEY = "money"
    DATE = "date"
    BOOL = "bool"
    EMAIL = "email"
    URL = "url"
    LOCALE = "locale"
    CURRENCY = "currency"
    ENUM = "enum"
    LIST = "list"


TEXT_TYPES = {FieldType.STRING, FieldType.EMAIL, FieldType.URL}
NUMBER_TYPES = {FieldType.INTEGER, FieldType.DECIMAL, FieldType.MONEY}


class SynthHint(Strict):
    """How `tailor sample-data` invents a plausible value for a field (never used for rendering)."""

    kind: str = Field(pattern=IDENT)
    min: Decimal | None = None
    max: Decimal | None = None
    count: tuple[int, int] | None = None
    start: str | None = None
    days: int | None = None
    field: str | None = None
    prefix: str = ""
    weights: list[float] | None = None


class FieldSpec(Strict):
    """One field of a data contract."""

    type: FieldType
    required: bool = False
    default: Any = None
    personal: bool = False
    description: str = ""
    max_length: int | None = Field(default=None, ge=1, le=MAX_STRING_LENGTH)
    min_length: int | None = Field(default=None, ge=0)
    pattern: str | None = None
    minimum: Decimal | None = None
    maximum: Decimal | None = None
    choices: list[str] | None = None
    items: dict[str, FieldSpec] | None = None
    min_items: int | None = Field(default=None, ge=0)
    max_items: int | None = Field(default=None, ge=1)
    synth: SynthHint | None = None

    @field_validator("synth", mode="before")
    @classmethod
    def _synth_shorthand(cls, value: Any) -> Any:
        return {"kind": value} if isinstance(value, str) else value

    @field_validator("pattern")
    @classmethod
    def _pattern_compiles(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                re.compile(value)
            except re.error as exc:
                raise ValueError(f"pattern is not a valid regular expression: {exc}") from exc
        return value

    @model_validator(mode="after")
    def _options_fit_type(self) -> FieldSpec:
        kind = self.type
        if (self.choices is not None) != (kind is FieldType.ENUM):
            raise ValueError("'choices' is required for type enum and allowed only there")
        if self.choices is not None and not self.choices:
            raise ValueError("'choices' must not be empty")
        if (self.items is not None) != (kind is FieldType.LIST):
            raise ValueError("'items' is required for type list and allowed only there")
        if (self.min_items is not None or self.max_items is not None) and kind is not FieldType.LIST:
            raise ValueError("'min_items'/'max_items' apply only to type list")
        text_opts = (self.max_length, self.min_length, self.pattern)
        if any(opt is not None for opt in text_opts) and kind not in TEXT_TYPES:
            raise ValueError("'max_length'/'min_length'/'pattern' apply only to string, email, url")
        if (self.minimum is not None or self.maximum is not None) and kind not in NUMBER_TYPES:
            raise ValueError("'minimum'/'maximum' apply only to integer, decimal, money")
        if self.required and self.default is not None:
            raise ValueError("a required field cannot have a default")
        return self


class Contract(Strict):
    """A template's data contract: its fields, the recipient id field and the locale field."""

    recipient_id: str = Field(pattern=IDENT)
    locale_field: str | None = Field(default=None, pattern=IDENT)
    currency_field: str | None = Field(default=None, pattern=IDENT)
    default_locale: str = "en_US"
    fields: dict[str, FieldSpec]

    @property
    def ids_are_personal(self) -> bool:
        """Whether the recipient id is personal data (then reports and logs never show it)."""
        return self.fields[self.recipient_id].personal

    @field_validator("fields")
    @classmethod
    def _field_names(cls, fields: dict[str, FieldSpec]) -> dict[str, FieldSpec]:
        check_identifiers(fields, "field name")
        return fields

    @model_validator(mode="after")
    def _special_fields_exist(self) -> Contract:
        for role in ("recipient_id", "locale_field", "currency_field"):
            name = getattr(self, role)
            if name is not None and name not in self.fields:
                raise ValueError(f"{role} names field {name!r}, which is not in 'fields'")
        rid = self.fields[self.recipient_id]
        if not rid.required or rid.type not in (FieldType.STRING, FieldType.INTEGER):
            raise ValueError("the recipient_id field must be a required string or integer")
        return self


# ---- interactions: chapters, calls to action, forms (cross-checked in interactions.py) ----------


class Chapter(Strict):
    """A named scene of the video, listed in the player and its WebVTT chapters track."""

    scene: str = Field(pattern=SLUG)
    title: str = Field(pattern=IDENT, description="Text key of the chapter's title")


class CallToAction(Strict):
    """A button in the page, and over the player while it shows (during its scenes, or from
    `start` to `end` seconds; neither: the page only): it follows a link (`href`, Jinja), opens
    a form (`form`) or opens the business's chat (`chat: true`, see `Chat`)."""

    id: str = Field(pattern=SLUG)
    label: str = Field(pattern=IDENT, description="Text key of the button's label")
    href: str | None = None
    form: str | None = Field(default=None, pattern=SLUG)
    chat: bool = False
    scenes: list[str] = Field(default_factory=list)
    start: float | None = Field(default=None, ge=0)
    end: float | None = Field(default=None, gt=0)

    @field_validator("scenes")
    @classmethod
    def _scene_ids(cls, scenes: list[str]) -> list[str]:
        for scene in scenes:
            if not re.fullmatch(SLUG, scene):
                raise ValueError(f"scene id {scene!r} is not a valid scene id")
        return scenes

    @model_validator(mode="after")
    def _one_action_one_time(self) -> CallToAction:
        if [self.href is not None, self.form is not None, self.chat].count(True) != 1:
            raise ValueError("a call to action has exactly one action: 'href', 'form' or 'chat: true'")
        timed = self.start is not None or self.end is not None
        if self.scenes and timed:
            raise ValueError("a call to action shows during 'scenes' or from 'start' to 'end', not both")
        if timed and (self.start is None or self.end is None or self.start >= self.end):
            raise ValueError("'start' and 'end' are both needed, and 'start' comes before 'end'")
        return self


class Chat(Strict):
    """The business's own chat, opened by ``chat: true`` calls to action: a page to open (`url`)
    or a widget script to load on the first click (`script`, https on a plain host name; the
    page's CSP then allows its origin and nothing wider). It receives only the `context` names
    listed (contract fields or computed values that read no personal field), never personal
    values."""

    url: str | None = Field(default=None, pattern=r"^https?://[^\s/]+(/\S*)?$")
    script: str | None = None
    context: list[str] = Field(default_factory=list)

    @field_validator("script")
    @classmethod
    def _script_on_a_host(cls, script: str | None) -> str | None:
        if script is not None:
            script_origin(script)
        return script

    @model_validator(mode="after")
    def _url_or_script(self) -> Chat:
        if (self.url is None) == (self.script is None):
            raise ValueError("a chat is opened either at a 'url' or by a widget 'script', one of the two")
        return self

    def origin(self) -> str | None:
        """The widget script's origin (``https://host[:port]``, lower case, no default port: a
        CSP source of that one host), None for a chat page."""
        return None if self.script is None else script_origin(self.script)


_HOST_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_NETLOC = re.compile(rf"^{_HOST_LABEL}(?:\.{_HOST_LABEL})*(?::[0-9]{{1,5}})?$")


def script_origin(script: str) -> str:
    """``https://host[:port]`` of a chat widget's script URL; ValueError unless it is https on a
    host name (letters, digits, dots, hyphens; an optional port; no user name, wildcard, quote or
    space) with a path to the script."""
    refused = ValueError(
        "the chat widget 'script' must be an https URL on a host name (letters, digits, dots and"
        " hyphens, an optional port) with a path, such as https://chat.example.com/widget.js"
    )
    parts = urlsplit(script)
    try:
        port = parts.port  # ValueError past 65535
        if parts.scheme != "https" or not _NETLOC.match(parts.netloc) or len(parts.path) < 2:
            raise ValueError
        if re.search(r"\s", script):  # urlsplit drops tabs and newlines: look at the text itself
            raise ValueError
    except ValueError:
        raise refused from None
    host = (parts.hostname or "").lower()
    return f"https://{host}" if port in (None, 443) else f"https://{host}:{port}"


class FormField(Strict):
    """One field of a form, typed like a contract field; `label` is a text key. A ``consent``
    field records which version of the consent text (`version`) the recipient agreed to."""

    type: Literal["string", "email", "enum", "bool", "date", "consent"]
    label: str = Field(pattern=IDENT)
    required: bool = False
    max_length: int = Field(default=500, ge=1, le=10_000)
    choices: list[str] | None = None
    version: str | None = Field(default=None, min_length=1, max_length=40)

    @model_validator(mode="after")
    def _options_fit_type(self) -> FormField:
        if (self.choices is not None) != (self.type == "enum"):
            raise ValueError("'choices' is required for type enum and allowed only there")
        if self.choices is not None and not self.choices:
            raise ValueError("'choices' must not be empty")
        if (self.version is not None) != (self.type == "consent"):
            raise ValueError(
                "'version' (of the consent text) is required for type consent and allowed only there"
            )
        return self


class Form(Strict):
    """A form the page shows (and a call to action may open); what it says after a submit."""

    id: str = Field(pattern=SLUG)
    title: str = Field(pattern=IDENT)
    thanks: str = Field(pattern=IDENT, description="Text key shown after a successful submit")
    fields: dict[str, FormField] = Field(min_length=1)

    @field_validator("fields")
    @classmethod
    def _field_names(cls, fields: dict[str, FormField]) -> dict[str, FormField]:
        check_identifiers(fields, "field name")
        return fields


def _unique(items: Iterable[Any], what: str, key: str = "id") -> None:
    seen = [getattr(item, key) for item in items]
    repeated = sorted({value for value in seen if seen.count(value) > 1})
    if repeated:
        raise ValueError(f"{what} must be unique; repeated: {', '.join(repeated)}")


class Interactions(Strict):
    """Chapters, calls to action and forms of the recipient's page and player; `captions`:
    whether the player shows captions (in the recipient's language) from the start."""

    captions: bool = False
    chat: Chat | None = None
    chapters: list[Chapter] = Field(default_factory=list)
    ctas: list[CallToAction] = Field(default_factory=list)
    forms: list[Form] = Field(default_factory=list)

    @field_validator("chapters")
    @classmethod
    def _unique_chapters(cls, chapters: list[Chapter]) -> list[Chapter]:
        _unique(chapters, "chapter scenes", "scene")
        return chapters

    @field_validator("ctas")
    @classmethod
    def _unique_ctas(cls, ctas: list[CallToAction]) -> list[CallToAction]:
        _unique(ctas, "call-to-action ids")
        return ctas

    @field_validator("forms")
    @classmethod
    def _unique_forms(cls, forms: list[Form]) -> list[Form]:
        _unique(forms, "form ids")
        return forms

    def text_keys(self) -> Iterable[tuple[tuple[Any, ...], str]]:
        """(manifest location, text key) of every text the section names."""
        for i, chapter in enumerate(self.chapters):
            yield ("interactions", "chapters", i, "title"), chapter.title
        for i, cta in enumerate(self.ctas):
            yield ("interactions", "ctas", i, "label"), cta.label
        for i, form in enumerate(self.forms):
            yield ("interactions", "forms", i, "title"), form.title
            yield ("interactions", "forms", i, "thanks"), form.thanks
            for name, field in form.fields.items():
                yield ("interactions", "forms", i, "fields", name, "label"), field.label


OutputsT = TypeVar("OutputsT", bound=BaseModel)


class Manifest(Strict, Generic[OutputsT]):
    """The whole ``template.yaml``; `OutputsT` is the model of its ``outputs`` section."""

    name: str = Field(pattern=SLUG)
    title: str
    version: str
    description: str = ""
    contract: Contract
    computed: dict[str, str] = {}
    text: dict[str, dict[str, str]] = {}
    # The calendar dates are written in, per locale (`fa_IR`) or language (`fa`); unlisted locales
    # read their region's calendar (Solar Hijri in Iran, Gregorian elsewhere).
    calendars: dict[str, Calendar] = {}
    outputs: OutputsT
    interactions: Interactions = Interactions()
    decisions: DecisionsSection = DecisionsSection()  # triggers, slots, experiments, control group
    # days a finished campaign or render job keeps its outputs and records (None: kept until erased)
    retention_days: int | None = Field(default=None, ge=1, le=36_500)

    @field_validator("computed")
    @classmethod
    def _computed_names(cls, computed: dict[str, str]) -> dict[str, str]:
        check_identifiers(computed, "computed name")
        return computed

    @field_validator("calendars")
    @classmethod
    def _calendar_locales(cls, calendars: dict[str, Calendar]) -> dict[str, Calendar]:
        for code in calendars:
            if not re.fullmatch(r"[a-z]{2,3}([_-][A-Z]{2})?", code):
                raise ValueError(f"calendars key {code!r} must be a language (fa) or locale (fa_IR)")
        return calendars

    @model_validator(mode="after")
    def _names_do_not_clash(self) -> Manifest[OutputsT]:
        if self.name in RESERVED_TEMPLATE_NAMES:
            raise ValueError(f"the template name {self.name!r} is reserved (a recipient page route uses it)")
        clash = sorted(set(self.computed) & set(self.contract.fields))
        if clash:
            raise ValueError(f"computed values shadow contract fields: {', '.join(clash)}")
        decided = sorted((set(self.computed) | set(self.contract.fields)) & {"slots", "variants"})
        if decided:
            raise ValueError(f"{', '.join(decided)}: names the decisions give templates (not a field)")
        return self
