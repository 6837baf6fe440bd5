"""Render one timed scene to an encoded H.264 segment: the unit of caching and parallel work.

Layer sprites are drawn once per scene (`sprites.SceneSprites`; a growing chart or counting number
once per step it shows); each frame is the background plus the sprites in their state at that
time. Frames whose layer states are equal are composed once and reused, so a scene costs its
animations plus the encoder. A segment is looked up in storage by its content key first.
It is cached as a CMAF media segment decoding from 0 (`cmaf.video_fragment`): the HLS stream
serves it as it is, and the MP4 is assembled from it with the init segment its settings share.
"""

from __future__ import annotations

import itertools
import os
from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from functools import lru_cache
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

from renderer.cache import read_cached, segment_cache_key
from renderer.outputs.images import IMAGE_ERRORS, UnusableImage
from renderer.outputs.video import cmaf, encoder, ffmpeg
from renderer.outputs.video.ffmpeg import EncodeSettings
from renderer.outputs.video.layers import AssetOpener
from renderer.outputs.video.layers.motion import LayerState, layer_state
from renderer.outputs.video.scenes import ResolvedScene, TimedScene
from renderer.outputs.video.spec import Background
from renderer.outputs.video.sprites import SceneSprites, Shown
from renderer.outputs.video.streaming import video_init_key
from renderer.storage.base import Storage

FADE_SECONDS = 0.3
_MEMO_FRAMES = 8


def segment_key(timed: TimedScene, settings: EncodeSettings) -> str:
    """The cache key of a timed scene encoded with `settings` (a CMAF media segment); a frame
    drawn scaled down from a design size (a draft) keys that size too."""
    key = settings.key()
    if _factors(settings) != (1.0, 1.0):
        key["design"] = list(settings.design or ())
    return segment_cache_key(timed.scene.canonical(), timed.frames, key)


def _factors(settings: EncodeSettings) -> tuple[float, float]:
    """How much smaller than the design size (where layers are laid out) the frame is drawn."""
    if settings.design is None:
        return 1.0, 1.0
    return settings.width / settings.design[0], settings.height / settings.design[1]


def _background(timed: TimedScene, size: tuple[int, int], assets: AssetOpener) -> Image.Image:
    background = timed.scene.background
    canvas = Image.new("RGBA", size, background.colour)
    if background.image:
        path = assets(background.image)
        try:
            with Image.open(path) as source:
                picture = ImageOps.fit(source.convert("RGBA"), size, Image.Resampling.LANCZOS)
        except IMAGE_ERRORS as exc:
            raise UnusableImage(path, exc) from None
        canvas.alpha_composite(picture)
    return canvas


def _video_frames(
    timed: TimedScene, settings: EncodeSettings, assets: AssetOpener, timeout_s: float, count: int
) -> Iterator[Image.Image]:
    """The first `count` background frames of the scene (decoding stops there)."""
    background = timed.scene.background
    assert background.video is not None
    path = assets(background.video)
    start, length = background.trim or (0.0, timed.duration)
    args = ["-hide_banner", "-loglevel", "error", "-nostdin"]
    if background.loop:
        args += ["-stream_loop", "-1"]
    args += [
        "-ss", f"{start:.3f}", "-t", f"{max(length, timed.duration) if background.loop else length:.3f}",
        "-protocol_whitelist", "file", "-i", str(path),
        "-vf", f"scale={settings.width}:{settings.height}:force_original_aspect_ratio=increase,"
               f"crop={settings.width}:{settings.height},fps={settings.fps}",
        "-frames:v", str(count), "-f", "rawvideo", "-pix_fmt", "rgb24", "pipe:1",
    ]  # fmt: skip
    what, names = f"decoding background of scene {timed.scene.id}", {str(path): background.video}
    raw = ffmpeg.run(args, timeout_s=timeout_s, what=what, names=names)
    frame_bytes = settings.width * settings.height * 3
    size = (settings.width, settings.height)
    last = Image.new("RGB", size, background.colour)
    for index in range(count):
        chunk = raw[index * frame_bytes : (index + 1) * frame_bytes]
        if len(chunk) == frame_bytes:
            last = Image.frombytes("RGB", size, chunk)
        yield last  # a clip shorter than the scene holds its last frame


def fade_level(timed: TimedScene, index: int) -> float:
    """How much of frame `index` of the scene shows through its fade transition (0..1, rounded
    to 3 places): 1.0 everywhere but the first and last `FADE_SECONDS` of a ``fade`` scene."""
    if timed.scene.transition != "fade":
        return 1.0
    edge = max(1, round(FADE_SECONDS * timed.fps))
    return round(min(1.0, (index + 1) / edge, (timed.frames - index) / edge), 3)


@lru_cache(maxsize=64)
def _fade_table(fade: float) -> list[int]:
    """The lookup table that darkens an RGB frame to `fade` of its level, byte for byte what
    Pillow's ``Image.blend(black, frame, fade)`` gives (its single-precision product, truncated)."""
    levels: list[int] = (np.arange(256, dtype=np.float32) * np.float32(fade)).astype(np.uint8).tolist()
    return levels * 3


