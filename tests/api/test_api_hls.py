"""The HLS playlist link the API hands out plays in a real HLS client (ffmpeg), segment by segment,
on S3 (moto in server mode) and on a local folder.

The video is rendered in the test process (a pool process of the server could lack this test's fake
AWS credentials, see `test_api_s3.py`) and recorded as a finished render job in the server's store;
the link comes from ``GET /renders/{id}``, as a client would get it.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Callable
from typing import Any

import pytest
from fixture_api import ApiServer, make_api_fixture  # noqa: F401
from fixture_s3 import REGION

from renderer.jobs.render_jobs import api_campaign
from renderer.jobs.store import open_store
from renderer.outputs.kind import RenderOptions
from renderer.outputs.load import load_template
from renderer.outputs.render import render_recipient
from renderer.storage import open_storage

pytestmark = [pytest.mark.video, pytest.mark.slow]


def _render_video_job(api: ApiServer) -> dict[str, Any]:
    """Render the en-US sample's video into the server's storage as a done job; the API's view of it."""
    template = load_template("bill-summary", api.settings)
    recipient = template.validator.validate(template.samples["en-US"])
    store, storage = (
        open_store(api.settings.database_url),
        open_storage(api.settings.storage_url, api.settings),
    )
    try:
        key = store.keys.verify(api.key)
        assert key is not None
        job = store.render_jobs.create(template.name, "US-1001", ["video"], api_key_id=key.id)
        keys = render_recipient(
            template, recipient, ["video"], storage, api_campaign(key.id), RenderOptions()
        ).to_record()
        assert store.render_jobs.finish(job.id, keys)
    finally:
        store.close()
        storage.close()
    answer = api.client().get(f"/renders/{job.id}")
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def _play(playlist_url: str) -> tuple[list[str], float]:
    """Read every segment of the playlist with ffmpeg's HLS demuxer (as a player would): the
    segment URLs it opened and the media duration it read, in seconds."""
    command = ["ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "info", "-i", playlist_url]
    command += ["-map", "0", "-c", "copy", "-f", "null", "-"]
    run = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    log = run.stderr
    assert run.returncode == 0, log[-2000:]
    # a refused segment shows as "HTTP error 403 Forbidden"; the log's hex addresses (0x...4033...)
    # must not read as one, so 403 counts only as a word of its own
    assert "error" not in log.lower() and not re.search(r"\b403\b", log), log[-2000:]
    opened = re.findall(r"Opening '([^']+\.ts[^']*)' for reading", log)
    times = re.findall(r"time=(\d+):(\d+):(\d+\.\d+)", log)
    assert times, log[-2000:]
    hours, minutes, seconds = times[-1]
    return opened, int(hours) * 3600 + int(minutes) * 60 + float(seconds)


def _check_playlist_plays(api: ApiServer, done: dict[str, Any]) -> None:
    links = done["links"]
    segments = sorted(name for name in links if re.fullmatch(r"video:video-\d{3}\.ts", name))
    assert len(segments) >= 2
    playlist = links["video:video.m3u8"]
    opened, seconds = _play(playlist)
    assert len(opened) == len(segments), opened
    assert playlist.startswith(f"{api.url}/r/"), "a playlist loads its segments relatively: the API serves it"
    assert all(url.startswith(f"{api.url}/r/") for url in opened)
    listed = api.client(key=None).get(playlist).text
    stated = sum(float(d) for d in re.findall(r"#EXTINF:([\d.]+),", listed))
    assert seconds == pytest.approx(stated, abs=0.5), "every segment was read to the end"


@pytest.mark.s3
def test_s3_playlist_link_plays_every_segment(
    make_api: Callable[..., ApiServer], moto_endpoint: str, s3_bucket: str
) -> None:
    api = make_api(storage_url=f"s3://{s3_bucket}/root", s3_endpoint_url=moto_endpoint, s3_region=REGION)
    done = _render_video_job(api)
    assert "X-Amz-Signature=" in done["links"]["video"], "plain files keep their presigned links"
    _check_playlist_plays(api, done)


def test_local_playlist_link_plays_every_segment(make_api: Callable[..., ApiServer]) -> None:
    api = make_api()
    _check_playlist_plays(api, _render_video_job(api))
