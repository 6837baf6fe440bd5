"""Per-recipient video cost: Tailor's cached segments vs naive MoviePy vs the encode floor.

In one run, on the bill-summary sample video (1280x720, 30 fps, ~30 s):

* **tailor**: a campaign of N recipients through the real path (local pool, cold cache at the
  start); per recipient = wall time / N. Also the steady state: the last half of the recipients,
  when shared scenes are cached.
* **naive MoviePy**: the same scenes, layers and audio written the naive way (one
  CompositeVideoClip per scene, concatenated, `write_videofile(preset="veryfast")`), per recipient.
* **encode floor**: ffmpeg encoding, with Tailor's own settings, of the personal scenes' finished
  frames fed as raw video: the cost of encoding alone, per recipient.
* **draft preview**: one recipient at half size with the fastest preset, shared scenes cached.
* **one-off renders** (what an API request pays): the first recipient of a template, loaded
  then rendered into an empty cache (every scene and narration made), and the next recipient
  (shared scenes cached), median of 3 each.
* **peak RSS of a render worker**: the largest resident set of the campaign's worker processes.

    .venv/bin/python -m bench.video --recipients 12 --naive 2
"""

from __future__ import annotations

import argparse
import resource
import statistics
import tempfile
import time
from pathlib import Path

from bench.common import sample_csv
from renderer.jobs.local import CampaignSpec, run_campaign
from renderer.outputs.kind import RenderOptions
from renderer.outputs.load import load_template
from renderer.outputs.render import render_recipient
from renderer.outputs.template import Template
from renderer.outputs.video import ffmpeg
from renderer.outputs.video.layers import draw_layer
from renderer.outputs.video.render import VideoOptions, asset_opener, encode_settings, synthesize_narrations
from renderer.outputs.video.scenes import resolve_scenes, time_scenes
from renderer.outputs.video.segments import compose_frames
from renderer.outputs.video.tts import EspeakTTS
from renderer.settings import load_settings
from renderer.storage import LocalStorage
from renderer.template.resolve import resolve

SHARED = {"intro", "outro", "tips-basic", "tips-plus", "tips-green"}


def recipients(folder: Path, count: int) -> tuple[Path, list[dict[str, str]]]:
    """Synthetic recipients (the CLI's generator) as a CSV and as rows."""
    import csv

    path = sample_csv(folder, count, seed=5)
    with path.open(encoding="utf-8") as handle:
        return path, list(csv.DictReader(handle))


def tailor_campaign(data: Path, count: int, scratch: Path) -> float:
    """Seconds per recipient for a whole video campaign with a cold segment cache."""
    out = Path(tempfile.mkdtemp(dir=scratch))
    settings = load_settings(storage_url=str(out), database_url=f"sqlite:///{out / 'jobs.db'}")
    started = time.perf_counter()
    stats = run_campaign(CampaignSpec("bill-summary", data, ("video",), "bench", out / "_reports"), settings)
    assert stats.rendered == count and stats.failed == 0, stats
    return (time.perf_counter() - started) / count


def tailor_steady(template: Template, rows: list[dict[str, str]], scratch: Path) -> float:
    """Seconds per recipient once shared scenes are cached (second half of the recipients)."""
    storage = LocalStorage(Path(tempfile.mkdtemp(dir=scratch)))
    half = len(rows) // 2
    for row in rows[:half]:
        render_recipient(template, template.validator.validate(row), ["video"], storage, "warm")
    started = time.perf_counter()
    for row in rows[half:]:
        render_recipient(template, template.validator.validate(row), ["video"], storage, "warm")
    return (time.perf_counter() - started) / (len(rows) - half)


def encode_floor(template: Template, rows: list[dict[str, str]], scratch: Path) -> float:
    """Seconds per recipient to encode only the personal scenes' finished frames."""
    settings = encode_settings(template, VideoOptions(EspeakTTS()))
    opener = asset_opener(template)
    storage = LocalStorage(Path(tempfile.mkdtemp(dir=scratch)))
    total = 0.0
    for row in rows:
        spec = resolve(template, template.validator.validate(row))
        scenes = resolve_scenes(template, spec, lambda ref: "d")
        narrations = synthesize_narrations(scenes, opener, VideoOptions(EspeakTTS()), storage)
        for timed in time_scenes(scenes, {k: n.seconds for k, n in narrations.items()}, settings.fps):
            if timed.scene.id in SHARED:
                continue
            frames = list(compose_frames(timed, settings, opener))  # finished frames, not timed
            out = scratch / "floor.mp4"
            started = time.perf_counter()
            ffmpeg.encode_frames(
                ffmpeg.segment_args(settings, out, timed.frames), frames, timeout_s=300, what="floor"
            )
            total += time.perf_counter() - started
    return total / len(rows)


