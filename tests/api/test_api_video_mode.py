"""``video: on-play`` through the API over real HTTP: a campaign and a one-off render store the
page, poster and stream plan without an MP4, show their mode back, and refuse on-play without the
video output (422 naming the ``video`` field)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from fixture_api import ApiServer, api_fixture, csv_bytes, sample_rows, wait_for  # noqa: F401

from renderer.jobs.service import wait_for_background

pytestmark = [pytest.mark.slow, pytest.mark.video]


def _error(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    error: dict[str, Any] = response.json()["error"]
    assert error["code"] == code, error
    return error


def _upload(api: ApiServer, data: bytes, **fields: str) -> httpx.Response:
    form = {"template": "bill-summary", "outputs": "microsite,video", **fields}
    return api.client().post("/campaigns", data=form, files={"file": ("r.csv", data, "text/csv")})


def _no_mp4_but_the_stream(folder: Path) -> None:
    names = {path.name for path in folder.iterdir()}
    assert {"index.html", "video.m3u8", "poster.jpg", "thumbnail.webp", "stream.json"} <= names, names
    assert "video.mp4" not in names


def test_an_on_play_campaign_shows_its_mode_and_renders_no_mp4(api: ApiServer) -> None:
    rows = sample_rows(api.settings, 2, seed=11)
    created = _upload(api, csv_bytes(rows), video="on-play")
    assert created.status_code == 201, created.text
    assert created.json()["video"] == "on-play"
    campaign_id = created.json()["id"]

    def finished() -> dict[str, Any] | None:
        body: dict[str, Any] = api.client().get(f"/campaigns/{campaign_id}").json()
        return body if body["status"] == "done" and body["pending"] == 0 else None

    done = wait_for(finished, 180)
    wait_for_background(campaign_id, 30)
    assert (done["done"], done["failed"], done["video"]) == (2, 0, "on-play")
    results = api.client().get(done["results_url"]).text.splitlines()
    assert len(results) == 2 and all('/video.m3u8"' in line for line in results)
    for row in rows:
        _no_mp4_but_the_stream(
            Path(api.settings.storage_url) / "bill-summary" / campaign_id / row["customer_id"]
        )
    assert not list(Path(api.settings.storage_url).glob("cache/segments/*.m4s"))


def test_campaigns_are_eager_unless_asked_and_on_play_needs_the_video_output(api: ApiServer) -> None:
    rows = csv_bytes(sample_rows(api.settings, 1, seed=12))
    eager = _upload(api, rows, outputs="microsite")
    assert eager.status_code == 201 and eager.json()["video"] == "eager", eager.text
    error = _error(_upload(api, rows, outputs="microsite,pdf", video="on-play"), 422, "invalid_video")
    assert error["field"] == "video" and "needs the video output" in error["message"]
    _error(_upload(api, rows, video="sometimes"), 422, "invalid_video")
    body = {
        "template": "bill-summary",
        "outputs": ["microsite"],
        "source": "_uploads/x.csv",
        "video": "on-play",
    }
    assert _error(api.client().post("/campaigns", json=body), 422, "invalid_video")["field"] == "video"
    refused = api.client().post("/campaigns", json={**body, "video": "later"})
    assert refused.status_code == 422, refused.text
    wait_for_background(eager.json()["id"], 60)


def test_a_one_off_on_play_render_is_a_quick_job_without_an_mp4(api: ApiServer) -> None:
    sample = api.client().get("/templates/bill-summary", params={"sample": "en-US"}).json()["sample"]
    url = "/templates/bill-summary/renders"
    refused = api.client().post(url, json={"recipient": sample, "outputs": ["microsite"], "video": "on-play"})
    assert _error(refused, 422, "invalid_video")["field"] == "video"

    answer = api.client().post(
        url, json={"recipient": sample, "outputs": ["microsite", "video"], "video": "on-play"}
    )
    assert answer.status_code == 202 and answer.json()["video"] == "on-play", answer.text

    def done() -> dict[str, Any] | None:
        body: dict[str, Any] = api.client().get(f"/renders/{answer.json()['id']}").json()
        return body if body["status"] in ("done", "failed") else None

    job = wait_for(done, 120)
    assert (job["status"], job["video"]) == ("done", "on-play"), job
    assert "video" in job["links"] and job["links"]["video"].endswith("/video.m3u8"), job["links"]
    _no_mp4_but_the_stream(Path(api.settings.storage_url) / "bill-summary" / api.segment / "US-1001")


def test_the_video_mode_is_documented_in_openapi(api: ApiServer) -> None:
    spec = api.client(key=None).get("/openapi.json").json()
    schemas = spec["components"]["schemas"]
    campaign = spec["paths"]["/campaigns"]["post"]["requestBody"]["content"]
    for model in (schemas["RenderRequest"], campaign["application/json"]["schema"]):
        video = model["properties"]["video"]
        assert (video["enum"], video["default"]) == (["eager", "on-play"], "eager"), model
        assert "on-play" in video["description"]
    assert campaign["multipart/form-data"]["schema"]["properties"]["video"]["enum"] == ["eager", "on-play"]
    assert schemas["CampaignOut"]["properties"]["video"]["enum"] == ["eager", "on-play"]
    assert "video" in schemas["CampaignOut"]["required"]
    assert schemas["RenderOut"]["properties"]["video"]["enum"] == ["eager", "on-play"]
