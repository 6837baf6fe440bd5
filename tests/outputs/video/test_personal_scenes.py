"""Which video scenes carry personal data, and how their cache keys are recorded and kept out of
what users see: pure, without ffmpeg."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from renderer.api.links import mint_links
from renderer.api.reports import results_lines
from renderer.jobs.local import write_reports
from renderer.jobs.store import open_store
from renderer.outputs.registry import TemplateManifest
from renderer.outputs.render import output_entries
from renderer.outputs.template import Template
from renderer.outputs.video import segments
from renderer.outputs.video.audio import Narration
from renderer.outputs.video.ffmpeg import EncodeSettings
from renderer.outputs.video.personal import personal_scenes, scene_fields
from renderer.outputs.video.render import personal_cache
from renderer.outputs.video.scenes import resolve_scenes, time_scenes
from renderer.settings import Settings
from renderer.storage import MemoryStorage
from renderer.template.refs import personal_fields
from renderer.template.resolve import resolve

BOX = {"x": 0, "y": 0, "w": 100, "h": 50}


def _manifest(scenes: list[dict[str, Any]], **extra: Any) -> TemplateManifest:
    fields = {
        "id": {"type": "string", "required": True},
        "name": {"type": "string", "personal": True},
        "plan": {"type": "enum", "choices": ["a", "b"]},
        "rows": {
            "type": "list",
            "items": {"v": {"type": "decimal"}, "who": {"type": "string", "personal": True}},
        },
        "open_rows": {"type": "list", "items": {"v": {"type": "decimal"}}},
        "locale": {"type": "locale"},
    }
    return TemplateManifest.model_validate(
        {
            "name": "t",
            "title": "t",
            "version": "1",
            "contract": {"recipient_id": "id", "locale_field": "locale", "fields": fields},
            "outputs": {"video": {"scenes": scenes}},
            **extra,
        }
    )


def _text(text: str, **layer: Any) -> dict[str, Any]:
    return {"type": "text", "text": text, "box": BOX, **layer}


def test_bill_summary_greeting_amount_and_usage_are_personal(bill: Template) -> None:
    contract = bill.manifest.contract
    assert not contract.fields["plan"].personal, "tips read only the plan, which is not personal"
    assert {"first_name", "line_items", "usage_history", "customer_id"} <= personal_fields(contract)
    assert personal_scenes(bill.manifest) == {"greeting", "amount", "usage"}
    fields = scene_fields(bill.manifest)
    assert fields["intro"] == fields["outro"] == {"locale"}
    assert fields["tips-basic"] == {"locale", "plan"}, "t('v_tip_' ~ plan) reads only the v_tip_ snippets"
    assert fields["greeting"] == {"locale", "first_name"}
    assert fields["amount"] >= {"line_items", "currency", "due_date"}, (
        "amount_due is computed from line_items"
    )


def test_every_place_a_scene_can_read_a_personal_field() -> None:
    manifest = _manifest(
        [
            {
                "id": "plain",
                "layers": [_text("{{ t('hello') }} {{ plan }} {{ t('hel' + plan) }} {{ t('hel' ~ plan) }}")],
            },
            {"id": "when", "when": "name == 'Ann'", "layers": [_text("static")]},
            {"id": "layer-when", "layers": [_text("x", when="name is not none")]},
            {"id": "image", "layers": [{"type": "image", "src": "@assets/{{ name }}.png", "box": BOX}]},
            {"id": "narration", "narration": {"text": "Hello", "clip": "@assets/{{ name | lower }}.wav"}},
            {"id": "computed", "layers": [_text("{{ shout }}")]},
            {"id": "snippet", "layers": [_text("{{ t('hi') }}")]},
            {"id": "dynamic-key", "layers": [_text("{{ t(plan) }}")]},
            {"id": "recipient-id", "narration": {"text": "{{ recipient_id }}"}},
            {
                "id": "chart-plain",
                "layers": [{"type": "chart", "data": "open_rows", "label": "v", "value": "v", "box": BOX}],
            },
            {
                "id": "chart-item",
                "layers": [{"type": "chart", "data": "rows", "label": "who", "value": "v", "box": BOX}],
            },
            {
                "id": "chart-jinja",
                "layers": [
                    {"type": "chart", "data": "{{ 'open_rows' }}", "label": "v", "value": "v", "box": BOX}
                ],
            },
        ],
        computed={"upper": "name | upper", "shout": "upper ~ '!'"},
        text={"en": {"hello": "Hello", "hi": "Hi {{ name }}"}},
    )
    assert personal_scenes(manifest) == {
        "when",
        "layer-when",
        "image",
        "narration",
        "computed",
        "snippet",
        "dynamic-key",  # a key known only at render time may be 'hi'
        "recipient-id",
        "chart-item",  # a list with a personal item field
        "chart-jinja",  # a data name known only at render time may be any field
    }


def _bill_timeline(bill: Template) -> tuple[list[Any], dict[str, Narration]]:
    spec = resolve(bill, bill.validator.validate(bill.samples["en-US"]))
    scenes = resolve_scenes(bill, spec, lambda ref: "digest")
    narrations = {
        s.id: Narration(s.id, f"cache/narration/{s.id}.wav", 2.0, s.narration_text or "")
        for s in scenes
        if s.narration_text
    }
    return time_scenes(scenes, {k: n.seconds for k, n in narrations.items()}, 30), narrations


def test_personal_cache_names_segments_and_narrations_of_personal_scenes_only(bill: Template) -> None:
    timed, narrations = _bill_timeline(bill)
    keys = [f"cache/segments/{t.scene.id}.mp4" for t in timed]
    cache = personal_cache(timed, keys, narrations, personal_scenes(bill.manifest))
    assert cache == {
        f"{kind}:{scene}": f"cache/{folder}/{scene}.{ext}"
        for scene in ("greeting", "amount", "usage")
        for kind, folder, ext in (("segment", "segments", "mp4"), ("narration", "narration", "wav"))
    }
    shared = {**narrations, "amount": narrations["outro"]}  # same words as a shared scene's narration
    assert "narration:amount" not in personal_cache(timed, keys, shared, frozenset({"amount"}))


def test_cache_entries_stay_out_of_results_manifests_and_links(
    bill: Template, settings: Settings, tmp_path: Path
) -> None:
    keys = {
        "video": "t/c/r/video.mp4",
        "video:poster.jpg": "t/c/r/poster.jpg",
        "cache:segment:hi": "cache/s/x.mp4",
    }
    shown = {"video": "t/c/r/video.mp4", "video:poster.jpg": "t/c/r/poster.jpg"}
    assert output_entries(keys) == shown
    store = open_store(f"sqlite:///{tmp_path / 'jobs.db'}")
    try:
        campaign, _ = store.campaigns.create(bill.name, ["video"], "uploads/data.csv")
        store.rows.add(campaign.id, [(2, "C-1")])
        assert store.rows.finish(campaign.id, 2, keys)
        results = "".join(results_lines(store, campaign, "jsonl"))
        assert json.loads(results)["outputs"] == shown and "cache" not in "".join(
            results_lines(store, campaign, "csv")
        )
        write_reports(store, campaign.id, tmp_path / "report", bill)
        assert json.loads((tmp_path / "report" / "manifest.jsonl").read_text())["outputs"] == shown
        links = mint_links(store, MemoryStorage(), settings, (bill.name, "c", "r"), keys)
        assert set(links.links) == set(shown)
        assert sorted(store.erasure.erase_recipient("C-1")) == sorted(keys.values()), (
            "erasure still sees every key"
        )
    finally:
        store.close()


def test_a_segment_erased_after_it_was_found_is_encoded_again(
    bill: Template, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    timed, _ = _bill_timeline(bill)
    storage = MemoryStorage()
    storage.put("cache/segments/kept.m4s", b"kept")

    def encode_fragment(scene: Any, settings: Any, assets: Any, store: MemoryStorage, **_: Any) -> bytes:
        store.put("cache/segments/gone.m4s", f"new {scene.scene.id}".encode())
        return f"new {scene.scene.id}".encode()

    monkeypatch.setattr(segments, "encode_fragment", encode_fragment)
    monkeypatch.setattr(segments, "video_init", lambda *a, **k: b"init+")
    settings = EncodeSettings(64, 36, 30)
    paths = segments.fetch_segments(
        timed[:2], ["cache/segments/kept.m4s", "cache/segments/gone.m4s"], settings, lambda r: tmp_path, storage,
        tmp_path, timeout_s=1.0,
    )  # fmt: skip
    assert [p.read_bytes() for p in paths] == [b"init+kept", b"init+new greeting"], "init segment first"
    assert storage.get("cache/segments/gone.m4s") == b"new greeting", "stored again for the next render"