def _place(canvas: Image.Image, sprite: Image.Image, box: tuple[int, int], state: LayerState) -> None:
    if state.scale != 1.0:
        w, h = max(1, round(sprite.width * state.scale)), max(1, round(sprite.height * state.scale))
        scaled = sprite.resize((w, h), Image.Resampling.BILINEAR)
        box = (box[0] + (sprite.width - w) // 2, box[1] + (sprite.height - h) // 2)
        sprite = scaled
    if state.opacity < 1.0:
        sprite = sprite.copy()
        alpha = sprite.getchannel("A").point(lambda a: round(a * state.opacity))
        sprite.putalpha(alpha)
    # over an opaque RGB canvas, pasting through the sprite's alpha gives alpha_composite's
    # bytes exactly (tested), without an RGBA canvas to convert for every frame
    canvas.paste(sprite, (box[0] + state.dx, box[1] + state.dy), sprite)


def _checked(timed: TimedScene, indexes: Sequence[int]) -> Sequence[int]:
    in_scene = all(0 <= index < timed.frames for index in indexes)
    if not in_scene or any(b <= a for a, b in itertools.pairwise(indexes)):
        raise ValueError(f"frame indexes of scene {timed.scene.id} must ascend within the scene")
    return indexes


def _pick(frames: Iterator[Image.Image], indexes: Sequence[int]) -> Iterator[Image.Image]:
    taken = 0
    for index in indexes:
        for _ in range(index - taken):
            next(frames)
        taken = index + 1
        yield next(frames)


def _layered(
    canvas: Image.Image, sprites: SceneSprites, shown: Sequence[Shown], factors: tuple[float, float]
) -> Image.Image:
    """`canvas` with every visible layer's sprite placed as `shown` says, scaled by `factors`."""
    fx, fy = factors
    for position, (layer, (state, what)) in enumerate(zip(sprites.layers, shown, strict=True)):
        if state.visible:
            box = layer.spec.box
            moved = replace(state, dx=round(state.dx * fx), dy=round(state.dy * fy))
            _place(canvas, sprites.sprite(position, what), (round(box.x * fx), round(box.y * fy)), moved)
    return canvas


def compose_frames(
    timed: TimedScene,
    settings: EncodeSettings,
    assets: AssetOpener,
    *,
    timeout_s: float = 120.0,
    indexes: Sequence[int] | None = None,
) -> Iterator[bytes]:
    """The scene's frames as raw RGB bytes, in order; equal frames are composed once.

    With `indexes` (ascending frame numbers of the scene) only those frames are composed, each
    the same bytes as at its place in the whole run; a moving background is decoded up to the last.
    """
    chosen = range(timed.frames) if indexes is None else _checked(timed, indexes)
    size = (settings.width, settings.height)
    factors = _factors(settings)
    sprites = SceneSprites(timed.scene.layers, assets, factors)
    moving = timed.scene.background.video is not None
    backgrounds: Iterator[Image.Image] | None = None
    if moving:
        count = chosen[-1] + 1 if chosen else 0
        backgrounds = _pick(_video_frames(timed, settings, assets, timeout_s, count), chosen)
    still = None if moving else _background(timed, size, assets).convert("RGB")
    memo: OrderedDict[tuple[object, ...], bytes] = OrderedDict()
    for index in chosen:
        t = index / timed.fps
        shown = sprites.shown([layer_state(layer, t, timed.duration) for layer in sprites.layers])
        fade = fade_level(timed, index)
        key = (shown, fade)
        background = next(backgrounds) if backgrounds is not None else still
        if not moving and key in memo:
            memo.move_to_end(key)
            yield memo[key]
            continue
        assert background is not None
        frame = _layered(background.copy(), sprites, shown, factors)
        if fade < 1.0:
            frame = frame.point(_fade_table(fade))
        data = frame.tobytes()
        if not moving:
            memo[key] = data
            if len(memo) > _MEMO_FRAMES:
                memo.popitem(last=False)
        yield data


def _runs(frames: Iterator[bytes]) -> Iterator[tuple[bytes, int]]:
    """Consecutive repeats of a frame as (frame, count). A repeat is the same object (equal layer
    states give the memo's frame): comparing 2.7 MB of pixels per frame would cost more than an
    encode of the rare equal frame drawn from different states."""
    current: bytes | None = None
    count = 0
    for frame in frames:
        if frame is current:
            count += 1
            continue
        if current is not None:
            yield current, count
        current, count = frame, 1
    if current is not None:
        yield current, count


FrameSink = Callable[[int, bytes], None]


def _shown(frames: Iterator[bytes], sink: FrameSink, offset: int) -> Iterator[bytes]:
    for index, frame in enumerate(frames):
        sink(offset + index, frame)
        yield frame


def encode_segment(
    timed: TimedScene,
    settings: EncodeSettings,
    assets: AssetOpener,
    *,
    timeout_s: float,
    sink: FrameSink | None = None,
    offset: int = 0,
) -> bytes:
    """Encode one scene into an MP4 segment (H.264, one GOP, keyframe first), in this process:
    each run of equal frames is encoded once and held by skipped pictures (`encoder`). Each
    composed frame is also handed to `sink` with its index plus `offset` (the poster's pass)."""
    frames = compose_frames(timed, settings, assets, timeout_s=timeout_s)
    if sink is not None:
        frames = _shown(frames, sink, offset)
    what = f"encoding scene {timed.scene.id}"
    return encoder.encode_runs(_runs(frames), settings, timeout_s=timeout_s, what=what)


def cached_segments(
    scenes: list[TimedScene],
    settings: EncodeSettings,
    assets: AssetOpener,
    storage: Storage,
    *,
    timeout_s: float,
    sink: FrameSink | None = None,
) -> list[str]:
    """The storage keys of every scene's segment, in order, encoding only cache misses; the
    frames of those are handed to `sink` (thread-safe) with their index in the whole video.

    A render free to use every core (x264 threads left to x264: one-off renders, not campaign
    workers) encodes its misses on a thread per core: x264 and most of Pillow run without the GIL.
    """
    keys = [segment_key(scene, settings) for scene in scenes]
    offsets = list(itertools.accumulate((scene.frames for scene in scenes), initial=0))
    missing = {key: index for index, key in enumerate(keys) if not storage.exists(key)}

    def encode(item: tuple[str, int]) -> None:
        key, index = item
        scene = scenes[index]
        mp4 = encode_segment(scene, settings, assets, timeout_s=timeout_s, sink=sink, offset=offsets[index])
        store_fragment(storage, settings, key, mp4)

    workers = min(len(missing), os.cpu_count() or 1) if settings.threads != 1 else 1
    if workers <= 1:
        for item in missing.items():
            encode(item)
    else:
        with ThreadPoolExecutor(workers, thread_name_prefix="tailor-encode") as pool:
            list(pool.map(encode, missing.items()))
    return keys


def store_fragment(storage: Storage, settings: EncodeSettings, key: str, segment_mp4: bytes) -> bytes:
    """Store an encoded scene segment under `key` as a CMAF media segment (and the init segment
    of `settings` if it is not stored yet); the media segment's bytes."""
    data = cmaf.video_fragment(segment_mp4)
    storage.put_if_absent(key, data, "video/iso.segment")
    ensure_init(storage, settings, segment_mp4)
    return data


def ensure_init(storage: Storage, settings: EncodeSettings, segment_mp4: bytes) -> None:
    """Store the init segment of `settings` (from an encoded segment) if it is not stored yet."""
    init = video_init_key(settings)
    if not storage.exists(init):
        storage.put_if_absent(init, cmaf.init_segment(segment_mp4), "video/mp4")


def encode_fragment(
    timed: TimedScene, settings: EncodeSettings, assets: AssetOpener, storage: Storage, *, timeout_s: float
) -> bytes:
    """Encode one scene and store it under its key (`segment_key`); its media segment's bytes."""
    mp4 = encode_segment(timed, settings, assets, timeout_s=timeout_s)
    return store_fragment(storage, settings, segment_key(timed, settings), mp4)


def video_init(storage: Storage, settings: EncodeSettings, *, timeout_s: float) -> bytes:
    """The init segment of `settings`, made from a one-second blank scene when none is stored."""
    data = read_cached(storage, video_init_key(settings))
    if data is not None:
        return data
    blank = ResolvedScene("init", 1.0, Background(), None, (), None, None, "none", "und")
    timed = TimedScene(blank, 0.0, settings.fps, settings.fps)
    mp4 = encode_segment(timed, settings, lambda ref: Path(ref), timeout_s=timeout_s)
    init = cmaf.init_segment(mp4)
    storage.put_if_absent(video_init_key(settings), init, "video/mp4")
    return init


def fetch_segments(
    scenes: list[TimedScene],
    keys: list[str],
    settings: EncodeSettings,
    assets: AssetOpener,
    storage: Storage,
    folder: Path,
    *,
    timeout_s: float,
) -> list[Path]:
    """Each scene's segment from storage as a playable fragmented MP4 in `folder` (the init
    segment then the scene's media segment, ``scene-NNN.mp4``), in order.

    A segment gone since `cached_segments` found it (erasing a recipient deletes personal
    segments) is encoded again and stored again, so a render never fails for a vanished cache hit.
    """
    init = video_init(storage, settings, timeout_s=timeout_s)
    paths = []
    for index, (scene, key) in enumerate(zip(scenes, keys, strict=True)):
        data = read_cached(storage, key)
        if data is None:
            data = encode_fragment(scene, settings, assets, storage, timeout_s=timeout_s)
        path = folder / f"scene-{index:03d}.mp4"
        path.write_bytes(init + data)
        paths.append(path)
    return paths
