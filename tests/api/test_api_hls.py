"""The HLS playlist link the API hands out plays in a real HLS client (ffmpeg): master playlist,
video and audio media playlists, every segment decoded; on S3 (moto in server mode) and on a
local folder. On S3 the token's own stream (``/r/{token}/stream/``) lists presigned segment URLs.

The video is rendered in the test process (a pool process of the server could lack this test's fake
AWS credentials, see `test_api_s3.py`) and recorded as a finished render job in the server's store;
the link comes from ``GET /renders/{id}``, as a client would get it.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Callable
from typing import Any

import httpx
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


def _ffmpeg(args: list[str]) -> str:
    command = ["ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "info", *args]
    run = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    log = run.stderr
    assert run.returncode == 0, log[-2000:]
    # a refused segment shows as "HTTP error 403 Forbidden"; the log's hex addresses (0x...4033...)
    # must not read as one, so 403 counts only as a word of its own
    assert "error" not in log.lower() and not re.search(r"\b403\b", log), log[-2000:]
    return log


def _play(playlist_url: str) -> list[str]:
    """Read the master playlist and every segment it leads to with ffmpeg's HLS demuxer, as a
    player would: the segment URLs it opened (it finds the video and the audio rendition)."""
    log = _ffmpeg(["-i", playlist_url, "-map", "0", "-c", "copy", "-f", "null", "-"])
    assert re.search(r"Stream #0:\d+.*: Video: h264", log) and re.search(r"Stream #0:\d+.*: Audio: aac", log)
    return re.findall(r"Opening '([^']+\.m4s[^']*)' for reading", log)


def _decode_each(media_url: str) -> int:
    """Decode every segment of a media playlist, each after its init segment (ffmpeg's HLS
    demuxer does not apply EXT-X-DISCONTINUITY, so it cannot decode across them): frames."""
    listed = httpx.get(media_url, timeout=30, trust_env=False).text
    base = media_url.rsplit("/", 1)[0] + "/"
    init = base + re.search(r'#EXT-X-MAP:URI="([^"]+)"', listed).group(1)  # type: ignore[union-attr]
    frames = 0
    for segment in re.findall(r"^(v/\d+\.m4s)$", listed, re.M):
        log = _ffmpeg(
            [
                "-protocol_whitelist",
                "concat,http,tcp",
                "-i",
                f"concat:{init}|{base}{segment}",
                "-f",
                "null",
                "-",
            ]
        )
        frames += int(re.findall(r"frame=\s*(\d+)", log)[-1])
    return frames


def _check_playlist_plays(api: ApiServer, done: dict[str, Any]) -> None:
    links = done["links"]
    playlist = links["hls"] if "hls" in links else links["video:video.m3u8"]
    assert playlist.startswith(f"{api.url}/r/"), "a playlist loads its segments relatively: the API serves it"
    opened = _play(playlist)
    media = playlist.rsplit("/", 1)[0] + "/stream/video.m3u8"
    listed = api.client(key=None).get(media).text
    lengths = [float(d) for d in re.findall(r"#EXTINF:([\d.]+),", listed)]
    assert len(opened) == 2 * len(lengths), "every video and audio segment was read"
    assert all(url.startswith(f"{api.url}/r/") for url in opened), "the page's stream goes through the API"
    assert _decode_each(media) == round(sum(lengths) * 30), "every frame of every segment decodes"


@pytest.mark.s3
def test_s3_playlist_link_plays_every_segment(
    make_api: Callable[..., ApiServer], moto_endpoint: str, s3_bucket: str
) -> None:
    api = make_api(storage_url=f"s3://{s3_bucket}/root", s3_endpoint_url=moto_endpoint, s3_region=REGION)
    done = _render_video_job(api)
    assert "X-Amz-Signature=" in done["links"]["video"], "plain files keep their presigned links"
    _check_playlist_plays(api, done)
    token = done["page_url"].rsplit("/", 1)[1]
    opened = _play(f"{api.url}/r/{token}/video.m3u8")
    assert opened and all("X-Amz-Signature=" in url for url in opened), "the token's stream reads from S3"


def test_local_playlist_link_plays_every_segment(make_api: Callable[..., ApiServer]) -> None:
    api = make_api()
    _check_playlist_plays(api, _render_video_job(api))
