"""A recipient's soundtrack, encoded once: the narrations and music mixed, brought to -16 LUFS,
encoded to AAC; then the MP4 muxes it as it is and the stream cuts it into one audio segment
per scene (`cmaf.audio_fragments`)."""

from __future__ import annotations

from renderer.outputs.video import audio, cmaf, mixdown
from renderer.outputs.video.plan import PlannedVideo
from renderer.outputs.video.streaming import AUDIO_BITRATE
from renderer.storage.base import Storage


def encode_soundtrack(planned: PlannedVideo, storage: Storage) -> bytes:
    """Mix the recipient's narrations and music (measuring loudness in the same pass), then
    encode the mix to AAC with the gain that brings it to -16 LUFS: an MP4 with one AAC track,
    exactly the video's length. All in this process (`mixdown`)."""
    voices = {
        scene_id: narration.data or storage.get(narration.key)
        for scene_id, narration in planned.narrations.items()
    }
    graph = audio.mix_graph(planned.timed, voices, planned.music, planned.seconds)
    return mixdown.encode_aac(mixdown.mix(graph, planned.seconds), AUDIO_BITRATE)


def audio_segments(planned: PlannedVideo, soundtrack: bytes, storage: Storage) -> list[bytes]:
    """The soundtrack cut into one CMAF audio segment per scene (and the shared audio init
    segment stored if it is not yet)."""
    if not storage.exists(planned.plan.audio_init):
        storage.put_if_absent(planned.plan.audio_init, cmaf.init_segment(soundtrack), "audio/mp4")
    return cmaf.audio_fragments(soundtrack, planned.plan.starts)
