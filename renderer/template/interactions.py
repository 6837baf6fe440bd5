"""Cross-checks of the ``interactions:`` section of ``template.yaml`` (chapters, calls to action,
forms; `models.py` checks their shape): chapter and call-to-action scenes exist, every text key
has a snippet in the fallback language, a call to action's form is declared. Everything a
recipient sees is a text key (``t('key')``), so every language of the template gets it."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from renderer.template.models import Interactions, Manifest
from renderer.template.refs import Refs, fields_reader, personal_fields

FALLBACK_LANGUAGE = "en"  # `t()` falls back to it, so every key must exist there


def interaction_problems(
    manifest: Manifest[Any], scene_ids: list[str]
) -> Iterable[tuple[tuple[Any, ...], str]]:
    """(manifest location, message) of every cross-reference the section gets wrong: scenes the
    video does not have (or no video at all), text keys missing from the fallback language, a
    form no form declares. Pure: the loader turns the first one into a TemplateError."""
    section: Interactions = manifest.interactions
    texts = manifest.text.get(FALLBACK_LANGUAGE, {})
    for loc, key in section.text_keys():
        if key not in texts:
            yield loc, f"text key {key!r} is not defined in text.{FALLBACK_LANGUAGE}"
    for i, chapter in enumerate(section.chapters):
        if chapter.scene not in scene_ids:
            yield (
                ("interactions", "chapters", i, "scene"),
                f"chapter scene {chapter.scene!r} is not a video scene",
            )
    forms = {form.id for form in section.forms}
    for i, cta in enumerate(section.ctas):
        for scene in cta.scenes:
            if scene not in scene_ids:
                yield (
                    ("interactions", "ctas", i, "scenes"),
                    f"call to action {cta.id!r}: {scene!r} is not a video scene",
                )
        if cta.form is not None and cta.form not in forms:
            yield (
                ("interactions", "ctas", i, "form"),
                f"call to action {cta.id!r} opens form {cta.form!r}, which is not declared",
            )
        if cta.chat and section.chat is None:
            yield (
                ("interactions", "ctas", i, "chat"),
                f"call to action {cta.id!r} opens the chat, but interactions.chat is not declared",
            )
    yield from _chat_context_problems(manifest)


def _chat_context_problems(manifest: Manifest[Any]) -> Iterable[tuple[tuple[Any, ...], str]]:
    """Chat context names that are not contract fields or computed values, or that carry a
    personal field (directly or through the computed values they read)."""
    chat = manifest.interactions.chat
    if chat is None:
        return
    contract = manifest.contract
    personal = personal_fields(contract)
    reads = fields_reader(manifest)
    for name in chat.context:
        loc = ("interactions", "chat", "context")
        if name not in contract.fields and name not in manifest.computed:
            yield loc, f"chat context {name!r} is not a contract field or computed value"
        elif reads(Refs(frozenset({name}))) & personal:
            yield loc, f"chat context {name!r} reads a personal field: the chat gets no personal values"
