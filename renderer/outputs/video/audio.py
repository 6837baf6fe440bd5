"""Sound: narration (TTS or a recorded clip chosen by data), the music bed, ducking and loudness.

Each narration is synthesised once per distinct (engine, voice, text) and kept in storage like
segments are. The engines are in `tts`, captions in `captions`.
"""

from __future__ import annotations

import hashlib
import io
import math
import re
import wave
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from renderer.cache import content_key, read_cached
from renderer.errors import RenderError
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


def _voice_track(
    timed: list[TimedScene], narrations: Mapping[str, Path], total: float
) -> tuple[list[Path], list[str]]:
    """The narration files in timeline order (ffmpeg inputs 0, 1, ...) and the filters that delay
    each to its scene's start and mix them into ``[voice]``, exactly `total` seconds long;
    silence when nothing is narrated."""
    files: list[Path] = []
    filters = []
    for scene in timed:
        path = narrations.get(scene.scene.id)
        if path is None:
            continue
        index = len(files)
        files.append(path)
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


def mix_args(
    timed: list[TimedScene],
    narrations: Mapping[str, Path],
    music: Path | None,
    total: float,
    output: Path,
    *,
    normalize: bool = False,
) -> list[str]:
    """ffmpeg arguments for the whole timeline's audio, `total` seconds of mono at SAMPLE_RATE into
    `output`: narration at scene starts, the music bed looped and faded out, ducked under speech
    with smooth ramps. The same pass measures the mix's loudness (ebur128's summary goes to stderr:
    run with stderr=True) for `loudness_filter`; `normalize` would instead add single-pass
    loudnorm, which rides the gain."""
    args = ["-hide_banner", "-loglevel", "info", "-nostats", "-nostdin", "-y"]  # info: the loudness report
    files, filters = _voice_track(timed, narrations, total)
    for path in files:
        args += ["-i", str(path)]
    if music is not None:
        args += ["-stream_loop", "-1", "-i", str(music)]
        filters += _ducked_music(len(files), total)
    else:
        filters.append("[voice]anull[mix]")
    loudness = f"loudnorm=I={LOUDNESS_LUFS}:TP={TRUE_PEAK_DB}:LRA=11," if normalize else ""
    filters.append(f"[mix]{loudness}aresample={SAMPLE_RATE},atrim=0:{total:.3f},asplit=2[out][probe]")
    # ebur128 measures integrated loudness and true peak at a third of loudnorm's cost
    filters.append("[probe]ebur128=peak=true:framelog=verbose,anullsink")
    output_options = ["-map", "[out]", "-ac", "1", "-ar", str(SAMPLE_RATE), str(output)]
    return [*args, "-filter_complex", ";".join(filters), *output_options]


_SUMMARY = re.compile(
    r"Summary:\s+Integrated loudness:\s+I:\s+(-?[\d.]+|-inf) LUFS.*?Peak:\s+(-?[\d.]+|-inf) dBFS", re.S
)
_SILENCE_LUFS = -70.0  # ebur128's absolute gate: nothing louder was heard


def loudness_filter(report: str) -> str:
    """The constant gain (plus a true-peak limiter when needed) that brings a mix measured by
    ebur128's summary in `report` to -16 LUFS; empty for silence. A constant gain keeps the ducking
    and the narration's dynamics, which single-pass loudnorm would ride away."""
    found = _SUMMARY.findall(report)
    if not found:
        raise RenderError("measuring loudness gave no report")
    # ffmpeg may configure the filter graph twice; the last summary is the one that heard the mix
    level, peak = float(found[-1][0]), float(found[-1][1])
    if not (math.isfinite(level) and math.isfinite(peak)) or level <= _SILENCE_LUFS:
        return ""
    gain = LOUDNESS_LUFS - level
    chain = f"volume={gain:.2f}dB"
    if peak + gain > TRUE_PEAK_DB:
        chain += f",alimiter=limit={10 ** (TRUE_PEAK_DB / 20):.4f}:level=false"
    return chain
