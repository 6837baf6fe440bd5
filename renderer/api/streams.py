"""The on-play side of the API: plan a recipient's stream, start the pieces a player is about to
need, wait for one under the deadline, and fall back when a personal scene is late.

A piece is rendered in this app's stream processes (`stream_workers`) or, with a broker, by
Celery workers on the on-play queue, ahead of campaign chunks; either way `render_piece` renders
it once across processes. This process asks once per piece (`_asked`) and then watches storage,
so ten requests for one segment cost one render and ten cheap lookups.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from concurrent.futures import Future
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from starlette.concurrency import run_in_threadpool

from renderer.api.errors import ApiError
from renderer.api.render_pool import RenderPool
from renderer.errors import TailorError
from renderer.jobs.onplay import AUDIO, StreamSource, piece_key, plan_on_play, read_source
from renderer.outputs.video.plan import VideoOptions
from renderer.outputs.video.streaming import StreamPlan, stored_key
from renderer.outputs.video.tts import open_tts

if TYPE_CHECKING:
    from renderer.api.state import ApiState

log = logging.getLogger("tailor.api")
POLL_S = 0.02
_ASK_AGAIN_S = 30.0  # a piece asked for this long ago and still missing is asked for again
_RETRY_FAILED_S = 5.0  # a piece whose render failed here is not asked for again sooner


@dataclass(frozen=True)
class Stream:
    """A recipient's stream as the API sees it: where it lives, its source and its plan."""

    template: str
    folder: str
    source: StreamSource
    plan: StreamPlan

    @property
    def on_play(self) -> bool:
        """Whether segments may still have to be rendered (else all were rendered eagerly)."""
        return self.source.data is not None


def _key(stream: Stream, piece: str) -> str:
    """The storage key holding `piece` of `stream` (the cached segment, or the folder's own)."""
    return stored_key(stream.folder, piece_key(stream.plan, stream.folder, piece))


