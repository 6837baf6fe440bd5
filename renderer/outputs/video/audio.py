"""Sound: narration (TTS or a recorded clip chosen by data), the music bed, ducking, loudness,
and captions (WebVTT, SRT) from the narration text and its timing.

TTS engines are a small Protocol: `EspeakTTS` (offline, Debian espeak-ng, the default) and
`PollyTTS` (AWS Polly through boto3, chosen by settings). Each narration is synthesised once per
distinct (engine, voice, text) and kept in storage like segments are.
"""

from __future__ import annotations

import functools
import hashlib
import io
import math
import re
import wave
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from renderer.cache import content_key, read_cached
from renderer.errors import RenderError
from renderer.outputs.video import ffmpeg
from renderer.outputs.video.scenes import TimedScene
from renderer.storage.base import Storage
from renderer.template.locale import parse_locale

SAMPLE_RATE = 24_000
LOUDNESS_LUFS = -16.0
TRUE_PEAK_DB = -1.5
MUSIC_LEVEL = 0.35


class TTS(Protocol):
    """Turns text into speech (WAV bytes) in a locale's voice."""

    name: str

    def voice(self, locale: str) -> str:
        """The engine's voice for `locale`."""
        ...

    def synthesize(self, text: str, locale: str) -> bytes:
        """WAV bytes of `text` spoken in `locale`; raises RenderError on failure."""
        ...


ESPEAK_VOICES = {
    "en": "en-us",
    "de": "de",
    "it": "it",
    "tr": "tr",
    "id": "id",
    "fa": "fa",
    "ar": "ar",
    "hi": "hi",
}


class EspeakTTS:
    """Offline speech with espeak-ng (Debian package); the text goes in on stdin, never argv."""

    name = "espeak-ng"

    def __init__(self, rate_wpm: int = 165, timeout_s: float = 30.0) -> None:
        self.rate = rate_wpm
        self.timeout_s = timeout_s

    def voice(self, locale: str) -> str:
        """espeak-ng's voice for the locale's language (English when it has none)."""
        return ESPEAK_VOICES.get(parse_locale(locale).language, "en-us")

    def synthesize(self, text: str, locale: str) -> bytes:
        """WAV bytes from espeak-ng, with a header that gives the true length."""
        command = ["espeak-ng", "-v", self.voice(locale), "-s", str(self.rate), "--stdout", "--stdin"]
        streamed = ffmpeg.run_tool(
            command, timeout_s=self.timeout_s, stdin=text.encode("utf-8"), what="speech synthesis"
        )
        return _rewrap_wav(streamed)


def _rewrap_wav(data: bytes) -> bytes:
    """The same samples under a correct header: espeak-ng streams one claiming ~1 GB of samples,
    which decoders report as a corrupt packet."""
    with wave.open(io.BytesIO(data)) as reader:
        params = reader.getparams()
        samples = reader.readframes(reader.getnframes())
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setparams(params)
        out.writeframes(samples)
    return buffer.getvalue()


POLLY_VOICES = {"en": "Joanna", "de": "Vicki", "it": "Bianca", "tr": "Filiz", "fa": "Zeina", "id": "Joanna"}


class PollyTTS:
    """AWS Polly through boto3 (optional; select with TAILOR_TTS_ENGINE=polly)."""

    name = "polly"

    def __init__(self, region: str | None = None) -> None:
        import boto3

        self.client = boto3.client("polly", region_name=region)

    def voice(self, locale: str) -> str:
        """Polly's voice id for the locale's language."""
        return POLLY_VOICES.get(parse_locale(locale).language, "Joanna")

    def synthesize(self, text: str, locale: str) -> bytes:
        """WAV bytes (16-bit PCM wrapped in a WAV header) from Polly."""
        response = self.client.synthesize_speech(
            Text=text, VoiceId=self.voice(locale), OutputFormat="pcm", SampleRate="16000"
        )
        pcm = response["AudioStream"].read()
        buffer = io.BytesIO()
        with wave.open(buffer, "wb") as out:
            out.setnchannels(1)
            out.setsampwidth(2)
            out.setframerate(16000)
            out.writeframes(pcm)
        return buffer.getvalue()


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


