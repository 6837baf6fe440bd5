"""A recipient's HLS stream, reachable only through the page's token.

``GET /r/{token}/video.m3u8`` is the master playlist (also beside the page, where the page
links it); its media playlists and segments are under ``stream/`` beside it:
``stream/video.m3u8``, ``stream/audio.m3u8``, ``stream/v/init.mp4``, ``stream/v/<k>.m4s``,
``stream/a/init.mp4``, ``stream/a/<k>.m4s``. Playlists answer at once, rendered or not; a
segment of an on-play video is rendered when first asked (and the next one is started), then
served from the cache. On S3, the playlists under ``/r/{token}/stream/`` (for players other than
the page: apps, TVs, ffmpeg) list presigned URLs for segments already stored, so their bytes come
from the bucket; the page's own, beside it, are served through the API, since its CSP allows
media from its own origin only. Unknown tokens are 404 and expired ones 410, and nothing is
rendered for them.
"""

from __future__ import annotations

import re

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from renderer.api.deps import State
from renderer.api.errors import ApiError
from renderer.api.links import is_remote, recipient_folder
from renderer.api.models import ErrorOut
from renderer.api.objects import serve_object
from renderer.api.routes.pages import PAGE_CACHE, PageRoute, page_headers, resolve_link
from renderer.api.state import ApiState
from renderer.api.streams import Stream
from renderer.errors import StorageError
from renderer.jobs.schema import RecipientLinkRecord
from renderer.outputs.video.streaming import MASTER_FILE, media_playlist, stored_key

router = APIRouter(
    tags=["recipient pages"],
    responses={404: {"model": ErrorOut}, 410: {"model": ErrorOut}},
    route_class=PageRoute,
)
PLAYLIST = "application/vnd.apple.mpegurl"
SEGMENT_CACHE = "private, max-age=3600"
_PIECE = re.compile(r"^(v|a)/(init\.mp4|(\d{1,4})\.m4s)$")


def _folder(link: RecipientLinkRecord) -> str:
    try:
        return recipient_folder(link.template, link.campaign, link.recipient_id)
    except StorageError:
        raise ApiError(404, "not_found", "no such file") from None


async def _link(state: ApiState, token: str) -> RecipientLinkRecord:
    return await run_in_threadpool(resolve_link, state.store(), token)


@router.get("/r/{token}/video.m3u8", response_class=Response, summary="The recipient's HLS master playlist")
@router.head("/r/{token}/video.m3u8", include_in_schema=False)
async def master(token: str, request: Request, state: State) -> Response:
    """The master playlist of the recipient's video: one video rendition and its audio group."""
    link = await _link(state, token)
    headers = {**page_headers(state, link.template), "Cache-Control": PAGE_CACHE}
    key = _folder(link) + MASTER_FILE
    return await run_in_threadpool(serve_object, state.storage(), key, request, headers)


@router.get("/r/{token}/stream/{name:path}", response_class=Response, summary="The recipient's HLS stream")
@router.head("/r/{token}/stream/{name:path}", include_in_schema=False)
async def stream_file(token: str, name: str, request: Request, state: State) -> Response:
    """A media playlist or segment of the recipient's stream (rendered now if it is on play)."""
    link = await _link(state, token)
    return await _answer(state, link, name, request, presign=True)


@router.get("/r/{token}/{template}/{campaign}/{recipient}/stream/{name:path}", include_in_schema=False)
@router.head("/r/{token}/{template}/{campaign}/{recipient}/stream/{name:path}", include_in_schema=False)
async def stream_file_beside_page(
    token: str, template: str, campaign: str, recipient: str, name: str, request: Request, state: State
) -> Response:
    """The same, at the path the page's relative link reaches."""
    link = await _link(state, token)
    if f"{template}/{campaign}/{recipient}/" != _folder(link):
        raise ApiError(404, "not_found", "no such file")
    return await _answer(state, link, name, request, presign=False)


async def _answer(
    state: ApiState, link: RecipientLinkRecord, name: str, request: Request, *, presign: bool
) -> Response:
    service = state.streams
    stream = await service.stream(link.template, _folder(link))
    headers = page_headers(state, link.template)
    if name in ("video.m3u8", "audio.m3u8"):
        track = "video" if name == "video.m3u8" else "audio"
        text = await run_in_threadpool(_playlist, state, stream, track, presign)
        return Response(text, media_type=PLAYLIST, headers={**headers, "Cache-Control": PAGE_CACHE})
    found = _PIECE.match(name)
    if found is None:
        raise ApiError(404, "not_found", "no such file")
    track, index = found.group(1), found.group(3)
    cache = SEGMENT_CACHE
    if index is None:
        key = await service.init(stream, track)
    elif track == "v":
        key, fallback = await service.segment(stream, int(index))
        cache = "no-store" if fallback else cache  # the next play gets the recipient's own
    else:
        key = await service.audio(stream, int(index))
    answer = {**headers, "Cache-Control": cache}
    return await run_in_threadpool(serve_object, state.storage(), key, request, answer)


def _playlist(state: ApiState, stream: Stream, track: str, presign: bool) -> str:
    """A media playlist; with `presign` on S3, stored segments by presigned URL. Asking for it
    starts the pieces a player needs first (the audio, the first scenes)."""
    service, storage, plan = state.streams, state.storage(), stream.plan
    if stream.on_play:
        service.prefetch(stream, 0)
    prefix = "v" if track == "video" else "a"
    remote = presign and is_remote(storage)

    def uri(name: str) -> str:
        relative = f"{prefix}/{name}"
        if not remote:
            return relative
        key = _key_of(stream, prefix, name)
        return storage.url(key) if key is not None and storage.exists(key) else relative

    return media_playlist(plan, "video" if track == "video" else "audio", uri)


def _key_of(stream: Stream, prefix: str, name: str) -> str | None:
    """The stored key behind a stream URI, None for a video segment that may fall back (served
    through the API, which decides at request time)."""
    plan = stream.plan
    if name == "init.mp4":
        return plan.video_init if prefix == "v" else plan.audio_init
    index = int(name.removesuffix(".m4s"))
    if prefix == "a":
        return stream.folder + plan.audio_file(index)
    scene = plan.scenes[index]
    return None if scene.fallback and stream.on_play else stored_key(stream.folder, scene.segment)
