"""On play: one piece of a recipient's stream rendered exactly once, wherever it is asked for.

A piece is the recipient's audio (every audio segment, from one mix), a scene's video segment
(``video:<k>``) or a scene's fallback (``fallback:<k>``). `render_piece` runs in an API render
process or a Celery worker: it plans the video from the data the render stored beside the page
(`PLAN_FILE`; nothing is encoded to plan), then renders the piece under a claim in the job store
(`single_flight.render_once`), so two tabs, two API processes and a campaign worker asking for
the same segment wait on one render. A stream whose page was erased meanwhile keeps nothing.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from renderer.cache import read_cached
from renderer.errors import RenderError, RenderTimeout, TailorError
from renderer.jobs.single_flight import render_once
from renderer.jobs.store import JobStore
from renderer.outputs.decided import replayed
from renderer.outputs.render import prepared_output
from renderer.outputs.template import Template
from renderer.outputs.video import cmaf, segments
from renderer.outputs.video.kind import VIDEO
from renderer.outputs.video.plan import PlannedVideo, VideoOptions, plan_video
from renderer.outputs.video.render import read_stream_decisions, read_stream_record
from renderer.outputs.video.scratch import scratch_space
from renderer.outputs.video.soundtrack import audio_segments, encode_soundtrack
from renderer.outputs.video.streaming import PLAN_FILE, StreamPlan
from renderer.outputs.video.tts import open_tts
from renderer.settings import Settings
from renderer.storage.base import Storage
from renderer.template.resolve import ResolvedSpec, resolve

AUDIO = "audio"
_MEMO_SIZE = 256


@dataclass(frozen=True)
class StreamSource:
    """What a recipient's render stored for its stream: the plan, and on play its data."""

    plan: StreamPlan
    data: dict[str, Any] | None
    digest: str = ""  # of the stored record: a new render of the recipient is a new source
    decided: dict[str, Any] | None = None  # the slots and variants the page was rendered with


def read_source(storage: Storage, folder: str) -> StreamSource | None:
    """The stream record beside the recipient's page, or None when there is none (no video, or
    erased)."""
    raw = read_cached(storage, folder + PLAN_FILE)
    if raw is None:
        return None
    plan, data = read_stream_record(raw)
    return StreamSource(plan, data, hashlib.sha256(raw).hexdigest(), read_stream_decisions(raw))


@dataclass(frozen=True)
class Planned:
    """An on-play stream planned in this process: the recipient's resolved spec and video plan."""

    spec: ResolvedSpec
    video: PlannedVideo


_MEMO: OrderedDict[tuple[int, str, str], Planned] = OrderedDict()
_MEMO_LOCK = threading.Lock()


def plan_on_play(
    template: Template, storage: Storage, folder: str, source: StreamSource, options: VideoOptions
) -> Planned:
    """The stream of an on-play render planned from its stored data with the template as it is
    now (resolved, narrated from the cache, timed; nothing encoded), kept per process for reuse."""
    if source.data is None:
        raise RenderError("this video was rendered whole: it has no data to render on play")
    memo_key = (id(template), folder, source.digest)
    with _MEMO_LOCK:
        if memo_key in _MEMO:
            _MEMO.move_to_end(memo_key)
            return _MEMO[memo_key]
    recipient = template.validator.validate(dict(source.data))
    spec = resolve(template, recipient, replayed(source.decided))
    personal = prepared_output(template, VIDEO).personal_scenes
    planned = Planned(spec, plan_video(template, spec, storage, options, personal, "on-play"))
    with _MEMO_LOCK:
        _MEMO[memo_key] = planned
        while len(_MEMO) > _MEMO_SIZE:
            _MEMO.popitem(last=False)
    return planned


def piece_key(plan: StreamPlan, folder: str, piece: str) -> str:
    """The storage key a piece is stored under (for the audio: its first segment, stored last)."""
    if piece == AUDIO:
        return folder + plan.audio_file(0)
    kind, _, index = piece.partition(":")
    scene = plan.scenes[int(index)]
    if kind == "video":
        return scene.segment
    if kind == "fallback" and scene.fallback:
        return scene.fallback
    raise RenderError(f"no stream piece {piece!r}")


