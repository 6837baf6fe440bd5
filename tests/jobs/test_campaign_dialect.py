"""Recipient files written another way: a ';'-delimited Windows-1252 CSV (a spreadsheet's export)
is refused whole, in one message naming both options, and read right with --delimiter/--encoding
(CLI) or the form fields delimiter/encoding (API); rejects.csv names non-personal recipient ids."""

from __future__ import annotations

import csv
import io
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from fixture_api import ApiServer, make_api_fixture, wait_for  # noqa: F401

from renderer.jobs.service import wait_for_background
from renderer.settings import PROJECT_ROOT

pytestmark = pytest.mark.slow


def _tailor(*args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "renderer", *args]
    return subprocess.run(command, cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=300)


def _excel_export(tmp_path: Path, rows: int) -> tuple[Path, list[dict[str, str]]]:
    """Sample rows (de-DE, en-US, it-IT only: Windows-1252 can write them) with accented names,
    written as Excel does on a German Windows: ';' between values, Windows-1252 bytes."""
    source = tmp_path / "sample.csv"
    made = _tailor(
        "sample-data", "bill-summary", "--rows", str(rows * 4), "--seed", "4", "--out", str(source)
    )
    assert made.returncode == 0, made.stderr
    with source.open(encoding="utf-8", newline="") as handle:
        records = list(csv.DictReader(handle))
    chosen = [r for r in records if r["locale"] in ("de-DE", "en-US", "it-IT")][:rows]
    for index, record in enumerate(chosen):
        record["first_name"] = ("José", "Jürgen", "Zoë")[index % 3]
        for name, value in record.items():
            record[name] = value.encode("cp1252", "replace").decode("cp1252")
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(records[0]), delimiter=";", lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(chosen)
    data = tmp_path / "export.csv"
    data.write_bytes(buffer.getvalue().encode("cp1252"))
    return data, chosen


def test_cli_refuses_a_semicolon_windows_1252_file_in_one_message_and_reads_it_with_options(
    tmp_path: Path,
) -> None:
    data, rows = _excel_export(tmp_path, 6)
    out = tmp_path / "out"
    base = ["campaign", "bill-summary", str(data), "--out", str(out), "--outputs", "microsite"]
    refused = _tailor(*base, "--workers", "1")
    assert refused.returncode == 1
    errors = [line for line in refused.stderr.splitlines() if "error:" in line]
    assert len(errors) == 1, refused.stderr
    assert "row 1" in errors[0] and "--delimiter ';'" in errors[0] and "--encoding cp1252" in errors[0]
    assert "looks like Windows-1252" in errors[0] and "José" not in refused.stderr

    data_rows = data.read_bytes().split(b"\r\n")
    bad = data_rows[2].replace(b";de-DE;", b";xx-XX;").replace(b";en-US;", b";xx-XX;")
    data.write_bytes(b"\r\n".join([*data_rows[:2], bad.replace(b";it-IT;", b";xx-XX;"), *data_rows[3:]]))
    result = _tailor(*base, "--workers", "2", "--delimiter", ";", "--encoding", "cp1252")
    assert result.returncode == 0, result.stderr
    assert "5 rendered, 1 rejected, 0 failed" in result.stdout
    page = (out / "bill-summary" / "export" / rows[0]["customer_id"] / "index.html").read_text("utf-8")
    assert "José" in page
    with (out / "bill-summary" / "export" / "_campaign" / "rejects.csv").open(encoding="utf-8") as handle:
        rejects = list(csv.DictReader(handle))
    assert [(r["row"], r["recipient_id"], r["field"]) for r in rejects] == [
        ("3", rows[1]["customer_id"], "locale")
    ], "the recipient id is filled: the contract does not mark customer_id personal"


def test_api_upload_takes_delimiter_and_encoding_fields(
    make_api: Callable[..., ApiServer], tmp_path: Path
) -> None:
    api = make_api(workers=1)
    data, rows = _excel_export(tmp_path, 3)

    def upload(**fields: str) -> httpx.Response:
        form = {"template": "bill-summary", "outputs": "microsite", **fields}
        files = {"file": ("export.csv", data.read_bytes(), "text/csv")}
        return api.client().post("/campaigns", data=form, files=files)

    refused = upload()
    assert refused.status_code == 422, refused.text
    message = refused.json()["error"]["message"]
    assert "delimiter" in message and "encoding" in message and "cp1252" in message
    bad = upload(delimiter=";", encoding="klingon")
    assert bad.status_code == 422 and bad.json()["error"]["field"] == "encoding"
    created = upload(delimiter=";", encoding="cp1252")
    assert created.status_code == 201, created.text
    campaign_id = created.json()["id"]

    def finished() -> dict[str, object] | None:
        body: dict[str, object] = api.client().get(f"/campaigns/{campaign_id}").json()
        return body if body["status"] == "done" else None

    done = wait_for(finished, 120)
    wait_for_background(campaign_id, 30)
    assert (done["done"], done["rejected"], done["failed"]) == (3, 0, 0)
    page = (
        Path(api.settings.storage_url) / "bill-summary" / campaign_id / rows[0]["customer_id"] / "index.html"
    )
    assert "José" in page.read_text(encoding="utf-8")
