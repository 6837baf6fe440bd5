"""Render on play, measured against a real ``tailor serve`` process (espeak narration, local
storage, SQLite), as a player uses it:

a. first segment: for each of ``--recipients`` recipients whose personal scenes are cold and
   whose shared scenes are warm, the time from the media playlist request to the first personal
   segment fully received (and to the first segment and first audio segment); then the same
   with a ``tailor campaign`` rendering eager videos in the background. p50 / p95 / max.
b. ahead of the player: each recipient's video segments fetched one after another from the
   playlist request on (as hls.js buffers), each one's arrival against the moment the player
   reaches it (its scene start plus the first segment's latency): the worst margin.
c. bytes: each recipient's own stream objects (audio segments, personal video segments) against
   the same recipient's eager MP4.
d. CPU: a campaign of ``--cpu-rows`` recipients rendered eagerly (microsite + video) and on play
   (microsite + video plan, poster, thumbnail; then the stream of ``--view-rate`` of them played
   in full, segments and audio), side by side in this process: CPU seconds per recipient.

    .venv/bin/python -m bench.on_play --recipients 20 --cpu-rows 20
"""

from __future__ import annotations

import argparse
import csv
import http.client
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.common import free_port, sample_csv
from renderer.jobs.onplay import AUDIO, read_source, render_piece
from renderer.jobs.store import JobStore, open_store
from renderer.outputs.kind import RenderOptions
from renderer.outputs.load import load_template
from renderer.outputs.render import render_recipient
from renderer.outputs.template import Template
from renderer.outputs.video.plan import VideoOptions
from renderer.outputs.video.render import read_stream_record
from renderer.outputs.video.tts import open_tts
from renderer.settings import PROJECT_ROOT, Settings, load_settings
from renderer.storage import LocalStorage

TEMPLATE = "bill-summary"


@dataclass(frozen=True)
class Recipient:
    """One on-play recipient: its token, folder and plan facts."""

    token: str
    folder: str
    starts: list[float]
    personal: list[int]


def _rows(root: Path, count: int, seed: int) -> list[dict[str, str]]:
    """`count` synthetic recipients, their ids marked with `seed` so sets never share a folder."""
    folder = root / f"rows-{seed}"
    folder.mkdir(parents=True, exist_ok=True)
    with sample_csv(folder, count, seed).open(encoding="utf-8", newline="") as handle:
        return [{**row, "customer_id": f"S{seed}-{row['customer_id']}"} for row in csv.DictReader(handle)]


