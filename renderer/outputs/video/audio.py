"""Sound: narration (TTS or a recorded clip chosen by data), the music bed, ducking and loudness.

Each narration is synthesised once per distinct (engine, voice, text) and kept in storage like
segments are. The engines are in `tts`, captions in `captions`.
"""

from __future__ import annotations

import hashlib
import io
import math
import wave
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from renderer.cache import content_key, read_cached
from renderer.outputs.video.scenes import TimedScene
from renderer.outputs.video.tts import TTS
from renderer.storage.base import Storage

SAMPLE_RATE = 24_000
LOUDNESS_LUFS = -16.0
TRUE_PEAK_DB = -1.5
MUSIC_LEVEL = 0.35


def wav_seconds(data: bytes) -> float:
    """Duration of a WAV file's audio, counted from the samples present (espeak-ng streams a
    header that claims ~1 GB of samples)."""
    with wave.open(io.BytesIO(data)) as reader:
        width = reader.getsampwidth() * reader.getnchannels()
        present = len(reader.readframes(reader.getnframes())) // max(width, 1)
        return float(present / reader.getframerate())


@dataclass(frozen=True)
class Narration:
    """One scene's speech: where its audio is stored and how long it lasts."""

    scene_id: str
    key: str
    seconds: float
    text: str
    data: bytes = field(default=b"", repr=False, compare=False)  # the WAV, so mixing never re-reads `key`


def narrate(
    scene_id: str, text: str, locale: str, tts: TTS, storage: Storage, clip: Path | None = None
) -> Narration:
    """Speech for a scene: the recorded `clip` when given, else TTS, cached in storage by content.

    The returned narration carries its WAV bytes: the render never needs the cached object again,
    so an erasure deleting it meanwhile (a personal narration) costs nothing but a later miss.
    """
    if clip is not None:
        data = clip.read_bytes()
        key = f"cache/narration/{content_key('clip', hashlib.sha256(data).hexdigest())}.wav"
    else:
        key = f"cache/narration/{content_key(tts.name, tts.voice(locale), text)}.wav"
        cached = read_cached(storage, key)
        if cached is not None:
            return Narration(scene_id, key, wav_seconds(cached), text, cached)
        data = tts.synthesize(text, locale)
    storage.put_if_absent(key, data, "audio/wav")
    return Narration(scene_id, key, wav_seconds(data), text, data)


Source = bytes | Path  # a narration's WAV bytes, or a file (a recorded clip, the music bed)


@dataclass(frozen=True)
class MixGraph:
    """The whole timeline's audio as one libavfilter graph: its inputs (the narrations in
    timeline order, then the music bed, which is looped forever and trimmed) and the graph's
    description (inputs read as ``[N:a]``, the result is ``[out]``)."""

    inputs: tuple[Source, ...]
    loop: int | None
    filters: str


def _voice_track(
    timed: list[TimedScene], narrations: Mapping[str, Source], total: float
) -> tuple[list[Source], list[str]]:
    """The narrations in timeline order (inputs 0, 1, ...) and the filters that delay each to
    its scene's start and mix them into ``[voice]``, exactly `total` seconds long; silence when
    nothing is narrated."""
    files: list[Source] = []
    filters = []
    for scene in timed:
        source = narrations.get(scene.scene.id)
        if source is None:
            continue
        index = len(files)
        files.append(source)
        delay = round(scene.start * 1000)
        filters.append(
            f"[{index}:a]aresample={SAMPLE_RATE},aformat=channel_layouts=mono,adelay={delay}:all=1[v{index}]"
        )
    if files:
        labels = "".join(f"[v{index}]" for index in range(len(files)))
        filters.append(f"{labels}amix=inputs={len(files)}:normalize=0,apad,atrim=0:{total:.3f}[voice]")
    else:
        filters.append(f"anullsrc=r={SAMPLE_RATE}:cl=mono,atrim=0:{total:.3f}[voice]")
    return files, filters


def _ducked_music(index: int, total: float) -> list[str]:
    """Filters that take the looped music bed (input `index`) to `total` seconds at MUSIC_LEVEL,
    fade it out over the last 2 s, duck it under ``[voice]`` and mix both into ``[mix]``."""
    fade_start = max(0.0, total - 2.0)
    return [
        f"[{index}:a]aresample={SAMPLE_RATE},aformat=channel_layouts=mono,volume={MUSIC_LEVEL},"
        f"atrim=0:{total:.3f},afade=t=out:st={fade_start:.3f}:d=2[music]",
        "[voice]asplit=2[voice1][key]",
        "[music][key]sidechaincompress=threshold=0.015:ratio=10:attack=60:release=400:makeup=1[ducked]",
        "[voice1][ducked]amix=inputs=2:normalize=0[mix]",
    ]


def mix_graph(
    timed: list[TimedScene],
    narrations: Mapping[str, Source],
    music: Path | None,
    total: float,
    *,
    normalize: bool = False,
) -> MixGraph:
    """The whole timeline's audio, `total` seconds of mono at SAMPLE_RATE (pure): narration at
    scene starts, the music bed looped and faded out, ducked under speech with smooth ramps. The
    last filter measures the mix's loudness and true peak (ebur128, as frame metadata) for
    `loudness_gain`; `normalize` would instead add single-pass loudnorm, which rides the gain."""
    files, filters = _voice_track(timed, narrations, total)
    loop = None
    if music is not None:
        loop = len(files)
        files.append(music)
        filters += _ducked_music(loop, total)
    else:
        filters.append("[voice]anull[mix]")
    loudness = f"loudnorm=I={LOUDNESS_LUFS}:TP={TRUE_PEAK_DB}:LRA=11," if normalize else ""
    # ebur128 measures integrated loudness and true peak at a third of loudnorm's cost
    filters.append(
        f"[mix]{loudness}aresample={SAMPLE_RATE},atrim=0:{total:.3f},ebur128=peak=true:metadata=1[out]"
    )
    return MixGraph(tuple(files), loop, ";".join(filters))


_SILENCE_LUFS = -70.0  # ebur128's absolute gate: nothing louder was heard


def loudness_gain(level: float, peak: float) -> str:
    """The filters (a constant gain, plus a true-peak limiter when needed) that bring a mix of
    integrated loudness `level` (LUFS) and true peak `peak` (dBFS) to -16 LUFS; empty for
    silence. A constant gain keeps the ducking and the narration's dynamics, which single-pass
    loudnorm would ride away."""
    if not (math.isfinite(level) and math.isfinite(peak)) or level <= _SILENCE_LUFS:
        return ""
    gain = LOUDNESS_LUFS - level
    chain = f"volume={gain:.2f}dB"
    if peak + gain > TRUE_PEAK_DB:
        chain += f",alimiter=limit={10 ** (TRUE_PEAK_DB / 20):.4f}:level=false"
    return chain
