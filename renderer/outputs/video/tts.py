"""Text to speech: a small Protocol and its engines, chosen by settings (`TAILOR_TTS_ENGINE`).

`EspeakTTS` (offline, Debian espeak-ng, the default), `PollyTTS` (AWS Polly through boto3) and
`FakeTTS` (for tests and previews: a deterministic tone as long as the words would take, made in
process). Every engine returns a whole WAV file; narration caching lives in `audio`.
"""

from __future__ import annotations

import functools
import io
import math
import sys
import threading
import wave
from array import array
from dataclasses import dataclass
from typing import Protocol

from renderer.errors import RenderError
from renderer.outputs.video import ffmpeg
from renderer.template.locale import parse_locale


class TTS(Protocol):
    """Turns text into speech (WAV bytes) in a locale's voice."""

    name: str

    def voice(self, locale: str) -> str:
        """The engine's voice for `locale`."""
        ...

    def synthesize(self, text: str, locale: str) -> bytes:
        """WAV bytes of `text` spoken in `locale`; raises RenderError on failure."""
        ...


def pcm_wav(pcm: bytes, rate: int) -> bytes:
    """Mono 16-bit little-endian samples `pcm` wrapped in a WAV header that states their length."""
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(pcm)
    return buffer.getvalue()


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
        return pcm_wav(response["AudioStream"].read(), 16000)


@dataclass(frozen=True)
class SpeechRequest:
    """One `FakeTTS.synthesize` call: the text and locale it was asked to speak."""

    text: str
    locale: str


class FakeTTS:
    """Speech for tests and previews, in the manner of httpx's MockTransport: no subprocess, no
    network, the same bytes for the same text every time.

    `synthesize` returns a valid mono 16-bit WAV holding a quiet sine tone (speech-like to the mix:
    it ducks the music and has a loudness) lasting `seconds_per_word` per word of the text, at
    least one word's worth. Every request is recorded, in order, in `calls` (thread-safe). Its
    voices are named ``fake-<language>``, so its narrations never share a cache key with a real
    engine's.
    """

    name = "fake"

    def __init__(
        self,
        seconds_per_word: float = 0.4,
        *,
        sample_rate: int = 16_000,
        tone_hz: float = 250.0,
        level: float = 0.1,
    ) -> None:
        self.seconds_per_word = seconds_per_word
        self.sample_rate = sample_rate
        self.calls: list[SpeechRequest] = []
        self._lock = threading.Lock()
        period = max(2, round(sample_rate / tone_hz))  # whole samples per cycle: repeat one cycle
        amplitude = level * 32767
        self._cycle = array(
            "h", (round(amplitude * math.sin(2 * math.pi * i / period)) for i in range(period))
        )

    def voice(self, locale: str) -> str:
        """``fake-<language>`` for the locale's language."""
        return f"fake-{parse_locale(locale).language}"

    def seconds(self, text: str) -> float:
        """How long `synthesize(text, ...)` lasts, to the sample: words x seconds_per_word (one
        word at least)."""
        return self._samples(text) / self.sample_rate

    def _samples(self, text: str) -> int:
        return round(max(1, len(text.split())) * self.seconds_per_word * self.sample_rate)

    def synthesize(self, text: str, locale: str) -> bytes:
        """A WAV of `seconds(text)` of tone; records the request in `calls`."""
        with self._lock:
            self.calls.append(SpeechRequest(text, locale))
        count = self._samples(text)
        repeats = -(-count // len(self._cycle))
        samples = (self._cycle * repeats)[:count]  # a copy: swapping it leaves the cycle alone
        if sys.byteorder == "big":
            samples.byteswap()  # WAV samples are little-endian
        return pcm_wav(samples.tobytes(), self.sample_rate)


@functools.lru_cache(maxsize=4)
def open_tts(engine: str) -> TTS:
    """The TTS engine named by settings: 'espeak' (default, offline), 'polly', or 'fake' (tests and
    previews); one per process (a Polly client is costly to build and safe to share between
    threads), so the fake's `calls` gather every request of the process."""
    if engine == "espeak":
        return EspeakTTS()
    if engine == "polly":
        return PollyTTS()
    if engine == "fake":
        return FakeTTS()
    raise RenderError(f"unknown TTS engine {engine!r} (use espeak, polly or fake)")