def mix_args(
    timed: list[TimedScene],
    narrations: Mapping[str, Path],
    music: Path | None,
    total: float,
    output: Path,
    *,
    normalize: bool = False,
) -> list[str]:
    """ffmpeg arguments for the whole timeline's audio: narration at scene starts, the music bed
    looped and faded out, ducked under speech with smooth ramps. The same pass measures the mix's
    loudness (its JSON report goes to stderr) for `loudness_filter`; `normalize` would instead add
    single-pass loudnorm, which rides the gain."""
    args = ["-hide_banner", "-loglevel", "info", "-nostats", "-nostdin", "-y"]  # info: the loudness report
    filters = []
    voices = []
    index = 0
    for scene in timed:
        path = narrations.get(scene.scene.id)
        if path is None:
            continue
        args += ["-i", str(path)]
        delay = round(scene.start * 1000)
        filters.append(
            f"[{index}:a]aresample={SAMPLE_RATE},aformat=channel_layouts=mono,adelay={delay}:all=1[v{index}]"
        )
        voices.append(f"[v{index}]")
        index += 1
    if voices:
        filters.append(
            f"{''.join(voices)}amix=inputs={len(voices)}:normalize=0,apad,atrim=0:{total:.3f}[voice]"
        )
    else:
        filters.append(f"anullsrc=r={SAMPLE_RATE}:cl=mono,atrim=0:{total:.3f}[voice]")
    if music is not None:
        args += ["-stream_loop", "-1", "-i", str(music)]
        fade_start = max(0.0, total - 2.0)
        filters.append(
            f"[{index}:a]aresample={SAMPLE_RATE},aformat=channel_layouts=mono,volume={MUSIC_LEVEL},"
            f"atrim=0:{total:.3f},afade=t=out:st={fade_start:.3f}:d=2[music]"
        )
        filters.append("[voice]asplit=2[voice1][key]")
        filters.append(
            "[music][key]sidechaincompress=threshold=0.015:ratio=10:attack=60:release=400:makeup=1[ducked]"
        )
        filters.append("[voice1][ducked]amix=inputs=2:normalize=0[mix]")
    else:
        filters.append("[voice]anull[mix]")
    loudness = f"loudnorm=I={LOUDNESS_LUFS}:TP={TRUE_PEAK_DB}:LRA=11," if normalize else ""
    filters.append(f"[mix]{loudness}aresample={SAMPLE_RATE},atrim=0:{total:.3f},asplit=2[out][probe]")
    # ebur128 measures integrated loudness and true peak at a third of loudnorm's cost
    filters.append("[probe]ebur128=peak=true:framelog=verbose,anullsink")
    args += [
        "-filter_complex",
        ";".join(filters),
        "-map",
        "[out]",
        "-ac",
        "1",
        "-ar",
        str(SAMPLE_RATE),
        str(output),
    ]
    return args  # the loudness of the mix is measured in the same pass: run with stderr=True


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


# ---- captions ------------------------------------------------------------------------------

_SENTENCE = re.compile(r"(?<=[.!?؟。])\s+")


@dataclass(frozen=True)
class Cue:
    """One caption: start and end in seconds, and its text."""

    start: float
    end: float
    text: str


def caption_cues(timed: list[TimedScene], narrations: Mapping[str, Narration]) -> list[Cue]:
    """Cues per sentence of each narration, timed in proportion to their length within the speech."""
    cues = []
    for scene in timed:
        narration = narrations.get(scene.scene.id)
        if narration is None or not narration.text:
            continue
        sentences = [s for s in _SENTENCE.split(narration.text) if s.strip()]
        total_chars = sum(len(s) for s in sentences) or 1
        start = scene.start
        for sentence in sentences:
            length = narration.seconds * len(sentence) / total_chars
            cues.append(Cue(round(start, 3), round(start + length, 3), sentence.strip()))
            start += length
    return cues


def _stamp(seconds: float, separator: str) -> str:
    millis = round(seconds * 1000)
    hours, millis = divmod(millis, 3_600_000)
    minutes, millis = divmod(millis, 60_000)
    secs, millis = divmod(millis, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}{separator}{millis:03d}"


def webvtt(cues: list[Cue]) -> str:
    """Captions as WebVTT."""
    blocks = ["WEBVTT", ""]
    for cue in cues:
        text = cue.text.replace("-->", "->")
        blocks += [f"{_stamp(cue.start, '.')} --> {_stamp(cue.end, '.')}", text, ""]
    return "\n".join(blocks)


def srt(cues: list[Cue]) -> str:
    """Captions as SRT."""
    blocks = []
    for number, cue in enumerate(cues, start=1):
        text = cue.text.replace("-->", "->")
        blocks += [str(number), f"{_stamp(cue.start, ',')} --> {_stamp(cue.end, ',')}", text, ""]
    return "\n".join(blocks)


@functools.lru_cache(maxsize=4)
def open_tts(engine: str) -> TTS:
    """The TTS engine named by settings: 'espeak' (default, offline) or 'polly'; one per process
    (a Polly client is costly to build and safe to share between threads)."""
    if engine == "espeak":
        return EspeakTTS()
    if engine == "polly":
        return PollyTTS()
    raise RenderError(f"unknown TTS engine {engine!r} (use espeak or polly)")
