"""The page's interactive player and calls to action, as markup the microsite's Jinja calls.

`page_functions` gives a recipient's page two functions:

- ``player()``: the video with its captions, chapters and scenes tracks, a control bar, the
  chapter list, the call-to-action overlay and its aria-live region, and a JSON block the
  player script (``assets/interactive/player.js``) reads. Without JavaScript it is a plain
  ``<video controls>`` playing the MP4 with captions (on play, without an MP4: the master
  playlist, which browsers with native HLS play).
- ``cta(id, class_)``: a call to action as a link in the page (its ``href``, or the form it
  opens), for people who do not play the video; the player script counts it when it is seen
  and clicked.

Everything here is pure: strings in, markup out. A link a call to action follows must be
http(s), mailto or tel: anything else (``javascript:``) fails the render naming the call to
action, never the link.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

from jinja2 import Template as JinjaTemplate
from markupsafe import Markup, escape

from renderer.errors import RenderError
from renderer.outputs.player_text import player_text
from renderer.template.models import CallToAction, Interactions

# from the page's folder (/r/{token}/{template}/{campaign}/{recipient}/) to the API's routes
EVENTS_URL = "../../../../../events"
POSITION_URL = "../../../position"
LINK_SCHEMES = ("http", "https", "mailto", "tel")


@dataclass(frozen=True)
class PageInteractions:
    """What the page's functions need for one recipient: the template's interactions, its
    rendered call-to-action links, the links to the recipient's other outputs, its text."""

    interactions: Interactions
    cta_hrefs: Mapping[str, str]
    links: Mapping[str, str | None]
    text: Callable[[str], str]
    text_or_none: Callable[[str], str | None]
    lang: str
    chat_context: Mapping[str, str] = field(default_factory=dict)


def render_cta_hrefs(
    interactions: Interactions, snippets: Mapping[str, JinjaTemplate | str], context: Mapping[str, Any]
) -> dict[str, str]:
    """Each link call to action's ``href`` rendered for the recipient (the ``_page`` snippets
    ``cta.<id>.href``); RenderError naming the call to action when it is not a safe link."""
    hrefs = {}
    for cta in interactions.ctas:
        if cta.href is None:
            continue
        snippet = snippets[f"cta.{cta.id}.href"]
        href = (snippet if isinstance(snippet, str) else snippet.render(context)).strip()
        if urlsplit(href).scheme.lower() not in LINK_SCHEMES:
            raise RenderError(f"call to action {cta.id!r}: its href is not an http(s), mailto or tel link")
        hrefs[cta.id] = href
    return hrefs


def chat_context(interactions: Interactions, context: Mapping[str, Any]) -> dict[str, str]:
    """The values the chat receives: the context names the template lists (checked at load to
    read no personal field), as text."""
    chat = interactions.chat
    names = chat.context if chat else []
    return {name: "" if context[name] is None else str(context[name]) for name in names}


def page_csp(interactions: Interactions) -> str:
    """The page's Content-Security-Policy: its own origin only, plus the chat widget's origin
    for scripts, connections, frames and images when the template loads one."""
    chat = interactions.chat
    origin = chat.origin() if chat is not None else None
    extra = f" {origin}" if origin else ""
    frames = origin or "'none'"
    return (
        f"default-src 'none'; style-src 'self'; script-src 'self'{extra}; img-src 'self' data:{extra}; "
        f"media-src 'self' blob:; connect-src 'self'{extra}; frame-src {frames}; "
        "base-uri 'none'; form-action 'self'"
    )


def page_functions(page: PageInteractions) -> dict[str, Callable[..., Markup]]:
    """``player``, ``cta`` and ``csp`` for the page's Jinja context."""
    return {
        "player": lambda: render_player(page),
        "cta": lambda cta_id, class_="": render_cta(page, cta_id, class_),
        "csp": lambda: Markup(escape(page_csp(page.interactions))),
    }


