"""The poster and the animated thumbnail straight from composed frames, with no encoded video.

`render_stills(timed, settings, assets, poster_at, thumbnail_at)` -> (``poster.jpg``,
``thumbnail.webp``) bytes: the pictures ffmpeg used to take from the assembled MP4, at the same
frames, so a recipient whose video is rendered on play gets them without an encode.
Only the frames needed are composed (`segments.compose_frames` with `indexes`): one for the
poster and about 30 for the thumbnail, whatever the video's length; an eager render hands over
the ones its segment pass composed anyway (`StillFrames.offer`), so only frames of cached
scenes are composed again.

Which frames, as ffmpeg 5 takes them (the tests check it against ffmpeg). A time is first
rounded to the millisecond, as the ffmpeg arguments print it; the rest is exact (fractions):

* poster at ``t``: frame ``ceil(t * fps)``, the first whose time is ``>= t`` (an accurate input
  seek drops the frames before it);
* thumbnail from ``s``, 3 s at 10 fps: the frames ``i`` with ``s <= i / fps < s + 3`` get the
  time ``r(i) = round((i / fps - s) * 10)`` (halves away from zero) on the 10 fps grid, and the
  thumbnail's frame ``n``, for ``r(first) <= n < r(last + 1)``, is the last ``i`` with
  ``r(i) <= n`` (the fps filter's "near" rounding: frames 1, 4, 7, ... after ``s`` at 30 fps).

Frame ``i`` is at ``i / fps`` exactly, the scenes' own timeline, which is where the MP4
assembled from the scene fragments has it too.

The poster is a JPEG with ffmpeg's ``-q:v 3`` quantization (the MPEG-1 intra matrix x 3 / 8 for
every channel, 4:2:0); the thumbnail a looping lossy WebP, 480 px wide (height even, as
``scale=480:-2``), Lanczos, quality 60, 100 ms a frame (libwebp stores a run of frames it sees
as equal at that quality as one longer frame; the timing is the same). Pillow's pixel limit is left as set by
`renderer.outputs.images.limit_image_size`: the only files read are the scene's own assets,
through `compose_frames`, which raises `UnusableImage` for one it cannot use.
"""

from __future__ import annotations

import io
import math
from collections.abc import Iterator, Sequence
from fractions import Fraction

from PIL import Image

from renderer.outputs.video import segments
from renderer.outputs.video.ffmpeg import EncodeSettings
from renderer.outputs.video.layers import AssetOpener
from renderer.outputs.video.scenes import TimedScene

THUMBNAIL_SECONDS = 3
THUMBNAIL_FPS = 10
THUMBNAIL_WIDTH = 480
WEBP_QUALITY = 60
WEBP_METHOD = 2  # libwebp's speed/size trade-off, as ffmpeg's -compression_level 2
POSTER_END_MARGIN_S = 0.05  # a poster asked for at or past the end shows the last frame

# MPEG-1's default intra matrix (natural order); ffmpeg's MJPEG encoder at -q:v q writes it
# times q / 8 (the DC entry kept at 8) as the one table of every channel.
_MPEG1_INTRA = (
    8, 16, 19, 22, 26, 27, 29, 34, 16, 16, 22, 24, 27, 29, 34, 37,
    19, 22, 26, 27, 29, 34, 34, 38, 22, 22, 26, 27, 29, 34, 37, 40,
    22, 26, 27, 29, 32, 35, 40, 48, 26, 27, 29, 32, 35, 40, 48, 58,
    26, 27, 29, 34, 38, 46, 56, 69, 27, 29, 35, 38, 46, 56, 69, 83,
)  # fmt: skip
POSTER_QSCALE = 3
POSTER_QTABLE = [_MPEG1_INTRA[0]] + [min(255, q * POSTER_QSCALE >> 3) for q in _MPEG1_INTRA[1:]]


def poster_time(total: float, poster_at: float) -> float:
    """When the poster is taken: `poster_at`, or just before the end of a shorter video."""
    return min(poster_at, total - POSTER_END_MARGIN_S)


def thumbnail_start(total: float, thumbnail_at: float) -> float:
    """Where the thumbnail starts: `thumbnail_at`, moved earlier so it lasts 3 s when it can."""
    return min(thumbnail_at, max(0.0, total - THUMBNAIL_SECONDS))


def _ms(seconds: float) -> Fraction:
    return Fraction(f"{max(0.0, seconds):.3f}")


def poster_frame(at: float, fps: int, frames: int) -> int:
    """The video frame (0-based) ffmpeg's seek to `at` lands on: the first at or after `at`,
    the last frame when `at` is past the end."""
    return min(frames - 1, math.ceil(_ms(at) * fps))


def thumbnail_frames(start: float, fps: int, frames: int) -> list[int]:
    """The video frames (0-based, in order, repeats where the video is slower than 10 fps) of
    the 3 s thumbnail from `start`, as ffmpeg's ``-ss start -t 3 -vf fps=10`` picks them."""
    s = _ms(start)
    first = min(frames - 1, math.ceil(s * fps))
    last = min(frames - 1, math.ceil((s + THUMBNAIL_SECONDS) * fps) - 1)

    def grid(index: int) -> int:  # the frame's time on the 10 fps grid, halves rounded up
        return math.floor((Fraction(index, fps) - s) * THUMBNAIL_FPS + Fraction(1, 2))

    picked, index = [], first
    for n in range(grid(first), max(grid(last + 1), grid(first) + 1)):
        while index < last and grid(index + 1) <= n:
            index += 1
        picked.append(index)
    return picked


