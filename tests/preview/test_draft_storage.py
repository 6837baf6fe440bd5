"""The studio's draft storage: writes held in memory, reads falling through to the real storage,
`settle` moving all but the personal objects there, and the memory budget."""

from __future__ import annotations

import pytest

from renderer.errors import StorageError
from renderer.preview.draft_storage import DraftStorage
from renderer.storage import MemoryStorage


def test_writes_are_held_until_settled_and_personal_ones_never_leave() -> None:
    base = MemoryStorage()
    base.put("cache/segments/old.m4s", b"old")
    drafts = DraftStorage(base)
    drafts.put("cache/segments/shared.m4s", b"shared", "video/mp4")
    assert drafts.put_if_absent("cache/narration/greeting.wav", b"Zebulon's voice")
    assert not drafts.put_if_absent("cache/segments/old.m4s", b"again")  # already in the real cache
    assert not drafts.put_if_absent("cache/segments/shared.m4s", b"again")  # already held
    assert (
        drafts.get("cache/segments/old.m4s") == b"old"
        and drafts.get("cache/segments/shared.m4s") == b"shared"
    )
    assert not base.exists("cache/segments/shared.m4s") and not base.exists("cache/narration/greeting.wav")
    assert list(drafts.keys("cache/segments")) == ["cache/segments/old.m4s", "cache/segments/shared.m4s"]

    assert drafts.settle({"cache/narration/greeting.wav"}) == 1
    assert base.get("cache/segments/shared.m4s") == b"shared"
    assert base.objects["cache/segments/shared.m4s"][1] == "video/mp4"
    assert not base.exists("cache/narration/greeting.wav")
    assert drafts.get("cache/narration/greeting.wav") == b"Zebulon's voice"
    assert drafts.settle({"cache/narration/greeting.wav"}) == 0  # the personal one stays held

    drafts.delete("cache/narration/greeting.wav")
    drafts.delete("cache/segments/shared.m4s")
    assert not drafts.exists("cache/narration/greeting.wav") and not base.exists("cache/segments/shared.m4s")
    with pytest.raises(StorageError, match="no object at key"):
        drafts.get("cache/narration/greeting.wav")


def test_the_oldest_held_objects_go_past_the_budget() -> None:
    drafts = DraftStorage(MemoryStorage(), budget_bytes=10)
    drafts.put("d/a", b"12345")
    drafts.put("d/b", b"12345")
    drafts.put("d/c", b"12345")
    assert not drafts.exists("d/a") and drafts.exists("d/b") and drafts.exists("d/c")
    assert drafts.delete_prefix("d") == 2 and list(drafts.keys()) == []
    with pytest.raises(StorageError, match="non-empty prefix"):
        drafts.delete_prefix("")