class StreamService:
    """Plans streams and gets their pieces rendered; one per app, thread-safe."""

    def __init__(self, state: ApiState) -> None:
        self.state = state
        self.pool = RenderPool(state.settings.stream_workers, "stream")
        self._asked: dict[str, float] = {}  # key -> when this process asked for its render
        self._failed: dict[str, float] = {}  # key -> when its render here failed
        self._lock = threading.Lock()
        self._options: VideoOptions | None = None
        self._warmed = False

    def warm(self) -> None:
        """Start and warm the stream processes once, in the background (a no-op with a broker,
        or after the first call): the app calls it when it serves a recipient's page, which comes
        seconds before a play, so the first segment does not wait for a process to start."""
        with self._lock:
            if self._warmed or self.state.settings.broker_url:
                return
            self._warmed = True
        from renderer.api.render_pool import warm_stream_worker

        self.pool.warm(self.state.settings, self.state.template_names(), warm_stream_worker)

    def options(self) -> VideoOptions:
        """How on-play pieces are rendered (the app's video settings)."""
        if self._options is None:
            s = self.state.settings
            self._options = VideoOptions(open_tts(s.tts_engine), s.video_timeout_s, s.video_preset)
        return self._options

    async def stream(self, template: str, folder: str) -> Stream:
        """The stream of the recipient in `folder`: ApiError 404 when it has none (no video, or
        erased), 503 when it cannot be planned now."""
        return await run_in_threadpool(self._stream, template, folder)

    def _stream(self, template_name: str, folder: str) -> Stream:
        storage = self.state.storage()
        source = read_source(storage, folder)
        if source is None:
            raise ApiError(404, "not_found", "no such file")
        if source.data is None:
            return Stream(template_name, folder, source, source.plan)
        template = self.state.template(template_name)
        try:
            planned = plan_on_play(template, storage, folder, source, self.options())
        except TailorError as exc:
            log.warning("planning an on-play stream of %r: %s", template_name, type(exc).__name__)
            raise ApiError(503, "stream_unavailable", "this video cannot be prepared now") from None
        return Stream(template_name, folder, source, planned.video.plan)

    def start(self, stream: Stream, piece: str) -> str:
        """Make sure `piece` is stored or being rendered; its key. Pieces of a stream rendered
        eagerly are never rendered here. A piece asked for over `_ASK_AGAIN_S` ago and still
        missing (a lost task) is asked for again."""
        key = _key(stream, piece)
        if not stream.on_play:
            return key
        now = time.monotonic()
        with self._lock:
            if now - self._asked.get(key, -_ASK_AGAIN_S) < _ASK_AGAIN_S:
                return key
            if now - self._failed.get(key, -_RETRY_FAILED_S) < _RETRY_FAILED_S:
                return key  # it just failed: requests waiting for it are told so, not retried at once
            self._asked[key] = now
            if len(self._asked) > 10_000:
                self._asked = {k: t for k, t in self._asked.items() if now - t < _ASK_AGAIN_S}
        if self.state.storage().exists(key):
            return key
        try:
            self._submit(stream, piece, key)
        except BaseException:
            with self._lock:
                self._asked.pop(key, None)  # not asked after all: the next request tries again
            raise
        return key

    def _submit(self, stream: Stream, piece: str, key: str) -> None:
        settings = self.state.settings
        if settings.broker_url:
            from renderer.jobs.celery_app import ONPLAY_QUEUE, celery_for, publish

            publish(
                celery_for(settings),
                "tailor.stream_piece",
                [stream.template, stream.folder, piece],
                ONPLAY_QUEUE,
            )
            return
        from renderer.api.render_pool import stream_piece_in_worker

        future = self.pool.submit(stream_piece_in_worker, settings, stream.template, stream.folder, piece)
        future.add_done_callback(lambda done: self._finished(done, key, piece))

    def _finished(self, future: Future[Any], key: str, piece: str) -> None:
        error = future.exception()
        with self._lock:
            self._asked.pop(key, None)  # done or failed: a later request looks at storage again
            if error is not None:
                self._failed[key] = time.monotonic()  # requests waiting for it answer now
            else:
                self._failed.pop(key, None)
        if error is not None:
            log.warning(
                "an on-play piece failed: %s: %s", type(error).__name__, error
            )  # no values: see run_stream_piece
        elif future.result():
            self.state.metrics.count_stream_render(piece.partition(":")[0])

    def prefetch(self, stream: Stream, index: int) -> None:
        """Start the audio and the video segments of scene `index` and the next one."""
        self.start(stream, AUDIO)
        for k in (index, index + 1):
            if k < len(stream.plan.scenes):
                self.start(stream, f"video:{k}")

    def storage_has(self, stream: Stream, piece: str) -> bool:
        """Whether `piece` is stored already."""
        key = _key(stream, piece)
        return bool(self.state.storage().exists(key))

    async def first_ready(self, stream: Stream, pieces: list[str], timeout_s: float) -> str | None:
        """The key of the first of `pieces` stored within `timeout_s` (asked for again while
        missing), None when none is; ApiError 503 when every one of them failed to render."""
        storage = self.state.storage()
        started = time.monotonic()
        deadline, pause = started + timeout_s, POLL_S
        while True:
            # (again each round: a lost task is asked for again, a stored piece is seen at once)
            keys = await run_in_threadpool(lambda: [self.start(stream, piece) for piece in pieces])
            for key in keys:
                if await run_in_threadpool(storage.exists, key):
                    return key
            since = min(started, time.monotonic() - _RETRY_FAILED_S)  # failed while waiting, or just before
            with self._lock:
                failed = all(self._failed.get(key, -1.0) >= since for key in keys)
            if failed:
                raise ApiError(503, "stream_unavailable", "this part of the video cannot be made now")
            if time.monotonic() >= deadline or not stream.on_play:
                return None
            await asyncio.sleep(pause)
            pause = min(pause * 1.5, 0.1)  # a HEAD per poll on S3: back off

    async def segment(self, stream: Stream, index: int) -> tuple[str, bool]:
        """The key of scene `index`'s video segment once stored, started now if it is not, and
        whether it is the fallback: a personal scene with a fallback not ready by the deadline is
        served as the fallback (the miss counted), or as itself if that comes first. ApiError 404
        for an eager stream's missing segment, 504 when nothing is ready in time."""
        if not 0 <= index < len(stream.plan.scenes):
            raise ApiError(404, "not_found", "no such file")
        await run_in_threadpool(self.prefetch, stream, index)
        scene, settings = stream.plan.scenes[index], self.state.settings
        video = f"video:{index}"
        with_fallback = bool(scene.fallback) and stream.on_play
        wait_s = settings.on_play_deadline_s if with_fallback else settings.video_timeout_s
        if with_fallback:  # asked for and not there: its fallback (shared, often cached) starts too
            fallback = f"fallback:{index}"
            await run_in_threadpool(lambda: self.storage_has(stream, video) or self.start(stream, fallback))
        key = await self.first_ready(stream, [video], wait_s)
        if key is None and with_fallback:
            self.state.metrics.count_stream_fallback()
            key = await self.first_ready(stream, [video, f"fallback:{index}"], settings.video_timeout_s)
        if key is not None:
            return key, key != _key(stream, video)
        if not stream.on_play:
            raise ApiError(404, "not_found", "no such file")
        raise ApiError(504, "render_timeout", "this part of the video is not ready; try again")

    async def audio(self, stream: Stream, index: int) -> str:
        """The key of scene `index`'s audio segment once stored (all of them are rendered at once)."""
        if not 0 <= index < len(stream.plan.scenes):
            raise ApiError(404, "not_found", "no such file")
        key = await self.first_ready(stream, [AUDIO], self.state.settings.video_timeout_s)
        if key is not None:
            return stream.folder + stream.plan.audio_file(index)
        if not stream.on_play:
            raise ApiError(404, "not_found", "no such file")
        raise ApiError(504, "render_timeout", "this part of the video is not ready; try again")

    async def init(self, stream: Stream, track: str) -> str:
        """The key of a track's init segment, made with the first audio or video piece when the
        storage has none yet (a fresh cache)."""
        key = stream.plan.video_init if track == "v" else stream.plan.audio_init
        if await run_in_threadpool(self.state.storage().exists, key) or not stream.on_play:
            return key
        await self.first_ready(
            stream, [AUDIO if track == "a" else "video:0"], self.state.settings.video_timeout_s
        )
        return key

    def close(self) -> None:
        """Stop the stream processes (pieces being rendered finish; queued ones are dropped)."""
        self.pool.close(wait=False)
