"""Erasing a recipient reaches the shared video cache: their personal segments and narrations go,
the scenes everyone shares stay, and another recipient who shared a personal segment still renders."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from renderer.api.routes.recipients import erase
from renderer.jobs.render_jobs import api_campaign
from renderer.jobs.store import JobStore, open_store
from renderer.outputs.kind import RenderOptions
from renderer.outputs.render import RecipientOutputs, render_recipient
from renderer.outputs.template import Template
from renderer.storage import LocalStorage

pytestmark = [pytest.mark.video, pytest.mark.slow]
# the same scenes and cache, a quarter of the pixels, speech from the in-process fake TTS
DRAFT = RenderOptions(draft=True, tts_engine="fake")


@pytest.fixture
def store(tmp_path: Path) -> Iterator[JobStore]:
    """A job store on a throwaway SQLite file."""
    opened = open_store(f"sqlite:///{tmp_path / 'jobs.db'}")
    yield opened
    opened.close()


def _render_job(
    store: JobStore, storage: LocalStorage, bill: Template, key_id: str, raw: dict[str, Any]
) -> dict[str, str]:
    """What a background render job does: render the recipient's video, record its keys."""
    recipient = bill.validator.validate(raw)
    job = store.render_jobs.create(bill.name, str(raw["customer_id"]), ["video"], api_key_id=key_id)
    keys = render_recipient(bill, recipient, ["video"], storage, api_campaign(key_id), DRAFT).to_record()
    assert store.render_jobs.finish(job.id, keys)
    return keys


def _cache(keys: dict[str, str]) -> dict[str, str]:
    return dict(RecipientOutputs.from_record(keys).cache)


def test_erasure_deletes_personal_cache_objects_and_keeps_shared_ones(
    bill: Template, store: JobStore, tmp_path: Path
) -> None:
    storage = LocalStorage(tmp_path / "out")
    _, key = store.keys.create("crm")
    emily = bill.samples["en-US"]
    namesake = {**emily, "customer_id": "US-2002", "line_items": [{"code": "energy", "amount": "250.10"}]}
    first = _render_job(store, storage, bill, key.id, emily)
    second = _render_job(store, storage, bill, key.id, namesake)
    personal, theirs = _cache(first), _cache(second)
    scenes = ("greeting", "amount", "usage")
    assert set(personal) == {f"{kind}:{scene}" for kind in ("segment", "narration") for scene in scenes}
    assert theirs["segment:greeting"] == personal["segment:greeting"], "same first name, same segment"
    assert theirs["segment:amount"] != personal["segment:amount"]
    cached = set(storage.keys("cache"))
    everyones = cached - set(personal.values()) - set(theirs.values())
    assert len([k for k in everyones if k.endswith(".m4s")]) == 3, "intro, tips, outro read no personal field"
    assert len([k for k in everyones if k.endswith(".wav")]) == 2, "the tips and outro narrations"

    erased = erase(store, storage, [bill.name], "US-1001", key.id)

    assert set(storage.keys("cache")) == cached - set(personal.values()), "only her personal objects are gone"
    assert everyones <= set(storage.keys("cache")) and storage.exists(theirs["segment:amount"])
    assert erased.objects_deleted >= len(personal) + 3  # her cache objects, video and captions
    assert not list(storage.keys(f"{bill.name}/{api_campaign(key.id)}/US-1001"))
    again = _render_job(store, storage, bill, key.id, namesake)  # the shared greeting is encoded again
    assert storage.exists(personal["segment:greeting"]) and storage.path(again["video"]).stat().st_size > 1000
