"""Campaigns through the API over real HTTP: uploads, progress, results, rejects, cancel and resume."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fixture_api import ApiServer, api_fixture, csv_bytes, make_api_fixture, sample_rows, wait_for  # noqa: F401

from renderer.api.keys import create_key
from renderer.jobs.service import wait_for_background

pytestmark = [pytest.mark.slow, pytest.mark.pdf]
FINISHED = ("done", "failed", "cancelled")


def _upload(
    api: ApiServer,
    data: bytes,
    *,
    filename: str = "recipients.csv",
    fields: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
    key: str | None = "default",
) -> httpx.Response:
    form = {"template": "bill-summary", "outputs": "microsite,pdf", **(fields or {})}
    files = {"file": (filename, data, "text/csv")}
    return api.client(key=key).post("/campaigns", data=form, files=files, headers=headers or {})


def _finished(api: ApiServer, campaign_id: str, timeout_s: float = 180) -> dict[str, Any]:
    def poll() -> dict[str, Any] | None:
        body: dict[str, Any] = api.client().get(f"/campaigns/{campaign_id}").json()
        return body if body["status"] in FINISHED and body["pending"] == 0 else None

    result: dict[str, Any] = wait_for(poll, timeout_s)
    wait_for_background(campaign_id, 30)  # the ingest thread lives in this process (the server's)
    return result


def _error(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    error: dict[str, Any] = response.json()["error"]
    assert error["code"] == code, error
    return error


def _lines(response: httpx.Response) -> list[dict[str, Any]]:
    assert response.status_code == 200, response.text
    return [json.loads(line) for line in response.text.splitlines()]


@pytest.fixture(scope="module")
def rows(api: ApiServer) -> list[dict[str, Any]]:
    """Twelve synthetic recipients (ids C-1 ... C-12)."""
    return sample_rows(api.settings, 12, seed=3)


def test_upload_renders_every_row_and_lists_results(api: ApiServer, rows: list[dict[str, Any]]) -> None:
    created = _upload(api, csv_bytes(rows[:6]))
    assert created.status_code == 201, created.text
    campaign = created.json()
    assert created.headers["location"] == f"/campaigns/{campaign['id']}"
    assert campaign["outputs"] == ["microsite", "pdf"] and campaign["template"] == "bill-summary"
    done = _finished(api, campaign["id"])
    assert (done["status"], done["total"], done["done"], done["rejected"], done["failed"]) == (
        "done",
        6,
        6,
        0,
        0,
    )

    results = _lines(api.client().get(done["results_url"], params={"links": "true"}))
    assert [r["row"] for r in results] == [2, 3, 4, 5, 6, 7]
    assert {r["recipient_id"] for r in results} == {row["customer_id"] for row in rows[:6]}
    first = results[0]
    assert first["status"] == "done" and first["outputs"]["pdf"].endswith(
        f"/{first['recipient_id']}/bill.pdf"
    )
    page = api.client(key=None).get(first["page_url"], follow_redirects=True)
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")

    as_csv = api.client().get(done["results_url"], params={"format": "csv"})
    assert as_csv.headers["content-type"].startswith("text/csv")
    table = list(csv.DictReader(io.StringIO(as_csv.text)))
    assert list(table[0]) == ["row", "recipient_id", "status", "microsite", "pdf", "error"]
    assert len(table) == 6 and table[0]["pdf"] == first["outputs"]["pdf"]
    assert _lines(api.client().get(done["rejects_url"])) == []


def test_rejects_name_rows_and_reasons_never_values(api: ApiServer, rows: list[dict[str, Any]]) -> None:
    good = csv_bytes(rows[6:9])
    header, *lines = good.decode().splitlines(keepends=True)
    bad_amount = lines[0].replace(rows[6]["customer_id"], "C-900", 1).replace("https://", "nota://", 1)
    nul = lines[1].replace(rows[7]["customer_id"], "C-901\x00", 1)
    latin1 = lines[2].replace(rows[8]["customer_id"], "C-902", 1).encode().replace(b"C-902", b"C-902\xe9")
    body = (header + "".join(lines) + bad_amount + nul).encode() + latin1 + b"too,few,columns\n"
    created = _upload(api, body)
    assert created.status_code == 201, created.text
    done = _finished(api, created.json()["id"])
    assert (done["done"], done["rejected"], done["total"]) == (3, 4, 7)
    rejects = _lines(api.client().get(done["rejects_url"]))
    by_row = {r["row"]: r for r in rejects}
    assert sorted(by_row) == [5, 6, 7, 8]
    assert by_row[5]["field"] == "pay_url"
    assert by_row[5]["recipient_id"] == "C-900"  # the contract does not mark ids personal
    assert by_row[6]["recipient_id"] == by_row[8]["recipient_id"] == ""  # no valid id to show
    assert by_row[6]["reason"] == "contains a NUL byte" and by_row[7]["reason"] == "is not valid UTF-8 text"
    assert "header has" in by_row[8]["reason"]
    assert "nota://" not in json.dumps(rejects)
    as_csv = api.client().get(done["rejects_url"], params={"format": "csv"}).text
    assert as_csv.splitlines()[0] == "row,field,reason,recipient_id" and len(as_csv.splitlines()) == 5
    assert as_csv.splitlines()[1].endswith(",C-900")


def test_bad_uploads_are_refused_before_a_campaign_starts(api: ApiServer, rows: list[dict[str, Any]]) -> None:
    data = csv_bytes(rows[:2])
    header = data.decode().splitlines()[0]
    missing = data.decode().replace(header, header.replace(",pay_url", ""), 1)
    error = _error(_upload(api, missing.encode()), 422, "invalid_source")
    assert error["row"] == 1 and "pay_url" in error["message"] and "recipients.csv" in error["message"]
    _error(_upload(api, b""), 422, "invalid_source")
    _error(_upload(api, b"\xff\xfe,bad\n"), 422, "invalid_source")
    _error(_upload(api, data, filename="recipients.xlsx"), 415, "unsupported_file_type")
    _error(_upload(api, data, fields={"template": "nope"}), 404, "template_not_found")
    _error(_upload(api, data, fields={"template": ""}), 422, "invalid_request")
    _error(_upload(api, data, fields={"outputs": "microsite,hologram"}), 422, "invalid_outputs")
    _error(
        api.client().post("/campaigns", content=b"x", headers={"Content-Type": "text/csv"}),
        415,
        "unsupported_media_type",
    )
    _error(
        api.client().post("/campaigns", content=b"--x\r\n", headers={"Content-Type": "multipart/form-data"}),
        400,
        "bad_request",
    )
    _error(api.client().post("/campaigns", json={"template": "bill-summary"}), 422, "invalid_request")
    _error(
        api.client().post("/campaigns", content=b"{", headers={"Content-Type": "application/json"}),
        400,
        "malformed_json",
    )
    uploads = Path(api.settings.storage_url) / "_uploads"
    assert not uploads.exists() or not any(
        p.is_file() and p.name.startswith(".tmp") for p in uploads.rglob("*")
    )


def test_idempotency_key_returns_the_same_campaign(api: ApiServer, rows: list[dict[str, Any]]) -> None:
    data = csv_bytes(rows[9:11])
    first = _upload(api, data, headers={"Idempotency-Key": "order-42"})
    again = _upload(api, data, headers={"Idempotency-Key": "order-42"})
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["id"] == again.json()["id"]
    conflict = _upload(api, data, headers={"Idempotency-Key": "order-42"}, fields={"outputs": "microsite"})
    _error(conflict, 409, "idempotency_conflict")
    other_key = create_key(api.settings, "another tenant")
    theirs = _upload(api, data, headers={"Idempotency-Key": "order-42"}, key=other_key)
    assert theirs.status_code == 201 and theirs.json()["id"] != first.json()["id"]
    _finished(api, first.json()["id"])
    wait_for(
        lambda: api.client(key=other_key).get(f"/campaigns/{theirs.json()['id']}").json()["status"] == "done"
    )
    wait_for_background(theirs.json()["id"], 30)


def test_campaigns_of_other_keys_are_not_found(api: ApiServer, rows: list[dict[str, Any]]) -> None:
    created = _upload(api, csv_bytes(rows[11:12])).json()
    stranger = create_key(api.settings, "stranger")
    for path in ("", "/results", "/rejects"):
        _error(api.client(key=stranger).get(f"/campaigns/{created['id']}{path}"), 404, "campaign_not_found")
    _error(api.client(key=stranger).post(f"/campaigns/{created['id']}/cancel"), 404, "campaign_not_found")
    _error(api.client().get("/campaigns/0123456789abcdef0123456789abcdef"), 404, "campaign_not_found")
    _error(api.client().get(f"/campaigns/{'f' * 300}"), 404, "campaign_not_found")
    _finished(api, created["id"])


def test_cancel_then_resume_renders_each_row_once(api: ApiServer) -> None:
    rows = sample_rows(api.settings, 40, seed=11)
    created = _upload(api, csv_bytes(rows))
    campaign_id = created.json()["id"]
    cancelled = api.client().post(f"/campaigns/{campaign_id}/cancel")
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    wait_for_background(campaign_id, 120)
    paused = api.client().get(f"/campaigns/{campaign_id}").json()
    assert paused["status"] == "cancelled" and paused["done"] < 40
    _error(api.client().post(f"/campaigns/{campaign_id}/cancel"), 409, "campaign_finished")
    resumed = api.client().post(f"/campaigns/{campaign_id}/resume")
    assert resumed.status_code == 202 and resumed.json()["status"] == "running"
    done = _finished(api, campaign_id)
    assert (done["status"], done["done"], done["failed"]) == ("done", 40, 0)
    results = _lines(api.client().get(f"/campaigns/{campaign_id}/results"))
    assert len(results) == 40 and len({r["recipient_id"] for r in results}) == 40
    _error(api.client().post(f"/campaigns/{campaign_id}/resume"), 409, "campaign_done")


def test_cancel_during_ingest_stops_streaming_rows_into_the_store(api: ApiServer) -> None:
    """3,000 rows: the cancel arrives while the first batches are recorded; the ingest stops
    within a batch (500 rows) instead of streaming the whole file, and the total stays unset."""
    created = _upload(api, csv_bytes(sample_rows(api.settings, 3000, seed=5)))
    assert created.status_code == 201, created.text
    campaign_id = created.json()["id"]
    assert api.client().post(f"/campaigns/{campaign_id}/cancel").status_code == 200
    wait_for_background(campaign_id, 120)
    paused = api.client().get(f"/campaigns/{campaign_id}").json()
    assert paused["status"] == "cancelled"
    assert paused["rows"] <= 1000 and paused["total"] is None, paused


def test_json_body_starts_a_campaign_from_a_stored_file(api: ApiServer, rows: list[dict[str, Any]]) -> None:
    stored = Path(api.settings.storage_url) / "_uploads" / "manual" / "batch.jsonl"
    stored.parent.mkdir(parents=True, exist_ok=True)
    stored.write_text("".join(json.dumps(row, default=str) + "\n" for row in rows[:3]), encoding="utf-8")
    body = {"template": "bill-summary", "outputs": ["microsite"], "source": "_uploads/manual/batch.jsonl"}
    created = api.client().post("/campaigns", json=body)
    assert created.status_code == 201, created.text
    done = _finished(api, created.json()["id"])
    assert (done["done"], done["outputs"]) == (3, ["microsite"])
    for source, code in [
        ("file:///etc/passwd", "invalid_source"),
        ("s3://bucket/key.csv", "invalid_source"),
        ("../../etc/passwd.csv", "invalid_source"),
        ("_uploads/manual/missing.csv", "source_not_found"),
        ("_uploads/manual/batch.txt", "invalid_source"),
    ]:
        _error(api.client().post("/campaigns", json={**body, "source": source}), 422, code)


# ---- servers with other settings ---------------------------------------------------------------------


@pytest.fixture
def tiny(make_api: Callable[..., ApiServer]) -> ApiServer:
    """A server that accepts uploads of at most 2,000 bytes."""
    return make_api(max_upload_bytes=2_000)


def test_upload_past_the_limit_is_refused_while_streaming(tiny: ApiServer) -> None:
    rows = sample_rows(tiny.settings, 20)
    data = csv_bytes(rows)
    assert len(data) > 2_000
    _error(_upload(tiny, data), 413, "upload_too_large")

    def chunks() -> Iterator[bytes]:  # no Content-Length: the limit must hold while streaming
        boundary = b"tailorboundary"
        yield (
            b"--" + boundary + b'\r\nContent-Disposition: form-data; name="template"\r\n\r\nbill-summary\r\n'
        )
        yield b"--" + boundary + b'\r\nContent-Disposition: form-data; name="file"; filename="r.csv"\r\n\r\n'
        for start in range(0, len(data), 500):
            yield data[start : start + 500]
        yield b"\r\n--" + boundary + b"--\r\n"

    headers = {"Content-Type": "multipart/form-data; boundary=tailorboundary"}
    streamed = tiny.client().post("/campaigns", content=chunks(), headers=headers)
    _error(streamed, 413, "upload_too_large")
    uploads = Path(tiny.settings.storage_url) / "_uploads"
    assert not uploads.exists() or not [p for p in uploads.rglob("*") if p.is_file()]
    small = _upload(tiny, csv_bytes(rows[:1]))
    assert small.status_code == 201, small.text
    _finished(tiny, small.json()["id"])


def test_broker_down_answers_503_with_retry_after(make_api: Callable[..., ApiServer]) -> None:
    down = make_api(broker_url="redis://127.0.0.1:1/0")
    answer = _upload(down, csv_bytes(sample_rows(down.settings, 1)))
    error = _error(answer, 503, "broker_unavailable")
    assert int(answer.headers["retry-after"]) > 0 and "127.0.0.1" not in error["message"]
    ready = down.client(key=None).get("/readyz")
    assert ready.status_code == 503 and ready.json()["checks"]["broker"]["status"] == "down"