def _cta(page: PageInteractions, cta_id: str) -> CallToAction:
    for cta in page.interactions.ctas:
        if cta.id == cta_id:
            return cta
    raise RenderError(f"cta({cta_id!r}) is not declared in interactions.ctas")


def _chat_url(page: PageInteractions) -> str | None:
    chat = page.interactions.chat
    if chat is None or chat.url is None:
        return None
    query = urlencode(page.chat_context)
    if not query:
        return chat.url
    parts = urlsplit(chat.url)  # the context joins the query, before any #fragment
    return urlunsplit(parts._replace(query=f"{parts.query}&{query}" if parts.query else query))


def _target(page: PageInteractions, cta: CallToAction) -> str:
    if cta.chat:
        return _chat_url(page) or "#"
    return page.cta_hrefs[cta.id] if cta.href is not None else f"#form-{cta.form}"


def render_cta(page: PageInteractions, cta_id: str, class_: str = "") -> Markup:
    """One call to action in the page (``data-tailor-cta`` names it for the page's scripts): a
    link (its href, the form's section, the chat page), or for a chat widget a button the
    script reveals and wires (it does nothing without JavaScript, so it starts hidden)."""
    cta = _cta(page, cta_id)
    label, name = escape(page.text(cta.label)), escape(cta.id)
    if cta.chat and _chat_url(page) is None:
        widget = escape(json.dumps(_chat_config(page), ensure_ascii=False))
        return Markup(
            f'<button type="button" class="{escape(class_)}" data-tailor-cta="{name}" data-tailor-chat'
            f' data-chat="{widget}" hidden>{label}</button>'
        )
    opens_page = cta.href is not None or cta.chat
    external = ' rel="noopener noreferrer"' if opens_page else ""
    external += ' target="_blank"' if cta.chat else ""
    extra = f' data-tailor-form-target="{escape(cta.form)}"' if cta.form else ""
    extra += " data-tailor-chat" if cta.chat else ""
    return Markup(
        f'<a class="{escape(class_)}" href="{escape(_target(page, cta))}" data-tailor-cta="{name}"'
        f"{extra}{external}>{label}</a>"
    )


def _config(page: PageInteractions, words: Mapping[str, str]) -> str:
    ctas = [
        {
            "id": cta.id,
            "label": page.text(cta.label),
            "href": _target(page, cta),
            "form": cta.form,
            "chat": cta.chat,
            "external": cta.href is not None or cta.chat,
            "scenes": cta.scenes,
            "start": cta.start,
            "end": cta.end,
        }
        for cta in page.interactions.ctas
        if cta.scenes or cta.start is not None
    ]
    config = {
        "hls": page.links.get("hls_href"),
        "mp4": page.links.get("video_href"),
        "events": EVENTS_URL,
        "position": POSITION_URL,
        "captionsOn": page.interactions.captions,
        "lang": page.lang,
        "ctas": ctas,
        "text": dict(words),
        "chat": _chat_config(page),
    }
    # JSON inside <script type="application/json">: "<" escaped so "</script>" cannot end it
    return json.dumps(config, ensure_ascii=False).replace("<", "\\u003c")


def _chat_config(page: PageInteractions) -> dict[str, Any] | None:
    chat = page.interactions.chat
    if chat is None:
        return None
    return {"script": chat.script, "url": _chat_url(page), "context": dict(page.chat_context)}


_ICONS = {
    "play": "M8 5v14l11-7z",
    "pause": "M6 5h4v14H6zm8 0h4v14h-4z",
    "mute": "M4 9v6h4l5 5V4L8 9zm12.5 3a4.5 4.5 0 0 0-2.5-4v8a4.5 4.5 0 0 0 2.5-4z",
    "captions": (
        "M4 5h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H4a2 2 0 0 1-2-2V7a2 2 0 0 1 2-2z"
        "m2 5v4h4v-1.5H7.5v-1H10V10zm7 0v4h4v-1.5h-2.5v-1H21V10z"
    ),
    "fullscreen": "M5 5h5v2H7v3H5zm9 0h5v5h-2V7h-3zM5 14h2v3h3v2H5zm12 3v-3h2v5h-5v-2z",
}


