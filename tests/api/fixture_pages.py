"""Recipient pages served by a live API, rendered with their video, for browser journeys.

`render_page` renders one sample (microsite, PDF and video) into the server's storage as a
finished render job of the server's key and returns the page link the API hands out for it, as
a client of ``GET /renders/{id}`` gets it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fixture_api import ApiServer

from renderer.jobs.render_jobs import api_campaign
from renderer.jobs.store import open_store
from renderer.outputs.kind import RenderOptions
from renderer.outputs.load import load_template
from renderer.outputs.render import render_recipient
from renderer.storage import open_storage
from tests.conftest import launch_chromium


def render_page(
    api: ApiServer,
    sample: str,
    outputs: tuple[str, ...] = ("microsite", "pdf", "video"),
    *,
    on_play: bool = False,
    data: dict[str, Any] | None = None,
) -> str:
    """The page URL of `sample` of bill-summary (its data updated with `data`) rendered with
    `outputs` (fake TTS: quick, and its narrations still carry the caption text), the video
    rendered on play when `on_play`."""
    template = load_template("bill-summary", api.settings)
    recipient = template.validator.validate({**template.samples[sample], **(data or {})})
    store = open_store(api.settings.database_url)
    storage = open_storage(api.settings.storage_url, api.settings)
    try:
        key = store.keys.verify(api.key)
        assert key is not None
        recipient_id = str(recipient["customer_id"])
        job = store.render_jobs.create(template.name, recipient_id, list(outputs), api_key_id=key.id)
        options = RenderOptions(tts_engine="fake", video_on_play=on_play)
        stored = render_recipient(template, recipient, list(outputs), storage, api_campaign(key.id), options)
        assert store.render_jobs.finish(job.id, stored.to_record())
    finally:
        store.close()
        storage.close()
    answer = api.client().get(f"/renders/{job.id}")
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    page_url: str = body["page_url"]
    return page_url


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    """One headless system Chromium for the module (autoplay allowed, so tests can play)."""
    with launch_chromium("--autoplay-policy=no-user-gesture-required") as browser:
        yield browser
