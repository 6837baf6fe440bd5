"""Campaigns with ``--video on-play``: each recipient's page, poster, thumbnail, tracks and stream
plan are stored, nothing is encoded (no MP4, no segment in the cache), the page plays the master
playlist, and the job store remembers the mode so a resume renders the same way."""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from renderer.errors import RenderError
from renderer.jobs.store import open_store
from renderer.jobs.video_mode import render_options, shown_video_mode, stored_video_mode
from renderer.outputs.kind import RenderOptions
from renderer.settings import PROJECT_ROOT

pytestmark = [pytest.mark.slow, pytest.mark.video]
ON_PLAY_FILES = {"index.html", "video.m3u8", "poster.jpg", "thumbnail.webp", "captions.vtt", "stream.json"}


def _tailor(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """The real CLI (``python -m renderer``) from the project root, output captured."""
    return subprocess.run(
        [sys.executable, "-m", "renderer", *args],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, **(env or {})},
    )


def _campaign(data: Path, out: Path, database: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    args = ["campaign", "bill-summary", str(data), "--out", str(out), "--outputs", "microsite,video"]
    return _tailor(*args, "--workers", "2", *extra, env={"TAILOR_DATABASE_URL": f"sqlite:///{database}"})


def _check_recipient(folder: Path) -> None:
    """One on-play recipient's folder: every eager file, a real 1280x720 JPEG poster, no MP4, and a
    page whose player plays the master playlist (its config says there is no MP4)."""
    names = {path.name for path in folder.iterdir()}
    assert names >= ON_PLAY_FILES, names
    assert "video.mp4" not in names
    with Image.open(io.BytesIO((folder / "poster.jpg").read_bytes())) as poster:
        poster.load()
        assert (poster.format, poster.size) == ("JPEG", (1280, 720))
    with Image.open(folder / "thumbnail.webp") as thumbnail:
        assert thumbnail.format == "WEBP"
    assert (folder / "video.m3u8").read_text(encoding="utf-8").startswith("#EXTM3U")
    record = json.loads((folder / "stream.json").read_text(encoding="utf-8"))
    assert set(record) == {"plan", "data", "decided"} and record["data"]["customer_id"] == folder.name
    page = (folder / "index.html").read_text(encoding="utf-8")
    assert '<source src="video.m3u8" type="application/vnd.apple.mpegurl">' in page
    assert "video.mp4" not in page
    config = re.search(r'<script type="application/json" data-tp="config">(.*?)</script>', page)
    assert config is not None
    assert json.loads(config.group(1))["mp4"] is None and json.loads(config.group(1))["hls"] == "video.m3u8"


def test_an_on_play_campaign_stores_the_page_and_stills_and_encodes_nothing(tmp_path: Path) -> None:
    data, out, database = tmp_path / "r.csv", tmp_path / "out", tmp_path / "jobs.db"
    made = _tailor("sample-data", "bill-summary", "--rows", "2", "--seed", "5", "--out", str(data))
    assert made.returncode == 0, made.stderr

    ran = _campaign(data, out, database, "--video", "on-play")

    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert "2 rendered, 0 rejected, 0 failed" in ran.stdout
    manifest = (out / "bill-summary" / "r" / "_campaign" / "manifest.jsonl").read_text(encoding="utf-8")
    entries = [json.loads(line) for line in manifest.splitlines()]
    assert len(entries) == 2
    for entry in entries:
        assert entry["outputs"]["video"].endswith(f"/{entry['recipient_id']}/video.m3u8")
        _check_recipient(out / "bill-summary" / "r" / entry["recipient_id"])
    assert not list(out.glob("cache/segments/*.m4s")), "nothing is encoded before it is played"
    assert not list(out.rglob("*.mp4")), "no MP4 and no init segment"
    store = open_store(f"sqlite:///{database}")
    try:
        campaign = store.campaigns.get("r")
        assert campaign is not None and campaign.video_mode == "on-play"
    finally:
        store.close()

    # a rerun resumes in the mode the campaign was started with, and refuses another one
    other = _campaign(data, out, database)
    assert other.returncode == 1 and "already ran with video on-play" in other.stderr, other.stderr
    again = _campaign(data, out, database, "--video", "on-play")
    assert again.returncode == 0 and "2 recipients were already rendered" in again.stdout, again.stderr


def test_on_play_without_the_video_output_is_a_usage_error(tmp_path: Path) -> None:
    data = tmp_path / "r.csv"
    data.write_text("customer_id\n", encoding="utf-8")
    args = ["campaign", "bill-summary", str(data), "--out", str(tmp_path / "out"), "--outputs", "microsite"]
    refused = _tailor(*args, "--video", "on-play")
    assert refused.returncode == 2
    assert "video on-play needs the video output" in refused.stderr
    assert not (tmp_path / "out").exists(), "nothing is started"
    bad = _tailor(*args, "--video", "later")
    assert bad.returncode == 2 and "--video" in bad.stderr


def test_the_stored_mode_turns_a_workers_options_on_play_and_back() -> None:
    process = RenderOptions(tts_engine="fake")
    assert render_options(process, "on-play") == RenderOptions(tts_engine="fake", video_on_play=True)
    assert render_options(process, None) is process
    assert render_options(RenderOptions(video_on_play=True), None).video_on_play is False
    assert stored_video_mode("eager", ["video"]) is None and stored_video_mode(None, []) is None
    assert stored_video_mode("on-play", ["microsite", "video"]) == "on-play"
    assert (shown_video_mode(None), shown_video_mode("on-play")) == ("eager", "on-play")
    with pytest.raises(RenderError, match="needs the video output"):
        stored_video_mode("on-play", ["microsite", "pdf"])
    with pytest.raises(RenderError, match="is not one of eager, on-play"):
        stored_video_mode("lazy", ["video"])
