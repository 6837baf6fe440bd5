"""The only subprocess boundary of the video stage: build ffmpeg arguments (pure), run, probe.

Every run has a timeout; on timeout or error the whole process group is killed and reaped, so no
ffmpeg outlives its call. Argument builders are pure functions, tested without running anything.
A failed run's message (the tool's last line of stderr) never holds a server path: files the
caller names (a template asset, by its reference in the template) appear by that name, any other
absolute path by its file name.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from renderer.errors import RenderError, RenderTimeout


@dataclass(frozen=True)
class EncodeSettings:
    """Codec parameters every segment shares, so segments concatenate without re-encoding."""

    width: int
    height: int
    fps: int
    preset: str = "veryfast"
    crf: int = 23
    profile: str = "high"
    level: str = "4.1"
    # x264 threads (0 = auto). Campaign workers use 1: a worker per core is already busy, and x264's
    # own threads then cost ~25% more CPU for the same picture. Not part of the cache key.
    threads: int = 0
    # The template's frame size when frames are drawn smaller than it (a draft): layers are laid
    # out in it and drawn scaled down. None: the frame is drawn at its own size. Not part of
    # `key` (the encoded stream is the same), but of every segment's key (`segment_key`).
    design: tuple[int, int] | None = None

    def key(self) -> dict[str, Any]:
        """The parameters that change the encoded bytes (part of every segment cache key)."""
        return {
            "w": self.width,
            "h": self.height,
            "fps": self.fps,
            "preset": self.preset,
            "crf": self.crf,
            "profile": self.profile,
            "level": self.level,
            "codec": "libx264",
            # I/P only, one reference, held frames as skipped pictures (`encoder`, `h264`)
            "holds": "p-skip",
        }


@lru_cache(maxsize=1)
def ffmpeg_exe() -> str:
    """The system ffmpeg (Debian package) if present, else the one bundled by imageio-ffmpeg."""
    found = shutil.which("ffmpeg")
    if found:
        return found
    import imageio_ffmpeg

    return str(imageio_ffmpeg.get_ffmpeg_exe())


@lru_cache(maxsize=1)
def ffprobe_exe() -> str:
    """ffprobe from the same ffmpeg installation; required for probing outputs."""
    found = shutil.which("ffprobe")
    if not found:
        raise RenderError("ffprobe is not installed (Debian package ffmpeg)")
    return found


# an absolute path (not the tail of a relative one such as kb/s or media/x.mp4): group 1 is its name
_ABSOLUTE_PATH = re.compile(r"(?<![\w.~@-])/(?:[^\s'\":,/]+/)*([^\s'\":,/]+)")
Names = Mapping[str, str]


def tool_message(err: bytes, names: Names | None = None) -> str:
    """The last line of a tool's stderr (the last that reports a full disk, if one does; at most
    200 characters) without server paths: each path
    of `names` (absolute path -> what to call it, e.g. ``media/intro.mp4``) by its name, every
    other absolute path by its file name."""
    lines = err.decode("utf-8", "replace").strip().splitlines()
    # a full disk is often reported above a generic last line ("Conversion failed!")
    full = [line for line in lines if "No space left on device" in line]
    line = (full or lines or ["no message"])[-1]
    for path, name in sorted((names or {}).items(), key=lambda item: -len(item[0])):
        line = line.replace(path, name)
    return _ABSOLUTE_PATH.sub(r"\1", line)[:200]


# The command-line encode (`segment_args`: the benchmark's encode floor, test clips) uses 8
# non-reference B-frames in a fixed pattern: ~15% less CPU than x264's default on motion graphics.
_FFMPEG_BFRAMES = 8


def _encoder_args(settings: EncodeSettings, frames: int, output: Path) -> list[str]:
    s = settings
    gop = str(max(frames, 1))
    return [
        "-frames:v", str(frames), "-an", "-c:v", "libx264", "-preset", s.preset, "-crf", str(s.crf),
        "-profile:v", s.profile, "-level:v", s.level, "-pix_fmt", "yuv420p",
        "-g", gop, "-keyint_min", gop, "-sc_threshold", "0",
        "-bf", str(_FFMPEG_BFRAMES), "-x264-params", "repeat-headers=1:b-adapt=0:b-pyramid=none",
        "-threads", str(s.threads),
        "-r", str(s.fps), "-video_track_timescale", str(s.fps * 1000),
        "-movflags", "+faststart", "-f", "mp4", str(output),
    ]  # fmt: skip


def segment_args(settings: EncodeSettings, output: Path, frames: int) -> list[str]:
    """Encode `frames` raw RGB frames from stdin into one H.264 segment that starts on a keyframe
    with the ffmpeg program (renders encode in process: `encoder`; this is the benchmark's floor).

    One GOP per segment (keyframe at 0, no scene-cut keyframes) keeps segments concatenable and
    makes each scene exactly one HLS segment.
    """
    s = settings
    source = [
        "-hide_banner", "-loglevel", "error", "-nostdin", "-y",
        "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{s.width}x{s.height}", "-r", str(s.fps),
        "-i", "pipe:0",
    ]  # fmt: skip
    return source + _encoder_args(settings, frames, output)


def run(
    args: Sequence[str],
    *,
    timeout_s: float,
    stdin: bytes | None = None,
    what: str,
    stderr: bool = False,
    names: Names | None = None,
) -> bytes:
    """Run ffmpeg with `args`; return stdout (or stderr, for filters that report there, such as
    loudnorm). RenderTimeout/RenderError name `what`, never data, and files by `names` or their
    file name (`tool_message`), never a server path.

    The process runs in its own group; on timeout or error the group is killed and reaped.
    """
    command = [ffmpeg_exe(), *args]
    return run_tool(command, timeout_s=timeout_s, stdin=stdin, what=what, stderr=stderr, names=names)


def run_tool(
    command: Sequence[str],
    *,
    timeout_s: float,
    stdin: bytes | None = None,
    what: str,
    stderr: bool = False,
    names: Names | None = None,
) -> bytes:
    """Run an external media tool (ffmpeg, ffprobe, espeak-ng) with a hard timeout and cleanup;
    a failure's message is `tool_message` (no server path)."""
    try:
        process = subprocess.Popen(
            list(command),
            stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
    except OSError as exc:
        raise RenderError(f"{what}: cannot start {Path(command[0]).name} ({exc.strerror})") from None
    try:
        out, err = process.communicate(stdin, timeout=timeout_s)
    except subprocess.TimeoutExpired:
        _kill_group(process)
        raise RenderTimeout(f"{what} took longer than {timeout_s:g} s") from None
    except BaseException:
        _kill_group(process)
        raise
    if process.returncode != 0:
        raise RenderError(f"{what} failed: {tool_message(err, names)}")
    return err if stderr else out


def _kill_group(process: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.communicate()


def probe(path: Path, *, timeout_s: float = 30.0) -> dict[str, Any]:
    """ffprobe's JSON description (format and streams) of a media file."""
    out = run_tool(
        [ffprobe_exe(), "-v", "error", "-show_format", "-show_streams", "-of", "json", str(path)],
        timeout_s=timeout_s,
        what=f"probing {path.name}",
    )
    data: dict[str, Any] = json.loads(out)
    return data


def encode_frames(args: Sequence[str], frames: Iterable[bytes], *, timeout_s: float, what: str) -> None:
    """Stream raw frames into ffmpeg's stdin without holding them in memory.

    A watchdog kills the whole process group at the deadline, even if a write is blocked.
    """
    process = subprocess.Popen(
        [ffmpeg_exe(), *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    expired = threading.Event()

    def expire() -> None:
        expired.set()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)

    watchdog = threading.Timer(timeout_s, expire)
    watchdog.start()
    assert process.stdin is not None and process.stderr is not None
    try:
        with contextlib.suppress(BrokenPipeError):
            for frame in frames:
                process.stdin.write(frame)
            process.stdin.close()
        err = process.stderr.read()
        process.wait()
    except BaseException:
        expire()
        process.wait()
        raise
    finally:
        watchdog.cancel()
        with contextlib.suppress(OSError):
            process.stdin.close()
        process.stderr.close()
    if expired.is_set():
        raise RenderTimeout(f"{what} took longer than {timeout_s:g} s")
    if process.returncode != 0:
        raise RenderError(f"{what} failed: {tool_message(err)}")
