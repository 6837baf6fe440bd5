"""A recipient's soundtrack mixed, measured and encoded in this process (libavfilter and the AAC
encoder through PyAV): the filter graph `audio.mix_graph` describes, run without a process
start, a WAV written between passes, or a decode of that WAV.

`mix(graph, total)` -> the mix (mono float samples at `audio.SAMPLE_RATE`) with the loudness
ebur128 measured of it; `encode_aac(mix, bitrate)` -> the AAC-LC MP4 the video muxes and the
stream cuts, brought to -16 LUFS by `audio.loudness_gain` (and limited when it would clip).
"""

from __future__ import annotations

import io
import itertools
import re
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import av
import numpy as np

from renderer.errors import RenderError
from renderer.outputs.video import audio, cmaf

RATE = audio.SAMPLE_RATE
_CHAIN = re.compile(r"^((?:\[[^\]]+\])*)(.*?)((?:\[[^\]]+\])*)$")  # [in][in2]f=a,g=b[out]
_LABEL = re.compile(r"\[([^\]]+)\]")
_INPUT = re.compile(r"^(\d+):a$")


@dataclass(frozen=True)
class Mix:
    """The mixed soundtrack and what ebur128 measured of it."""

    samples: np.ndarray  # float64, mono, RATE a second
    loudness: float  # integrated, LUFS (-inf for silence)
    peak: float  # true peak, dBFS (-inf for silence)


def _frames(source: audio.Source, loop_seconds: float = 0.0) -> Iterator[av.AudioFrame]:
    """The decoded audio of `source`, timestamps counted in its samples; with `loop_seconds`,
    decoded again from the start until that much audio is out."""
    position = 0
    while True:
        with cmaf.open_media(source) as container:
            for frame in container.decode(container.streams.audio[0]):
                frame.pts, frame.time_base = position, Fraction(1, frame.sample_rate)
                position += frame.samples
                yield frame
                if loop_seconds and position >= loop_seconds * frame.sample_rate:
                    return
        if not loop_seconds or position == 0:
            return


def _add(graph: av.filter.Graph, spec: str) -> Any:
    name, _, args = spec.partition("=")
    return graph.add(name, args or None)


class _Builder:
    """Builds a PyAV graph from a libavfilter description (``;`` chains of ``,`` filters with
    ``[label]`` pads): labels ``N:a`` are inputs, ``out`` the sink; every other label links the
    chain that makes it to the one that reads it (made before read, as `mix_graph` writes)."""

    def __init__(self, graph: av.filter.Graph, inputs: tuple[audio.Source, ...]) -> None:
        self.graph, self.inputs = graph, inputs
        self.sources: dict[int, Any] = {}
        self.pads: dict[str, tuple[Any, int]] = {}
        self.sink = graph.add("abuffersink")

    def _source(self, index: int) -> Any:
        with cmaf.open_media(self.inputs[index]) as container:
            stream = container.streams.audio[0]
            node = self.graph.add_abuffer(
                format=stream.format.name, sample_rate=stream.sample_rate, layout=stream.layout.name,
                time_base=Fraction(1, stream.sample_rate),
            )  # fmt: skip
        self.sources[index] = node
        return node

    def chain(self, text: str) -> None:
        found = _CHAIN.match(text)
        if found is None or not found.group(2):
            raise RenderError("the audio mix has a malformed filter chain")
        nodes = [_add(self.graph, spec) for spec in found.group(2).split(",")]
        for left, right in itertools.pairwise(nodes):
            left.link_to(right)
        for pad, label in enumerate(_LABEL.findall(found.group(1))):
            numbered = _INPUT.match(label)
            node, out = (self._source(int(numbered.group(1))), 0) if numbered else self.pads.pop(label)
            node.link_to(nodes[0], out, pad)
        for pad, label in enumerate(_LABEL.findall(found.group(3))):
            if label == "out":
                nodes[-1].link_to(self.sink, pad, 0)
            else:
                self.pads[label] = (nodes[-1], pad)


def _drain(sink: Any) -> list[av.AudioFrame]:
    frames = []
    while True:
        try:
            frames.append(sink.pull())
        except (av.BlockingIOError, av.EOFError):
            return frames


def mix(graph: audio.MixGraph, total: float) -> Mix:
    """Run `graph` (`audio.mix_graph`) over its inputs: `total` seconds of mono samples at
    RATE, with ebur128's integrated loudness and true peak. RenderError naming the mix (never a
    file of a recipient) when an input cannot be decoded."""
    filters = av.filter.Graph()
    builder = _Builder(filters, graph.inputs)
    try:
        for text in graph.filters.split(";"):
            builder.chain(text)
        filters.configure()
        for index, node in sorted(builder.sources.items()):
            looped = total + 1.0 if index == graph.loop else 0.0
            for frame in _frames(graph.inputs[index], looped):
                node.push(frame)
            node.push(None)
        frames = _drain(builder.sink)
    except (av.FFmpegError, KeyError, ValueError) as exc:
        raise RenderError(f"mixing audio failed: {type(exc).__name__}") from None
    if not frames:
        raise RenderError("mixing audio gave no samples")
    samples = np.concatenate([frame.to_ndarray().reshape(-1) for frame in frames]).astype(np.float64)
    last = dict(frames[-1].metadata)
    peaks = [float(v) for k, v in last.items() if k.startswith("lavfi.r128.true_peaks_ch")]
    peak = max(peaks, default=0.0)
    loudness = float(last.get("lavfi.r128.I", "-inf"))
    return Mix(samples, loudness, float(20 * np.log10(peak)) if peak > 0 else float("-inf"))


def _gained(mix: Mix) -> list[av.AudioFrame]:
    """The mix through `audio.loudness_gain`'s filters, as 1024-sample float planar frames."""
    graph = av.filter.Graph()
    source = graph.add_abuffer(format="dbl", sample_rate=RATE, layout="mono", time_base=Fraction(1, RATE))
    specs = [
        *filter(None, audio.loudness_gain(mix.loudness, mix.peak).split(",")),
        "aformat=sample_fmts=fltp",
    ]
    nodes = [source, *(_add(graph, spec) for spec in specs), graph.add("abuffersink")]
    for left, right in itertools.pairwise(nodes):
        left.link_to(right)
    graph.configure()
    graph.set_audio_frame_size(1024)  # one AAC frame each
    frame = av.AudioFrame.from_ndarray(mix.samples.reshape(1, -1), format="dbl", layout="mono")
    frame.sample_rate, frame.pts, frame.time_base = RATE, 0, Fraction(1, RATE)
    source.push(frame)
    source.push(None)
    return _drain(nodes[-1])


def encode_aac(mix: Mix, bitrate: int) -> bytes:
    """The mix at -16 LUFS (`audio.loudness_gain`) as AAC-LC (the fast coder: half the CPU of the
    default for mono speech and music) in an MP4 without metadata: the one encode both the MP4
    and the stream's audio segments are cut from."""
    out = io.BytesIO()
    try:
        with av.open(out, "w", format="mp4", options={"fflags": "+bitexact"}) as container:
            stream = container.add_stream("aac", rate=RATE, layout="mono")
            stream.bit_rate = bitrate
            stream.codec_context.options = {"aac_coder": "fast"}
            for frame in _gained(mix):
                container.mux(stream.encode(frame))
            container.mux(stream.encode(None))
    except av.FFmpegError as exc:
        raise RenderError(f"encoding audio failed: {type(exc).__name__}") from None
    return out.getvalue()
