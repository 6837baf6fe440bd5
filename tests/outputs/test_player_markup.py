"""The player and call-to-action markup: pure functions checked on their output."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from renderer.errors import RenderError
from renderer.outputs.player import (
    PageInteractions,
    page_csp,
    render_cta,
    render_cta_hrefs,
    render_player,
)
from renderer.outputs.player_text import player_text
from renderer.template.models import Interactions

LINKS = {
    "video_href": "video.mp4",
    "hls_href": "video.m3u8",
    "poster_href": "poster.jpg",
    "captions_href": "captions.vtt",
    "chapters_href": "chapters.vtt",
    "scenes_href": "scenes.vtt",
}
TEXT = {"pay": "Pay </script><b>now</b>", "chat": "Chat", "prefs": "Preferences"}


def _interactions(**extra: Any) -> Interactions:
    return Interactions.model_validate(
        {
            "captions": True,
            "ctas": [
                {"id": "pay-now", "label": "pay", "href": "{{ pay_url }}", "scenes": ["amount"]},
                {"id": "talk", "label": "chat", "chat": True, "start": 1, "end": 4},
                {"id": "prefs", "label": "prefs", "form": "preferences"},
            ],
            **extra,
        }
    )


def _page(interactions: Interactions, links: dict[str, str | None] = LINKS, **extra: Any) -> PageInteractions:
    return PageInteractions(
        interactions,
        {"pay-now": "https://pay.example.com/b/1"},
        links,
        TEXT.__getitem__,
        TEXT.get,
        "en",
        **extra,
    )


def test_the_player_links_its_tracks_and_carries_a_safe_config() -> None:
    html = str(render_player(_page(_interactions(chat={"url": "https://chat.example.com/x"}))))
    assert '<track kind="captions" src="captions.vtt" srclang="en" label="Captions" default>' in html
    assert '<track kind="chapters" src="chapters.vtt"' in html
    assert '<track kind="metadata" src="scenes.vtt"' in html
    assert '<source src="video.mp4" type="video/mp4">' in html  # played without JavaScript
    assert 'aria-live="polite"' in html
    block = re.search(r'<script type="application/json" data-tp="config">(.*?)</script>', html, re.S)
    assert block is not None
    # a label cannot end the JSON block: its </script> is escaped, and the one </script> closes it
    assert "Pay \\u003c/script>\\u003cb>now\\u003c/b>" in html
    assert html.count("</script>") == 1 and block.end() == html.index("</script>") + len("</script>")
    config = json.loads(block.group(1))
    assert config["hls"] == "video.m3u8" and config["captionsOn"] is True
    assert [(c["id"], c["scenes"], c["start"]) for c in config["ctas"]] == [
        ("pay-now", ["amount"], None),
        ("talk", [], 1.0),
    ]  # the page-only form call to action is not over the player
    assert config["ctas"][0]["label"] == TEXT["pay"]


def test_no_video_no_player_and_captions_off_by_default() -> None:
    assert str(render_player(_page(_interactions(), {**LINKS, "video_href": None, "hls_href": None}))) == ""
    html = str(render_player(_page(Interactions())))
    assert "default>" not in html and 'aria-pressed="false"' in html


def test_ctas_in_the_page_escape_labels_and_link_forms_and_chat() -> None:
    interactions = _interactions(chat={"url": "https://chat.example.com/x?src=bill"})
    page = _page(interactions, chat_context={"plan": "basic", "locale": "en_US"})
    pay = str(render_cta(page, "pay-now", "button primary"))
    assert pay.startswith(
        '<a class="button primary" href="https://pay.example.com/b/1" data-tailor-cta="pay-now"'
    )
    assert "&lt;/script&gt;&lt;b&gt;now&lt;/b&gt;" in pay and 'rel="noopener noreferrer"' in pay
    assert 'href="#form-preferences"' in str(render_cta(page, "prefs"))
    chat = str(render_cta(page, "talk"))
    assert 'href="https://chat.example.com/x?src=bill&amp;plan=basic&amp;locale=en_US"' in chat
    assert 'target="_blank"' in chat and "data-tailor-chat" in chat
    for url, linked in [
        ("https://chat.example.com/x#start", "https://chat.example.com/x?plan=basic&amp;locale=en_US#start"),
        (
            "https://chat.example.com/x?a=1#s",
            "https://chat.example.com/x?a=1&amp;plan=basic&amp;locale=en_US#s",
        ),
    ]:
        fragment = _page(_interactions(chat={"url": url}), chat_context={"plan": "basic", "locale": "en_US"})
        assert f'href="{linked}"' in str(render_cta(fragment, "talk"))  # the query before the #fragment
    with pytest.raises(RenderError, match="cta\\('nope'\\) is not declared"):
        render_cta(page, "nope")


def test_a_chat_widget_is_a_hidden_button_and_its_origin_joins_the_csp() -> None:
    interactions = _interactions(chat={"script": "https://widget.example.net:8443/chat.js"})
    button = str(render_cta(_page(interactions), "talk"))
    assert button.startswith("<button") and button.endswith("hidden>Chat</button>")
    csp = page_csp(interactions)
    assert "script-src 'self' https://widget.example.net:8443;" in csp
    assert "connect-src 'self' https://widget.example.net:8443;" in csp
    assert "frame-src https://widget.example.net:8443;" in csp
    assert page_csp(Interactions()).count("https://") == 0
    assert "form-action 'self'" in csp and "frame-src 'none'" in page_csp(Interactions())


@pytest.mark.parametrize("href", ["javascript:alert(1)", "data:text/html,x", "//evil.example", "ftp://x"])
def test_a_cta_href_that_is_not_a_web_mail_or_phone_link_fails(href: str) -> None:
    with pytest.raises(RenderError, match="call to action 'pay-now': its href is not an http") as caught:
        render_cta_hrefs(_interactions(), {"cta.pay-now.href": href}, {})
    assert href not in str(caught.value)


def test_player_words_fall_back_and_templates_override_them() -> None:
    assert player_text("fa", lambda key: None)["play"] == "پخش"
    assert player_text("xx", lambda key: None)["play"] == "Play"
    assert player_text("de", {"player_play": "Los"}.get)["play"] == "Los"


def test_on_play_the_player_plays_the_master_playlist_and_has_no_mp4() -> None:
    html = str(render_player(_page(_interactions(), {**LINKS, "video_href": None})))
    assert '<source src="video.m3u8" type="application/vnd.apple.mpegurl">' in html
    assert "video.mp4" not in html and 'poster="poster.jpg"' in html
    block = re.search(r'<script type="application/json" data-tp="config">(.*?)</script>', html, re.S)
    assert block is not None
    config = json.loads(block.group(1))
    assert (config["mp4"], config["hls"]) == (None, "video.m3u8")