def naive_moviepy(template: Template, rows: list[dict[str, str]], scratch: Path) -> float:
    """Seconds per recipient for the naive MoviePy version of the same video."""
    import numpy as np
    from moviepy import (
        AudioFileClip,
        ColorClip,
        CompositeAudioClip,
        CompositeVideoClip,
        ImageClip,
        afx,
        concatenate_videoclips,
    )

    opener = asset_opener(template)
    storage = LocalStorage(Path(tempfile.mkdtemp(dir=scratch)))
    video = template.manifest.outputs.video
    assert video is not None
    started = time.perf_counter()
    for index, row in enumerate(rows):
        spec = resolve(template, template.validator.validate(row))
        scenes = resolve_scenes(template, spec, lambda ref: "d")
        narrations = synthesize_narrations(scenes, opener, VideoOptions(EspeakTTS()), storage)
        timed = time_scenes(scenes, {k: n.seconds for k, n in narrations.items()}, video.fps)
        clips, voices = [], []
        for t in timed:
            layers = [ColorClip(video.size, color=_rgb(t.scene.background.colour), duration=t.duration)]
            for layer in t.scene.layers:
                sprite = np.array(draw_layer(layer, opener))
                clip = ImageClip(sprite).with_position((layer.spec.box.x, layer.spec.box.y))
                layers.append(clip.with_start(layer.spec.start).with_duration(t.duration - layer.spec.start))
            clips.append(CompositeVideoClip(layers, size=video.size).with_duration(t.duration))
            if t.scene.id in narrations:
                wav = scratch / f"n-{index}-{t.scene.id}.wav"
                wav.write_bytes(storage.get(narrations[t.scene.id].key))
                voices.append(AudioFileClip(str(wav)).with_start(t.start))
        movie = concatenate_videoclips(clips)
        music = AudioFileClip(str(opener(video.music or ""))).with_effects(
            [afx.AudioLoop(duration=movie.duration)]
        )
        movie = movie.with_audio(CompositeAudioClip([music.with_volume_scaled(0.35), *voices]))
        movie.write_videofile(
            str(scratch / f"naive-{index}.mp4"),
            fps=video.fps,
            codec="libx264",
            preset="veryfast",
            audio_codec="aac",
            logger=None,
        )
    return (time.perf_counter() - started) / len(rows)


def _rgb(hex_colour: str) -> tuple[int, int, int]:
    value = hex_colour.lstrip("#")
    return int(value[0:2], 16), int(value[2:4], 16), int(value[4:6], 16)


def draft_preview(template: Template, row: dict[str, str], scratch: Path, repeat: int) -> float:
    """Median seconds for a draft (half size, ultrafast) render of one recipient, shared scenes warm."""
    storage = LocalStorage(Path(tempfile.mkdtemp(dir=scratch)))
    options = RenderOptions(draft=True)
    recipient = template.validator.validate(row)
    render_recipient(
        template, recipient, ["video"], storage, "draft", options
    )  # warm shared scenes and speech
    times = []
    for n in range(repeat):
        edited = {**row, "first_name": f"{row['first_name']}{n}"}  # the designer edited a name
        started = time.perf_counter()
        render_recipient(template, template.validator.validate(edited), ["video"], storage, "draft", options)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def one_off(rows: list[dict[str, str]], scratch: Path, repeat: int) -> tuple[float, float]:
    """Median seconds of a cold one-off render (the template loaded, then its first recipient
    rendered into an empty cache) and of a warm one (the next recipient, same language)."""
    cold, warm = [], []
    first, second = rows[0], next(row for row in rows[1:] if row["locale"] == rows[0]["locale"])
    for _ in range(repeat):
        storage = LocalStorage(Path(tempfile.mkdtemp(dir=scratch)))
        started = time.perf_counter()
        template = load_template("bill-summary", load_settings())
        render_recipient(template, template.validator.validate(first), ["video"], storage, "api")
        cold.append(time.perf_counter() - started)
        started = time.perf_counter()
        render_recipient(template, template.validator.validate(second), ["video"], storage, "api")
        warm.append(time.perf_counter() - started)
    return statistics.median(cold), statistics.median(warm)


def worker_peak_rss_mb() -> float:
    """The largest resident set (MB) of any child process waited for so far: the campaign's
    render workers, which are this process's children."""
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


def main() -> None:
    """Run every measurement and print the table with ratios."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--recipients", type=int, default=20)
    parser.add_argument("--naive", type=int, default=2, help="recipients rendered the naive way")
    args = parser.parse_args()
    template = load_template("bill-summary", load_settings())
    print(f"bill-summary video, {args.recipients} recipients (naive: {args.naive}), seconds per recipient")
    with tempfile.TemporaryDirectory(prefix="tailor-video-bench-") as tmp:
        scratch = Path(tmp)
        data, rows = recipients(scratch, args.recipients)
        campaign = tailor_campaign(data, args.recipients, scratch)
        print(f"  tailor campaign (2 workers, cold cache)   {campaign:7.2f}", flush=True)
        rss = worker_peak_rss_mb()  # before anything else here starts a child
        print(f"  peak RSS of a render worker (MB)          {rss:7.0f}   (target < 400)", flush=True)
        steady = tailor_steady(template, rows, scratch)
        print(f"  tailor steady state (1 process, warm)     {steady:7.2f}", flush=True)
        floor = encode_floor(template, rows[: max(4, args.recipients // 4)], scratch)
        print(f"  encode floor (personal scenes only)       {floor:7.2f}", flush=True)
        draft = draft_preview(template, rows[0], scratch, 5)
        print(f"  draft preview (half size, ultrafast)      {draft:7.2f}   (target < 0.7 s)", flush=True)
        cold, warm = one_off(rows, scratch, 3)
        print(f"  one-off render, first of a template       {cold:7.2f}   (target <= 2.5 s)", flush=True)
        print(f"  one-off render, the next recipient        {warm:7.2f}   (target <= 1.2 s)", flush=True)
        naive = naive_moviepy(template, rows[: args.naive], scratch)
        print(f"  naive MoviePy                             {naive:7.2f}", flush=True)
    print(
        f"ratios: naive / tailor campaign = {naive / campaign:.1f}x (target >= 25x); "
        f"tailor steady / encode floor = {steady / floor:.2f}x (target <= 1.0x)"
    )


if __name__ == "__main__":
    main()
