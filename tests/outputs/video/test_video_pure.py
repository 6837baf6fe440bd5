"""Pure parts of the video engine, tested without running ffmpeg: timing, keys, arguments, text.

Captions, the audio mix and the TTS engines have their own files (test_video_captions.py,
test_video_audio.py, test_video_tts.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image, ImageDraw, ImageFont

from renderer.cache import segment_cache_key
from renderer.outputs.template import Template
from renderer.outputs.video import ffmpeg
from renderer.outputs.video.ffmpeg import EncodeSettings
from renderer.outputs.video.layers.base import ResolvedLayer
from renderer.outputs.video.layers.motion import HIDDEN, layer_state
from renderer.outputs.video.layers.text import TextLayer
from renderer.outputs.video.scenes import (
    AUTO_PADDING_S,
    ResolvedScene,
    resolve_scenes,
    time_scenes,
)
from renderer.outputs.video.segments import segment_key
from renderer.outputs.video.spec import Background
from renderer.outputs.video.text import fit_text, font_file, load_font, text_direction
from renderer.template.resolve import resolve

SETTINGS = EncodeSettings(1280, 720, 30)


def _scene(scene_id: str, duration: float | None, text: str = "x") -> ResolvedScene:
    layer = TextLayer.model_validate(
        {"type": "text", "text": "{{ x }}", "box": {"x": 0, "y": 0, "w": 100, "h": 50}}
    )
    return ResolvedScene(
        scene_id,
        duration,
        Background(),
        None,
        (ResolvedLayer(layer, {"text": text}),),
        None,
        None,
        "none",
        "en_US",
    )


def test_timing_in_whole_frames_with_auto_scenes() -> None:
    scenes = [_scene("a", 3.5), _scene("b", None), _scene("c", 2.0), _scene("d", None)]
    timed = time_scenes(scenes, {"b": 1.234, "c": 4.0}, 30)
    assert [t.frames for t in timed] == [
        105,
        56,
        138,
        30,
    ]  # b: 1.234 + padding; c grows to fit speech; d: minimum 1 s
    assert timed[1].duration == pytest.approx(1.234 + AUTO_PADDING_S, abs=1 / 30)
    assert [t.start for t in timed] == [0.0, 3.5, pytest.approx(161 / 30), pytest.approx(299 / 30)]


def test_segment_keys_follow_content_and_settings() -> None:
    [a] = time_scenes([_scene("s", 2.0, "Hi Ann")], {}, 30)
    [b] = time_scenes([_scene("s", 2.0, "Hi Ann")], {}, 30)
    [c] = time_scenes([_scene("s", 2.0, "Hi Bob")], {}, 30)
    [d] = time_scenes([_scene("s", 3.0, "Hi Ann")], {}, 30)
    assert segment_key(a, SETTINGS) == segment_key(b, SETTINGS)
    assert len({segment_key(a, SETTINGS), segment_key(c, SETTINGS), segment_key(d, SETTINGS)}) == 3
    assert segment_key(a, SETTINGS) != segment_key(a, EncodeSettings(1280, 720, 30, crf=20))
    assert segment_key(a, SETTINGS).startswith("cache/segments/") and segment_key(a, SETTINGS).endswith(
        ".m4s"
    )
    assert segment_cache_key({"x": 1}, 10, {}) == segment_cache_key({"x": 1}, 10, {})


def test_segment_arguments_make_concatenable_one_gop_segments(tmp_path: Path) -> None:
    args = ffmpeg.segment_args(SETTINGS, tmp_path / "s.mp4", 90)
    joined = " ".join(args)
    assert "-f rawvideo -pix_fmt rgb24 -s 1280x720 -r 30 -i pipe:0" in joined
    assert "-g 90 -keyint_min 90 -sc_threshold 0" in joined
    assert "-c:v libx264 -preset veryfast -crf 23" in joined and "-pix_fmt yuv420p" in joined
    assert "-an" in args and args[-1] == str(tmp_path / "s.mp4")


def test_layer_states_for_animations() -> None:
    layer = TextLayer.model_validate(
        {
            "type": "text",
            "text": "t",
            "box": {"x": 0, "y": 0, "w": 100, "h": 50},
            "start": 1.0,
            "end": 3.0,
            "enter": {"kind": "fade", "duration": 0.5},
            "exit": {"kind": "slide-left", "duration": 0.5},
        }
    )
    resolved = ResolvedLayer(layer, {"text": "t"})
    assert layer_state(resolved, 0.5, 4.0) == HIDDEN
    assert 0 < layer_state(resolved, 1.1, 4.0).opacity < 1
    assert layer_state(resolved, 2.0, 4.0).opacity == 1.0
    leaving = layer_state(resolved, 2.9, 4.0)
    assert leaving.dx > 0 and leaving.opacity < 1
    assert layer_state(resolved, 3.0, 4.0) == HIDDEN


def test_autofit_wraps_then_shrinks_and_never_overflows() -> None:
    box = (600, 120)
    fitted = fit_text(
        "Hi " + "Wolfeschlegelsteinhausenbergerdorff " * 6,
        box,
        family="Noto Sans",
        bold=True,
        max_size=96,
        min_size=24,
    )
    assert fitted.size == 24
    assert len(fitted.lines) * fitted.line_height <= box[1]
    assert fitted.lines[-1].endswith("…") and fitted.truncated
    for line in fitted.lines:
        assert fitted.font.getlength(line) <= box[0]
    short = fit_text("Hi Ann", box, family="Noto Sans", bold=True, max_size=96, min_size=24)
    assert short.size == 96 - (96 - short.size) and short.lines == ("Hi Ann",) and short.size > 60
    assert not short.truncated


def test_persian_is_shaped_right_to_left() -> None:
    text = "سلام مریم"
    assert text_direction(text) == "rtl" and text_direction("Hi مریم") == "ltr"
    path = font_file("Noto Sans Arabic", False)
    shaped, naive = Image.new("L", (400, 100)), Image.new("L", (400, 100))
    ImageDraw.Draw(shaped).text((10, 10), text, font=load_font(path, 48), fill=255, direction="rtl")
    basic = ImageFont.truetype(path, 48, layout_engine=ImageFont.Layout.BASIC)
    ImageDraw.Draw(naive).text((10, 10), text, font=basic, fill=255)
    difference = sum(a != b for a, b in zip(shaped.tobytes(), naive.tobytes(), strict=True))
    assert difference > 500, "joined, right-to-left glyphs must differ from isolated left-to-right ones"


def test_hostile_name_stays_literal_text(bill: Template) -> None:
    spec = resolve(bill, bill.validator.validate({**bill.samples["en-US"], "first_name": "{{7*7}}"}))
    greeting = next(s for s in resolve_scenes(bill, spec, lambda ref: "d") if s.id == "greeting")
    assert greeting.layers[1].content["text"] == "Hi {{7*7}}!"
    assert greeting.narration_text == "Hi {{7*7}}!"


def test_runs_of_equal_frames() -> None:
    from renderer.outputs.video.segments import _runs

    a, b = b"a" * 4, b"b" * 4
    assert list(_runs(iter([a, a, a, b, a]))) == [(a, 3), (b, 1), (a, 1)]
    assert list(_runs(iter([]))) == []
    again = bytes(bytearray(a))  # equal pixels drawn anew: encoded again, never compared
    assert [count for _, count in _runs(iter([a, again, again]))] == [1, 2]


@pytest.mark.parametrize("fade", [0.033, 0.1, 0.111, 0.5, 0.667, 0.967, 0.999])
def test_the_fade_table_darkens_as_blending_with_black_does(fade: float) -> None:
    from PIL import Image

    from renderer.outputs.video.segments import _fade_table

    ramp = Image.frombytes("RGB", (256, 4), bytes(range(256)) * 12)
    blended = Image.blend(Image.new("RGB", ramp.size, (0, 0, 0)), ramp, fade)
    assert ramp.point(_fade_table(fade)).tobytes() == blended.tobytes()


def test_pasting_through_alpha_onto_an_opaque_canvas_is_alpha_compositing() -> None:
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(7)
    sprite = Image.frombytes(
        "RGBA", (512, 256), rng.integers(0, 256, 512 * 256 * 4, dtype=np.uint8).tobytes()
    )
    canvas = Image.frombytes("RGB", (512, 256), rng.integers(0, 256, 512 * 256 * 3, dtype=np.uint8).tobytes())
    composited = canvas.convert("RGBA")
    composited.alpha_composite(sprite)
    pasted = canvas.copy()
    pasted.paste(sprite, (0, 0), sprite)
    assert pasted.tobytes() == composited.convert("RGB").tobytes()
