"""A personal scene's `fallback` (the same scene with non-personal copy): its model, the load-time
errors with their ``template.yaml`` lines, its resolution (shared by recipients of one language),
and one fallback segment encoded with ffmpeg and decoded with PyAV."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import av
import numpy as np
import pytest
from broken import broken_copy, edit, line_of
from PIL import Image
from pydantic import ValidationError

from renderer.errors import AssetError, RenderError, TemplateError
from renderer.outputs.load import load_template
from renderer.outputs.template import Template
from renderer.outputs.video.fallback import fallback_problems
from renderer.outputs.video.render import VideoOptions, asset_opener, encode_settings
from renderer.outputs.video.scenes import (
    ResolvedScene,
    TimedScene,
    fallback_scenes,
    resolve_fallback,
    resolve_scenes,
    time_scenes,
)
from renderer.outputs.video.segments import encode_segment
from renderer.outputs.video.spec import Scene, SceneFallback
from renderer.outputs.video.tts import FakeTTS
from renderer.settings import Settings
from renderer.template.resolve import ResolvedSpec, resolve

BOX = {"x": 0, "y": 0, "w": 100, "h": 50}
HI_GENERIC = "text: \"{{ t('v_hi_generic') }}\""  # the greeting fallback's text layer (unique)
INTRO_END = "enter: {kind: slide-up, duration: 0.6}, start: 0.3}\n"  # the intro's last layer
FALLBACK = "        fallback:\n          layers:\n"  # the greeting's (the first fallback)


def test_a_fallback_is_layers_and_an_optional_background_only() -> None:
    scene = Scene.model_validate(
        {"id": "hi", "fallback": {"layers": [{"type": "text", "text": "Hello", "box": BOX}]}}
    )
    assert isinstance(scene.fallback, SceneFallback) and scene.fallback.background is None
    assert Scene.model_validate({"id": "plain"}).fallback is None
    fallback = SceneFallback.model_validate(
        {"layers": [{"type": "shape", "colour": "#ffffff", "box": BOX}], "background": {}}
    )
    assert fallback.background is not None and fallback.background.colour == "#000000"
    for wrong in (
        {},
        {"layers": []},
        {"layers": [], "narration": {"text": "x"}},
        {"layers": [], "duration": 2},
    ):
        with pytest.raises(ValidationError):
            SceneFallback.model_validate(wrong)


def test_the_sample_greets_and_announces_the_bill_without_personal_data(bill: Template) -> None:
    assert fallback_scenes(bill) == {"greeting", "amount"}
    video = bill.manifest.outputs.video
    assert video is not None and not list(fallback_problems(bill.manifest, video))
    for locale in bill.manifest.text.values():
        assert "{{" not in locale["v_hi_generic"] and "{{" not in locale["v_bill_ready"]


def _load_error(settings: Settings, root: Path, error: type[Exception] = TemplateError) -> Any:
    with pytest.raises(error) as caught:
        load_template(root, settings)
    return caught.value


@pytest.mark.parametrize(
    ("old", "new", "needle", "fields"),
    [
        (HI_GENERIC, 'text: "{{ first_name | upper }}"', "first_name | upper", "first_name"),
        (HI_GENERIC, "text: \"{{ t('v_hi') ~ '!' }}\"", "t('v_hi') ~ '!'", "first_name"),
        (HI_GENERIC, 'text: "{{ recipient_id }} ok"', "recipient_id }} ok", "customer_id"),
        (HI_GENERIC, f"when: \"first_name != 'Zed'\", {HI_GENERIC}", "Zed", "first_name"),
        (
            "text: \"{{ t('v_bill_ready') }}\"",
            "text: \"{{ t('v_bill_ready') }} {{ amount_due | money }}\"",
            "t('v_bill_ready') }} {{ amount_due",
            "line_items",
        ),
    ],
    ids=["direct", "through-a-snippet", "recipient-id", "layer-when", "through-a-computed-value"],
)
def test_a_fallback_that_reads_a_personal_field_names_its_layer_line(
    tmp_path: Path, settings: Settings, old: str, new: str, needle: str, fields: str
) -> None:
    root = broken_copy(tmp_path)
    manifest = root / "template.yaml"
    edit(manifest, old, new)
    error = _load_error(settings, root)
    assert (error.file, error.line) == (str(manifest), line_of(manifest, needle))
    scene = "amount" if "bill_ready" in old else "greeting"
    assert error.detail.startswith(f"scene.{scene}.fallback.layers.")
    assert f"reads the personal field {fields}:" in error.detail
    assert "Emily" not in str(error), "names fields, never a value"


def test_a_fallback_on_a_scene_that_is_not_personal_is_refused(tmp_path: Path, settings: Settings) -> None:
    root = broken_copy(tmp_path)
    manifest = root / "template.yaml"
    layer = "{type: text, text: \"{{ t('v_intro') }}\", box: {x: 0, y: 0, w: 100, h: 50}}"
    edit(manifest, INTRO_END, f"{INTRO_END}{FALLBACK}            - {layer}\n")
    error = _load_error(settings, root)
    assert error.line == line_of(manifest, "        fallback:") + 1, "the first line of the fallback"
    assert error.detail.startswith("scene.intro.fallback: the scene reads no personal field")
    assert "would never be used" in error.detail


def test_a_fallback_may_not_bring_a_video_into_a_still_scene(tmp_path: Path, settings: Settings) -> None:
    root = broken_copy(tmp_path)
    manifest = root / "template.yaml"
    (root / "media").mkdir()
    (root / "media" / "loop.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42")
    edit(
        manifest,
        FALLBACK,
        FALLBACK.replace("layers:", "background: {video: media/loop.mp4}\n          layers:"),
    )
    error = _load_error(settings, root)
    assert (error.line, error.detail.split(":")[0]) == (
        line_of(manifest, "media/loop.mp4"),
        "scene.greeting.fallback.background",
    )
    assert "may be a video only where the scene's own is one" in error.detail


def test_a_fallback_asset_that_is_missing_names_the_fallback_layer(
    tmp_path: Path, settings: Settings
) -> None:
    root = broken_copy(tmp_path)
    manifest = root / "template.yaml"
    image = '{type: image, src: "@assets/brand/no-such-logo.png", box: {x: 0, y: 0, w: 100, h: 50}}'
    edit(manifest, FALLBACK, f"{FALLBACK}            - {image}\n")
    error = _load_error(settings, root, AssetError)
    assert error.line == line_of(manifest, "no-such-logo")
    assert error.detail.startswith("scene.greeting.fallback.layers.0:")


def test_a_fallback_layer_compiles_and_checks_names_like_a_scene_layer(
    tmp_path: Path, settings: Settings
) -> None:
    root = broken_copy(tmp_path)
    manifest = root / "template.yaml"
    edit(manifest, HI_GENERIC, 'text: "{{ greting }}"')
    error = _load_error(settings, root)
    assert error.line == line_of(manifest, "greting") and "unknown variable 'greting'" in error.detail
    edit(manifest, 'text: "{{ greting }}"', 'text: "{{ plan "')
    error = _load_error(settings, root)
    assert error.line == line_of(manifest, "{{ plan ") and "broken Jinja" in error.detail


def test_a_fallback_has_no_narration(tmp_path: Path, settings: Settings) -> None:
    root = broken_copy(tmp_path)
    manifest = root / "template.yaml"
    edit(manifest, FALLBACK, FALLBACK.replace("layers:", "narration: {text: Hi}\n          layers:"))
    error = _load_error(settings, root)
    assert error.line == line_of(manifest, "narration: {text: Hi}") and "unknown key" in error.detail


def _spec(bill: Template, **changes: Any) -> ResolvedSpec:
    return resolve(bill, bill.validator.validate({**bill.samples["en-US"], **changes}))


def _fallback(bill: Template, scene: str, **changes: Any) -> ResolvedScene:
    return resolve_fallback(bill, _spec(bill, **changes), scene, lambda ref: "digest")


def test_a_fallback_is_the_same_for_every_recipient_of_a_language(bill: Template) -> None:
    items = [{"code": "energy", "amount": "9.10"}]
    other = {"first_name": "Bartholomew", "customer_id": "US-2002", "line_items": items}
    for scene in ("greeting", "amount"):
        first, second = _fallback(bill, scene), _fallback(bill, scene, **other)
        assert first.canonical() == second.canonical(), f"{scene}: one shared segment"
        assert (first.id, first.duration, first.narration_text, first.narration_clip) == (
            scene,
            None,
            None,
            None,
        )
        german = _fallback(bill, scene, locale="de-DE")
        assert german.canonical() != first.canonical(), f"{scene}: one segment per language"
    greeting = _fallback(bill, "greeting")
    assert greeting.layers[1].content == {"text": "Hi there!"}
    assert _fallback(bill, "greeting", locale="de-DE").layers[1].content == {"text": "Hallo!"}
    assert greeting.background == resolve_scenes(bill, _spec(bill), lambda ref: "d")[1].background
    with pytest.raises(RenderError, match=r"intro .* has no fallback"):
        _fallback(bill, "intro")


def _decoded_last_frame(segment: bytes) -> tuple[np.ndarray, int]:
    with av.open(io.BytesIO(segment)) as container:
        frames = [frame.to_ndarray(format="rgb24") for frame in container.decode(video=0)]
    return frames[-1], len(frames)


@pytest.mark.video
def test_a_fallback_segment_shows_the_generic_text_over_the_scenes_background(
    bill: Template, artifacts: Path
) -> None:
    spec = resolve(bill, bill.validator.validate(bill.samples["en-US"]))
    greeting = next(s for s in resolve_scenes(bill, spec, lambda ref: "d") if s.id == "greeting")
    [personal] = time_scenes([greeting], {"greeting": 1.0}, 30)
    generic_scene = resolve_fallback(bill, spec, "greeting", lambda ref: "d")
    fallback = TimedScene(generic_scene, personal.start, personal.frames, personal.fps)
    settings, opener = encode_settings(bill, VideoOptions(FakeTTS())), asset_opener(bill)
    mine, mine_count = _decoded_last_frame(encode_segment(personal, settings, opener, timeout_s=60))
    generic, count = _decoded_last_frame(encode_segment(fallback, settings, opener, timeout_s=60))
    assert count == mine_count == personal.frames, "timed to the recipient's scene"
    box = fallback.scene.layers[1].spec.box
    region = (slice(box.y, box.y + box.h), slice(box.x, box.x + box.w))
    assert np.abs(generic[region].astype(int) - mine[region].astype(int)).mean() > 3, "other words"
    assert (generic[region] != generic[box.y, box.x]).any(), "the generic text is drawn"
    corner = generic[4:12, 4:12].reshape(-1, 3).mean(axis=0)
    assert np.abs(corner - (0x0B, 0x3D, 0x91)).max() < 6, "the scene's own background colour"
    Image.fromarray(generic).save(artifacts / "video-fallback-greeting.png")