def thumbnail_size(width: int, height: int) -> tuple[int, int]:
    """480 px wide, the height scaled and rounded to an even number (ffmpeg's ``scale=480:-2``)."""
    return THUMBNAIL_WIDTH, (THUMBNAIL_WIDTH * height + width) // (2 * width) * 2


def _composed(
    timed: list[TimedScene], settings: EncodeSettings, assets: AssetOpener, wanted: set[int], timeout_s: float
) -> Iterator[tuple[int, bytes]]:
    offset = 0
    for scene in timed:
        local = [index - offset for index in sorted(wanted) if offset <= index < offset + scene.frames]
        if local:
            frames = segments.compose_frames(scene, settings, assets, timeout_s=timeout_s, indexes=local)
            for index, data in zip(local, frames, strict=True):
                yield offset + index, data
        offset += scene.frames


def poster_jpeg(image: Image.Image) -> bytes:
    """`image` as the poster JPEG: ffmpeg's ``-q:v 3`` tables, 4:2:0, optimized Huffman codes."""
    out = io.BytesIO()
    tables = [POSTER_QTABLE, POSTER_QTABLE]
    image.save(out, "JPEG", qtables=tables, subsampling="4:2:0", optimize=True)
    return out.getvalue()


def thumbnail_webp(pictures: Sequence[Image.Image]) -> bytes:
    """`pictures` as a looping lossy animated WebP, 100 ms each (frames equal to the one before
    may be merged by the encoder into one longer frame; the timing is unchanged)."""
    out = io.BytesIO()
    first, *rest = pictures
    first.save(
        out,
        "WEBP",
        save_all=True,
        append_images=rest,
        duration=1000 // THUMBNAIL_FPS,
        loop=0,
        lossless=False,
        quality=WEBP_QUALITY,
        method=WEBP_METHOD,
    )
    return out.getvalue()


class StillFrames:
    """The poster and thumbnail of a video, gathered from its frames as they are composed.

    `offer` takes a frame the segment pass composed anyway (its index in the whole video);
    `finish` composes only the wanted frames nobody offered, then encodes both pictures. Only
    the poster's JPEG and the 480 px thumbnail pictures are kept, never a full frame.
    """

    def __init__(
        self, timed: list[TimedScene], settings: EncodeSettings, poster_at: float, thumbnail_at: float
    ) -> None:
        frames = sum(scene.frames for scene in timed)
        total = frames / settings.fps
        self._timed, self._settings = timed, settings
        self._poster = poster_frame(poster_time(total, poster_at), settings.fps, frames)
        self._shots = thumbnail_frames(thumbnail_start(total, thumbnail_at), settings.fps, frames)
        self._wanted = {self._poster, *self._shots}
        self._jpeg: bytes | None = None
        self._pictures: dict[int, Image.Image] = {}
        self._previous: tuple[bytes, Image.Image] | None = None  # equal frames come in runs

    def offer(self, index: int, data: bytes) -> None:
        """Keep what the stills need of frame `index` (RGB bytes), if they need it; safe to call
        from several threads at once."""
        if index not in self._wanted:
            return
        size = (self._settings.width, self._settings.height)
        if index == self._poster:
            self._jpeg = poster_jpeg(Image.frombytes("RGB", size, data))
        if index in self._shots:
            previous = self._previous  # read once: frames may be offered from several threads
            if previous is None or previous[0] is not data:
                small = thumbnail_size(*size)
                previous = (data, Image.frombytes("RGB", size, data).resize(small, Image.Resampling.LANCZOS))
                self._previous = previous
            self._pictures[index] = previous[1]
        self._wanted.discard(index)

    def finish(self, assets: AssetOpener, *, timeout_s: float) -> tuple[bytes, bytes]:
        """(``poster.jpg``, ``thumbnail.webp``) bytes, composing the frames not offered."""
        for index, data in _composed(self._timed, self._settings, assets, set(self._wanted), timeout_s):
            self.offer(index, data)
        assert self._jpeg is not None
        return self._jpeg, thumbnail_webp([self._pictures[index] for index in self._shots])


def render_stills(
    timed: list[TimedScene],
    settings: EncodeSettings,
    assets: AssetOpener,
    poster_at: float,
    thumbnail_at: float,
    *,
    timeout_s: float,
) -> tuple[bytes, bytes]:
    """``poster.jpg`` (the frame at `poster_at`) and ``thumbnail.webp`` (3 s from `thumbnail_at`)
    bytes of the video the timed scenes make, the same frames ffmpeg would take from its MP4
    (module docstring), times clamped to the video; composes only those frames, encodes nothing.
    A scene image it cannot use raises `UnusableImage`; a background clip ffmpeg cannot decode
    in `timeout_s` raises `RenderTimeout`."""
    return StillFrames(timed, settings, poster_at, thumbnail_at).finish(assets, timeout_s=timeout_s)
