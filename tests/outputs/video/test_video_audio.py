"""Sound (renderer/outputs/video/audio.py), pure: the mix's filter graph checked as data (nothing
runs), the loudness gain from a measurement, and narration caching with the fake TTS."""

from __future__ import annotations

import re
import struct
from pathlib import Path

import pytest

from renderer.outputs.video.audio import (
    LOUDNESS_LUFS,
    MUSIC_LEVEL,
    SAMPLE_RATE,
    TRUE_PEAK_DB,
    MixGraph,
    loudness_gain,
    mix_graph,
    narrate,
    wav_seconds,
)
from renderer.outputs.video.scenes import ResolvedScene, TimedScene
from renderer.outputs.video.spec import Background
from renderer.outputs.video.tts import FakeTTS, pcm_wav
from renderer.storage import MemoryStorage

FPS = 30
MUSIC = Path("/assets/music/bed.ogg")


def _timed(scene_id: str, start: float, seconds: float) -> TimedScene:
    scene = ResolvedScene(scene_id, None, Background(), None, (), "Hello.", None, "none", "en_US")
    return TimedScene(scene, start, round(seconds * FPS), FPS)


# intro 0-2 s, greeting 2-5 s, amount from 161/30 s (a start that is no whole millisecond)
TIMELINE = [_timed("intro", 0.0, 2.0), _timed("greeting", 2.0, 3.0), _timed("amount", 161 / FPS, 2.0)]
VOICES = {"amount": Path("/tmp/mix/voice-001.wav"), "intro": Path("/tmp/mix/voice-000.wav")}


def _inputs(graph: MixGraph) -> list[str]:
    return [str(source) for source in graph.inputs]


def _filters(graph: MixGraph) -> list[str]:
    return graph.filters.split(";")


_LABELS = re.compile(r"^((?:\[[^\]]+\])*)(.*?)((?:\[[^\]]+\])*)$")  # [in]...filters...[out]...


def _chain(filters: list[str], produces: str) -> str:
    """The one filter chain whose outputs include the label `produces`."""
    [chain] = [f for f in filters if f"[{produces}]" in _LABELS.match(f).group(3)]  # type: ignore[union-attr]
    return chain


def _check_graph(args: MixGraph) -> None:
    """Every stream label is produced once and read once, inputs exist, and [out] is what is mapped."""
    produced: list[str] = []
    consumed: list[str] = []
    for chain in _filters(args):
        found = _LABELS.match(chain)
        assert found, chain
        consumed += re.findall(r"\[([^\]]+)\]", found.group(1))
        produced += re.findall(r"\[([^\]]+)\]", found.group(3))
    inputs = len(_inputs(args))
    streams = [label for label in consumed if label.endswith(":a")]
    assert sorted(streams) == [f"{i}:a" for i in range(inputs)], "each input read once"
    assert len(produced) == len(set(produced)), "no label made twice"
    assert sorted(set(consumed) - set(streams)) == sorted(set(produced) - {"out"}), "no dangling label"
    assert "out" in produced, "the result is [out]"


def test_narrations_are_inputs_in_timeline_order_delayed_to_their_scene_starts() -> None:
    args = mix_graph(TIMELINE, VOICES, None, 8.0)
    assert _inputs(args) == [str(VOICES["intro"]), str(VOICES["amount"])], "timeline order, not dict order"
    filters = _filters(args)
    assert filters[0] == f"[0:a]aresample={SAMPLE_RATE},aformat=channel_layouts=mono,adelay=0:all=1[v0]"
    assert filters[1].startswith("[1:a]") and filters[1].endswith(",adelay=5367:all=1[v1]"), "161/30 s in ms"
    assert "[v0][v1]amix=inputs=2:normalize=0,apad,atrim=0:8.000[voice]" in filters, (
        "speech mixed without halving, padded with silence and cut to the total"
    )
    _check_graph(args)


def test_the_music_bed_loops_is_cut_to_the_total_fades_out_and_ducks_under_speech() -> None:
    args = mix_graph(TIMELINE, VOICES, MUSIC, 8.0)
    assert _inputs(args) == [str(VOICES["intro"]), str(VOICES["amount"]), str(MUSIC)]
    assert args.loop == 2, "the music bed is looped forever, then trimmed"
    filters = _filters(args)
    bed = _chain(filters, "music")
    assert bed.startswith("[2:a]") and f"volume={MUSIC_LEVEL}" in bed
    assert bed.endswith("atrim=0:8.000,afade=t=out:st=6.000:d=2[music]"), "the last 2 s fade out"
    assert "[voice]asplit=2[voice1][key]" in filters, "the speech is heard and keys the compressor"
    duck = _chain(filters, "ducked")
    assert duck.startswith("[music][key]sidechaincompress="), "the music is compressed when speech plays"
    assert "threshold=0.015" in duck and "ratio=10" in duck and "attack=60" in duck and "release=400" in duck
    assert "[voice1][ducked]amix=inputs=2:normalize=0[mix]" in filters
    _check_graph(args)


