"""TTS engines (renderer/outputs/video/tts.py), pure: the fake's WAV and its record of requests,
voices, and the engine chosen by settings. espeak-ng's real speech is heard in test_video.py."""

from __future__ import annotations

import io
import wave
from array import array
from concurrent.futures import ThreadPoolExecutor

import pytest
from pydantic import ValidationError

from renderer.errors import RenderError
from renderer.outputs.video.tts import EspeakTTS, FakeTTS, SpeechRequest, open_tts
from renderer.settings import Settings


def _read(data: bytes) -> tuple[wave._wave_params, array[int]]:
    with wave.open(io.BytesIO(data)) as reader:
        params = reader.getparams()
        samples = array("h", reader.readframes(params.nframes))
    return params, samples


def test_the_fake_makes_a_mono_16_bit_wav_as_long_as_its_words() -> None:
    tts = FakeTTS(0.25, sample_rate=8_000)
    params, samples = _read(tts.synthesize("one two  three\nfour", "en-US"))
    assert (params.nchannels, params.sampwidth, params.framerate) == (1, 2, 8_000)
    assert params.nframes == len(samples) == 8_000, "four words at 0.25 s"
    assert tts.seconds("one two  three\nfour") == 1.0
    assert _read(tts.synthesize("", "en-US"))[0].nframes == 2_000, "one word's worth at least"


def test_the_fake_is_a_quiet_tone_and_the_same_every_time() -> None:
    tts = FakeTTS()
    data = tts.synthesize("Hello there", "en-US")
    _, samples = _read(data)
    assert 0.09 * 32767 < max(samples) <= round(0.1 * 32767) and min(samples) < 0, (
        "audible, far below full scale"
    )
    assert tts.synthesize("Hello there", "en-US") == data == FakeTTS().synthesize("Hello there", "de-DE")


def test_the_fake_records_every_request_in_order_even_from_threads() -> None:
    tts = FakeTTS()
    tts.synthesize("Hi Emily!", "en-US")
    tts.synthesize("Hallo Emily!", "de-DE")
    assert tts.calls == [SpeechRequest("Hi Emily!", "en-US"), SpeechRequest("Hallo Emily!", "de-DE")]
    texts = [f"line {n}" for n in range(40)]
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(lambda text: tts.synthesize(text, "en-US"), texts))
    assert sorted(call.text for call in tts.calls[2:]) == sorted(texts)


def test_voices_follow_the_locale_language() -> None:
    assert FakeTTS().voice("de-DE") == "fake-de" and FakeTTS().voice("fa_IR") == "fake-fa"
    assert EspeakTTS().voice("de-DE") == "de" and EspeakTTS().voice("ja-JP") == "en-us", "English fallback"


def test_settings_choose_the_engine() -> None:
    assert Settings(tts_engine="fake").tts_engine == "fake"
    with pytest.raises(ValidationError):
        Settings(tts_engine="festival")
    fake = open_tts("fake")
    assert isinstance(fake, FakeTTS) and open_tts("fake") is fake, "one per process"
    assert isinstance(open_tts("espeak"), EspeakTTS)
    with pytest.raises(RenderError, match="use espeak, polly or fake"):
        open_tts("festival")