@contextmanager
def serve(root: Path, settings: Settings) -> Iterator[int]:
    """``python -m renderer serve`` on the bench's store and storage; its port."""
    port = free_port()
    env = {
        **os.environ,
        "TAILOR_DATABASE_URL": settings.database_url,
        "TAILOR_STORAGE_URL": settings.storage_url,
        "TAILOR_PUBLIC_URL": f"http://127.0.0.1:{port}",
        "TAILOR_WORKERS": "1",
    }
    command = [sys.executable, "-m", "renderer", "serve", "--port", str(port)]
    with (root / "server.log").open("wb") as log:
        process = subprocess.Popen(command, cwd=PROJECT_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
                connection.request("GET", "/healthz")
                if connection.getresponse().status == 200:
                    break
            except OSError:
                time.sleep(0.2)
        yield port
    finally:
        process.terminate()
        process.wait(timeout=30)


def _render(template: Template, settings: Settings, row: dict[str, str], campaign: str, on_play: bool) -> Any:
    storage = LocalStorage(Path(settings.storage_url))
    options = RenderOptions.from_settings(settings, video_on_play=on_play)
    recipient = template.validator.validate(row)
    return render_recipient(template, recipient, ["microsite", "video"], storage, campaign, options)


def warm_shared(template: Template, settings: Settings, rows: list[dict[str, str]]) -> None:
    """Encode the shared scenes `rows` will use (intro, tips, outro per language and plan) through
    an eager render of one twin per (language, plan) with other personal data."""
    twins: dict[tuple[str, str], dict[str, str]] = {}
    for row in rows:
        twin = {**row, "customer_id": f"TWIN-{row['locale']}-{row['plan']}", "first_name": "Zed"}
        twins.setdefault((row["locale"], row["plan"]), twin)
    for twin in twins.values():
        _render(template, settings, twin, "warm", on_play=False)


def prepare(
    template: Template, settings: Settings, store: JobStore, rows: list[dict[str, str]]
) -> list[Recipient]:
    """Warm each row's shared scenes (an eager render of a twin with other personal data), then
    render the row on play and give it a page token."""
    storage = LocalStorage(Path(settings.storage_url))
    twins: dict[tuple[str, str], dict[str, str]] = {}
    for row in rows:
        twins.setdefault(
            (row["locale"], row["plan"]), {**row, "customer_id": f"TWIN-{len(twins)}", "first_name": "Zed"}
        )
    for twin in twins.values():
        _render(template, settings, twin, "warm", on_play=False)
    recipients = []
    for row in rows:
        stored = _render(template, settings, row, "play", on_play=True)
        folder = stored.outputs["video"].main.rsplit("/", 1)[0] + "/"
        plan, _ = read_stream_record(storage.get(folder + "stream.json"))
        token = store.links.create(TEMPLATE, "play", row["customer_id"], ttl_s=86_400)
        personal = [
            k for k, scene in enumerate(plan.scenes) if scene.personal and not storage.exists(scene.segment)
        ]
        recipients.append(Recipient(token, folder, plan.starts, personal))
    return recipients


def _get(connection: http.client.HTTPConnection, path: str) -> bytes:
    connection.request("GET", path)
    answer = connection.getresponse()
    body = answer.read()
    if answer.status != 200:
        raise RuntimeError(f"GET {path}: {answer.status}")
    return body


def play(port: int, recipient: Recipient) -> dict[str, float]:
    """Fetch the media playlists, then every video segment in order, as a player buffers: the
    seconds from the playlist request to each arrival."""
    base = f"/r/{recipient.token}/stream/"
    video = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    sound = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    video.request("GET", f"/r/{recipient.token}")  # the page view before the play
    video.getresponse().read()
    started = time.perf_counter()
    _get(video, base + "video.m3u8")
    _get(sound, base + "audio.m3u8")
    _get(sound, base + "a/init.mp4")
    _get(sound, base + "a/0.m4s")
    arrivals = {"audio": time.perf_counter() - started}
    _get(video, base + "v/init.mp4")
    for k in range(len(recipient.starts)):
        _get(video, base + f"v/{k}.m4s")
        arrivals[str(k)] = time.perf_counter() - started
    return arrivals


def first_latencies(port: int, recipients: list[Recipient]) -> tuple[list[float], list[float], list[float]]:
    """Per recipient: first personal segment, first segment, worst margin (arrival minus when the
    player reaches it; negative is early)."""
    personal, first, margins = [], [], []
    for recipient in recipients:
        arrivals = play(port, recipient)
        if recipient.personal:
            personal.append(arrivals[str(recipient.personal[0])])
        lead = max(arrivals["0"], arrivals["audio"])
        first.append(lead)
        margins.append(
            max(arrivals[str(k)] - (start + lead) for k, start in enumerate(recipient.starts) if k)
        )
    return personal, first, margins


def _stats(values: list[float]) -> str:
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    middle = statistics.median(ordered)
    return f"p50 {middle:.3f} s  p95 {p95:.3f} s  max {ordered[-1]:.3f} s  (n={len(ordered)})"


def stored_bytes(
    settings: Settings, template: Template, recipients: list[Recipient], rows: list[dict[str, str]]
) -> list[float]:
    """Each played recipient's own stream bytes over its eager MP4's bytes."""
    storage = LocalStorage(Path(settings.storage_url))
    ratios = []
    for recipient, row in zip(recipients, rows, strict=True):
        source = read_source(storage, recipient.folder)
        assert source is not None
        own = sum(
            storage.path(recipient.folder + source.plan.audio_file(k)).stat().st_size
            for k in range(len(source.plan.scenes))
        )
        own += sum(
            storage.path(s.segment).stat().st_size
            for s in source.plan.scenes
            if s.personal and storage.exists(s.segment)
        )
        own += storage.path(recipient.folder + "video.m3u8").stat().st_size
        eager = _render(template, settings, row, "eager-bytes", on_play=False)
        ratios.append(own / storage.path(eager.outputs["video"].main).stat().st_size)
    return ratios


def _cpu() -> float:
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def cpu_per_recipient(
    template: Template,
    settings: Settings,
    store: JobStore,
    sets: tuple[list[dict[str, str]], list[dict[str, str]]],
    view_rate: float,
) -> tuple[float, float]:
    """CPU seconds per recipient, shared scenes warm: an eager campaign of the first set, and the
    second (other people: no personal segment in common) on play with `view_rate` of them played."""
    storage = LocalStorage(Path(settings.storage_url))
    eager_rows, rows = sets
    warm_shared(template, settings, eager_rows + rows)
    started = _cpu()
    for row in eager_rows:
        _render(template, settings, row, "cpu-eager", on_play=False)
    eager = (_cpu() - started) / len(eager_rows)
    options = VideoOptions(open_tts(settings.tts_engine), settings.video_timeout_s, settings.video_preset)
    started = _cpu()
    played = max(1, round(view_rate * len(rows)))
    for index, row in enumerate(rows):
        stored = _render(template, settings, row, "cpu-play", on_play=True)
        if index < played:
            folder = stored.outputs["video"].main.rsplit("/", 1)[0] + "/"
            source = read_source(storage, folder)
            assert source is not None
            for piece in [AUDIO, *(f"video:{k}" for k in range(len(source.plan.scenes)))]:
                render_piece(store, storage, template, folder, piece, options)
    return eager, (_cpu() - started) / len(rows)


@contextmanager
def background_campaign(root: Path, settings: Settings, rows: int) -> Iterator[None]:
    """``tailor campaign`` rendering eager videos of `rows` recipients into its own storage."""
    (root / "campaign").mkdir(exist_ok=True)
    data = sample_csv(root / "campaign", rows, seed=7)
    env = {**os.environ, "TAILOR_DATABASE_URL": f"sqlite:///{root / 'campaign.db'}"}
    command = [sys.executable, "-m", "renderer", "campaign", TEMPLATE, str(data), "--campaign", "load"]
    command += ["--outputs", "microsite,video", "--out", str(root / "campaign-out")]
    process = subprocess.Popen(
        command, cwd=PROJECT_ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        time.sleep(5)  # its workers are rendering
        yield
    finally:
        process.terminate()
        process.wait(timeout=60)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--recipients", type=int, default=20)
    parser.add_argument("--cpu-rows", type=int, default=20)
    parser.add_argument("--view-rate", type=float, default=0.3)
    parser.add_argument("--phases", default="latency,bytes,cpu", help="which to run, comma-separated")
    args = parser.parse_args()
    phases = set(args.phases.split(","))
    root = Path(tempfile.mkdtemp(prefix="tailor-onplay-"))
    settings = load_settings(storage_url=str(root / "out"), database_url=f"sqlite:///{root / 'jobs.db'}")
    template = load_template(TEMPLATE, settings)
    store = open_store(settings.database_url)
    quiet = prepare(template, settings, store, _rows(root, args.recipients, seed=3))
    if "latency" in phases:
        latency(
            root, settings, quiet, prepare(template, settings, store, _rows(root, args.recipients, seed=5))
        )
    if "bytes" in phases:
        ratios = stored_bytes(settings, template, quiet, _rows(root, args.recipients, seed=3))
        print(f"own stream bytes / eager MP4: median {statistics.median(ratios):.0%}, max {max(ratios):.0%}")
    if "cpu" in phases:
        sets = (_rows(root, args.cpu_rows, seed=9), _rows(root, args.cpu_rows, seed=11))
        eager, on_play = cpu_per_recipient(template, settings, store, sets, args.view_rate)
        rate = f"{args.view_rate:.0%}"
        less = f"{eager / on_play:.1f}x less"
        print(f"CPU per recipient: eager {eager:.2f} s, on play at {rate} views {on_play:.2f} s ({less})")
    store.close()


def latency(root: Path, settings: Settings, quiet: list[Recipient], loaded: list[Recipient]) -> None:
    """Phases a and b: quiet, then with a campaign rendering in the background."""
    with serve(root, settings) as port:
        warm = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        warm.request("GET", f"/r/{quiet[0].token}")  # the first page view starts the stream processes
        warm.getresponse().read()
        time.sleep(5)
        personal, first, margins = first_latencies(port, quiet)
        print(f"first personal segment, quiet:   {_stats(personal)}")
        print(f"first segment + audio, quiet:    {_stats(first)}")
        print(f"worst arrival vs playback, quiet: {max(margins):+.3f} s (negative: ahead of the player)")
        with background_campaign(root, settings, 400):
            personal, first, margins = first_latencies(port, loaded)
        print(f"first personal segment, campaign running: {_stats(personal)}")
        print(f"first segment + audio, campaign running:  {_stats(first)}")
        print(f"worst arrival vs playback, campaign running: {max(margins):+.3f} s")


if __name__ == "__main__":
    main()