def test_a_timeline_shorter_than_the_fade_fades_from_the_start() -> None:
    args = mix_graph(TIMELINE[:1], {}, MUSIC, 1.5)
    assert _chain(_filters(args), "music").endswith("atrim=0:1.500,afade=t=out:st=0.000:d=2[music]")


def test_loudness_is_measured_in_the_same_pass_on_the_mono_result() -> None:
    args = mix_graph(TIMELINE, VOICES, MUSIC, 8.0)
    filters = _filters(args)
    assert filters[-1] == f"[mix]aresample={SAMPLE_RATE},atrim=0:8.000,ebur128=peak=true:metadata=1[out]"
    assert not any("loudnorm" in f for f in filters), "the gain is applied later, from the measurement"
    normalized = _filters(mix_graph(TIMELINE, VOICES, MUSIC, 8.0, normalize=True))
    assert normalized[-1].startswith(f"[mix]loudnorm=I={LOUDNESS_LUFS}:TP={TRUE_PEAK_DB}:LRA=11,aresample=")


def test_narration_without_music_passes_the_speech_through() -> None:
    args = mix_graph(TIMELINE, {"greeting": Path("/tmp/mix/v.wav")}, None, 8.0)
    assert _inputs(args) == ["/tmp/mix/v.wav"] and args.loop is None
    filters = _filters(args)
    assert filters[0].endswith(",adelay=2000:all=1[v0]")
    assert "[voice]anull[mix]" in filters and not any("sidechaincompress" in f for f in filters)
    _check_graph(args)


def test_no_narration_and_no_music_is_silence_as_long_as_the_video() -> None:
    args = mix_graph(TIMELINE, {}, None, 7.25)
    assert _inputs(args) == [] and args.loop is None
    filters = _filters(args)
    assert filters[:2] == [f"anullsrc=r={SAMPLE_RATE}:cl=mono,atrim=0:7.250[voice]", "[voice]anull[mix]"]
    assert len(filters) == 3
    _check_graph(args)


def test_music_without_narration_is_keyed_by_silence() -> None:
    args = mix_graph(TIMELINE, {}, MUSIC, 8.0)
    assert _inputs(args) == [str(MUSIC)]
    filters = _filters(args)
    assert filters[0] == f"anullsrc=r={SAMPLE_RATE}:cl=mono,atrim=0:8.000[voice]"
    assert _chain(filters, "music").startswith("[0:a]")
    _check_graph(args)


def test_loudness_gain_from_a_measurement() -> None:
    assert loudness_gain(-23.0, -9.0) == "volume=7.00dB"
    assert loudness_gain(-20.0, -3.0).startswith("volume=4.00dB,alimiter=limit=0.8414"), "it would clip"
    assert loudness_gain(-70.0, float("-inf")) == "", "silence stays silent"
    assert loudness_gain(float("-inf"), float("-inf")) == ""


def test_wav_seconds_counts_the_samples_present_not_the_header() -> None:
    wav = bytearray(pcm_wav(bytes(2 * 8000), 16_000))  # 0.5 s
    data = wav.index(b"data")
    wav[data + 4 : data + 8] = struct.pack("<I", 0x7FFFFFFF)  # what espeak-ng streams: ~1 GB claimed
    assert wav_seconds(bytes(wav)) == 0.5


def test_narration_is_synthesised_once_per_text_and_kept_in_storage() -> None:
    tts, storage = FakeTTS(), MemoryStorage()
    first = narrate("amount", "You owe ten dollars.", "en-US", tts, storage)
    again = narrate("outro", "You owe ten dollars.", "en-US", tts, storage)
    other = narrate("greeting", "Hi Emily!", "en-US", tts, storage)
    assert [call.text for call in tts.calls] == ["You owe ten dollars.", "Hi Emily!"], "the repeat is a hit"
    assert first.key == again.key != other.key and first.key.startswith("cache/narration/")
    assert first.seconds == again.seconds == pytest.approx(tts.seconds("You owe ten dollars.")) == 1.6
    assert storage.objects[first.key] == (first.data, "audio/wav") and again.data == first.data
    assert (again.scene_id, again.text) == ("outro", "You owe ten dollars.")
    german = narrate("amount", "You owe ten dollars.", "de-DE", tts, storage)
    assert german.key != first.key, "another voice, another cache entry"


def test_a_recorded_clip_is_used_as_is_without_tts(tmp_path: Path) -> None:
    tts, storage = FakeTTS(), MemoryStorage()
    clip = tmp_path / "emily.wav"
    clip.write_bytes(pcm_wav(bytes(2 * 12_000), 24_000))
    spoken = narrate("greeting", "Hi Emily!", "en-US", tts, storage, clip)
    assert tts.calls == [] and spoken.seconds == 0.5 and spoken.data == clip.read_bytes()
    assert storage.get(spoken.key) == clip.read_bytes() and spoken.text == "Hi Emily!"