def _icon(name: str) -> str:
    return (
        f'<svg class="tp-icon-{name}" viewBox="0 0 24 24" aria-hidden="true" focusable="false">'
        f'<path d="{_ICONS[name]}"/></svg>'
    )


def _button(name: str, label: str, pressed: bool | None = None) -> str:
    state = "" if pressed is None else f' aria-pressed="{"true" if pressed else "false"}"'
    icons = _icon(name) + (_icon("pause") if name == "play" else "")
    return (
        f'<button type="button" class="tp-button tp-{name}" data-tp="{name}"'
        f' aria-label="{escape(label)}"{state}>{icons}</button>'
    )


def _tracks(page: PageInteractions, words: Mapping[str, str]) -> str:
    links, lang = page.links, escape(page.lang)
    tracks = []
    if links.get("captions_href"):
        default = " default" if page.interactions.captions else ""
        tracks.append(
            f'<track kind="captions" src="{escape(links["captions_href"])}" srclang="{lang}"'
            f' label="{escape(words["captions"])}"{default}>'
        )
    if links.get("chapters_href"):
        tracks.append(
            f'<track kind="chapters" src="{escape(links["chapters_href"])}" srclang="{lang}"'
            f' label="{escape(words["chapters"])}">'
        )
    if links.get("scenes_href"):
        tracks.append(f'<track kind="metadata" src="{escape(links["scenes_href"])}" label="scenes">')
    return "".join(tracks)


def _source(links: Mapping[str, str | None]) -> str:
    """The video's ``<source>``: the MP4, or when the video is rendered on play (no MP4) the
    master playlist; empty when the page has neither."""
    if links.get("video_href"):
        return f'<source src="{escape(links["video_href"])}" type="video/mp4">'
    if links.get("hls_href"):
        return f'<source src="{escape(links["hls_href"])}" type="application/vnd.apple.mpegurl">'
    return ""


def render_player(page: PageInteractions) -> Markup:
    """The interactive player playing the MP4, or on play (no MP4) the master playlist with
    ``mp4: null`` in its config; empty markup when the recipient's page has no video."""
    links = page.links
    source = _source(links)
    if not source:
        return Markup("")
    words = player_text(page.lang.split("-")[0], page.text_or_none)
    poster = f' poster="{escape(links["poster_href"])}"' if links.get("poster_href") else ""
    controls = "".join(
        [
            _button("play", words["play"]),
            f'<input class="tp-seek" data-tp="seek" type="range" min="0" max="100" step="0.1" value="0"'
            f' aria-label="{escape(words["seek"])}">',
            '<span class="tp-time" data-tp="time" dir="ltr">0:00</span>',
            _button("mute", words["mute"], False),
            _button("captions", words["captions"], page.interactions.captions)
            if links.get("captions_href")
            else "",
            _button("fullscreen", words["fullscreen"]),
        ]
    )
    return Markup(
        '<div class="tp" data-tailor-player>'
        '<div class="tp-stage">'
        f'<video class="tp-video" controls preload="metadata" playsinline width="1280" height="720"{poster}>'
        f"{source}{_tracks(page, words)}</video>"
        '<div class="tp-caption-box" data-tp="captions-box" hidden></div>'
        '<div class="tp-overlay" data-tp="overlay"></div>'
        "</div>"
        f'<div class="tp-controls" data-tp="controls" hidden>{controls}</div>'
        '<p class="tp-status" data-tp="status" role="status" hidden></p>'
        '<p class="tp-live" data-tp="live" aria-live="polite"></p>'
        f'<nav class="tp-chapters" data-tp="chapters" aria-label="{escape(words["chapters"])}" hidden>'
        f"<h3>{escape(words['chapters'])}</h3><ol></ol></nav>"
        f'<script type="application/json" data-tp="config">{_config(page, words)}</script>'
        "</div>"
    )
