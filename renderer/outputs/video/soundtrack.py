"""A recipient's soundtrack, encoded once: the narrations and music mixed, brought to -16 LUFS,
encoded to AAC; then the MP4 muxes it as it is and the stream cuts it into one audio segment
per scene (`cmaf.audio_fragments`)."""

from __future__ import annotations

from pathlib import Path

from renderer.outputs.video import audio, cmaf, ffmpeg
from renderer.outputs.video.plan import PlannedVideo
from renderer.outputs.video.streaming import AUDIO_BITRATE
from renderer.storage.base import Storage


def encode_soundtrack(planned: PlannedVideo, storage: Storage, folder: Path, *, timeout_s: float) -> Path:
    """Mix the recipient's narrations and music (measuring loudness in the same pass), then
    encode the mix to AAC with the gain that brings it to -16 LUFS: ``soundtrack.m4a`` in
    `folder`, exactly the video's length."""
    voice_files: dict[str, Path] = {}
    for scene_id, narration in planned.narrations.items():
        path = folder / f"voice-{len(voice_files):03d}.wav"
        path.write_bytes(narration.data or storage.get(narration.key))
        voice_files[scene_id] = path
    mixed = folder / "mix.wav"
    mix = audio.mix_args(planned.timed, voice_files, planned.music, planned.seconds, mixed)
    report = ffmpeg.run(mix, timeout_s=timeout_s, what="mixing audio", stderr=True)
    gain = audio.loudness_filter(report.decode("utf-8", "replace"))
    encoded = folder / "soundtrack.m4a"
    args = ffmpeg.aac_args(mixed, encoded, gain, AUDIO_BITRATE)
    ffmpeg.run(args, timeout_s=timeout_s, what="encoding audio")
    return encoded


def audio_segments(planned: PlannedVideo, soundtrack: bytes, storage: Storage) -> list[bytes]:
    """The soundtrack cut into one CMAF audio segment per scene (and the shared audio init
    segment stored if it is not yet)."""
    if not storage.exists(planned.plan.audio_init):
        storage.put_if_absent(planned.plan.audio_init, cmaf.init_segment(soundtrack), "audio/mp4")
    return cmaf.audio_fragments(soundtrack, planned.plan.starts)