def _produce(planned: Planned, storage: Storage, folder: str, piece: str, options: VideoOptions) -> bytes:
    video = planned.video
    if piece == AUDIO:
        pieces = audio_segments(video, encode_soundtrack(video, storage), storage)
        for k, data in enumerate(pieces[1:], start=1):  # the first one last: it marks them all done
            storage.put_if_absent(folder + video.plan.audio_file(k), data, "audio/iso.segment")
        return pieces[0]
    kind, _, number = piece.partition(":")
    timed = video.fallbacks[int(number)] if kind == "fallback" else video.timed[int(number)]
    mp4 = segments.encode_segment(timed, video.settings, video.open_asset, timeout_s=options.timeout_s)
    segments.ensure_init(storage, video.settings, mp4)
    return cmaf.video_fragment(mp4)


@dataclass(frozen=True)
class Rendered:
    """Where a piece is stored, and whether this call rendered it (else it found it stored, or
    waited for another process's render)."""

    key: str
    produced: bool


def render_piece(
    store: JobStore,
    storage: Storage,
    template: Template,
    folder: str,
    piece: str,
    options: VideoOptions,
    *,
    wait_s: float = 300.0,
) -> Rendered:
    """Render one piece of the on-play stream in `folder` once, store it, and say where; a piece
    stored already costs a lookup. Raises RenderError when the stream is gone (erased) or
    was rendered whole, RenderTimeout when another process's render of it takes over `wait_s`."""
    source = read_source(storage, folder)
    if source is None:
        raise RenderError("this stream is gone")
    planned = plan_on_play(template, storage, folder, source, options)
    key = piece_key(planned.video.plan, folder, piece)
    if storage.exists(key):
        return Rendered(key, False)
    scene = planned.video.plan.scenes[int(piece.partition(":")[2])] if piece != AUDIO else None
    what = "the audio" if scene is None else f"scene {scene.id}"
    produced = []

    def produce() -> bytes:
        produced.append(piece)
        return _produce(planned, storage, folder, piece, options)

    with scratch_space():
        render_once(
            store,
            storage,
            key,
            produce,
            "audio/iso.segment" if scene is None else "video/iso.segment",
            wait_s=wait_s,
            what=what,
        )
    if not storage.exists(folder + PLAN_FILE):  # erased while rendering: keep nothing personal
        storage.delete_prefix(folder)
        if piece.startswith("video:") and scene is not None and scene.personal:
            storage.delete(key)  # a fallback is shared: it stays
        raise RenderError("this stream is gone")
    return Rendered(key, bool(produced))


def run_stream_piece(settings: Settings, template_name: str, folder: str, piece: str) -> bool:
    """Render one on-play piece in this worker process (an API stream process or a Celery
    worker), with its store, storage and templates; whether this call rendered it. Errors come back as plain
    RenderErrors naming the piece's kind, never a value."""
    from renderer.jobs.tasks import worker_context

    context = worker_context(settings)
    options = context.options
    video = VideoOptions(open_tts(options.tts_engine), options.video_timeout_s, options.video_preset)
    try:
        template = context.template(template_name)
        return render_piece(context.store, context.storage, template, folder, piece, video).produced
    except RenderTimeout as exc:
        raise RenderTimeout(str(exc)) from None
    except TailorError as exc:
        raise RenderError(str(exc)) from None
    except Exception as exc:  # a bug: its type, never its message (it may hold a value)
        raise RenderError(f"on-play {piece.partition(':')[0]}: unexpected {type(exc).__name__}") from None


def warm_stream_process(settings: Settings, template_names: list[str]) -> None:
    """Load this process's worker context and the templates that have a video, and import the
    encoder's libraries (a broken template shows up on its first real request instead)."""
    from renderer.jobs.tasks import worker_context

    context = worker_context(settings)
    for name in template_names:
        try:
            template = context.template(name)
            if template.manifest.outputs.video is not None:
                prepared_output(template, VIDEO)
        except TailorError:
            continue
