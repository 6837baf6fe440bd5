"""The API on S3 storage (moto in server mode): presigned links, pages streamed, uploads from disk."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import httpx
import pytest
from fixture_api import ApiServer, csv_bytes, make_api_fixture, sample_rows, wait_for  # noqa: F401
from fixture_s3 import REGION

from renderer.jobs.service import wait_for_background
from renderer.storage.s3 import S3Storage

pytestmark = [pytest.mark.s3, pytest.mark.pdf]


@pytest.fixture
def s3_api(make_api: Callable[..., ApiServer], moto_endpoint: str, s3_bucket: str) -> ApiServer:
    """A server storing outputs in ``s3://{bucket}/root`` on moto, with one worker: campaign rows
    then render in the server's own process, which has this test's fake credentials (a local
    pool's processes come from a fork server that an earlier test may have started without them)."""
    storage_url = f"s3://{s3_bucket}/root"
    return make_api(storage_url=storage_url, s3_endpoint_url=moto_endpoint, s3_region=REGION, workers=1)


def _render(api: ApiServer, sample: str = "en-US") -> dict[str, Any]:
    recipient = api.client().get("/templates/bill-summary", params={"sample": sample}).json()["sample"]
    answer = api.client().post("/templates/bill-summary/renders", json={"recipient": recipient})
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def test_outputs_on_s3_get_presigned_links_and_pages_stream(s3_api: ApiServer, s3_bucket: str) -> None:
    body = _render(s3_api)
    pdf_link = body["links"]["pdf"]
    assert s3_bucket in pdf_link and "X-Amz-Signature=" in pdf_link
    with httpx.Client(trust_env=False) as outsider:
        assert outsider.get(pdf_link).content.startswith(b"%PDF")
        assert outsider.get(pdf_link.split("?")[0]).status_code == 403  # private without the signature
    assert body["links"]["microsite"].startswith(f"{s3_api.url}/r/")  # pages need the API (relative links)
    browser = s3_api.client(key=None)
    page = browser.get(body["page_url"], follow_redirects=True)
    assert page.status_code == 200 and "Emily" in page.text
    css = re.search(r'href="(\.\./\.\./_static/[^"]+\.css)"', page.text)
    assert css
    assert browser.get(urljoin(str(page.url), css.group(1))).headers["content-type"].startswith("text/css")
    ranged = browser.get(urljoin(str(page.url), "bill.pdf"), headers={"Range": "bytes=0-3"})
    assert ranged.status_code == 206 and ranged.content == b"%PDF"
    assert ranged.headers["content-range"].startswith("bytes 0-3/")
    outside = browser.get(urljoin(str(page.url), "bill.pdf"), headers={"Range": "bytes=999999999-"})
    assert outside.status_code == 416


def test_erasure_on_s3(s3_api: ApiServer, s3_admin: Any, s3_bucket: str) -> None:
    _render(s3_api, "de-DE")
    prefix = f"root/bill-summary/{s3_api.segment}/DE-2002/"
    assert s3_admin.list_objects_v2(Bucket=s3_bucket, Prefix=prefix)["KeyCount"] == 2
    erased = s3_api.client().delete("/recipients/DE-2002").json()
    assert erased["objects_deleted"] == 2
    assert s3_admin.list_objects_v2(Bucket=s3_bucket, Prefix=prefix)["KeyCount"] == 0


@pytest.mark.slow
def test_campaign_upload_goes_to_the_bucket(s3_api: ApiServer, s3_admin: Any, s3_bucket: str) -> None:
    data = csv_bytes(sample_rows(s3_api.settings, 2, seed=9))
    files = {"file": ("r.csv", data, "text/csv")}
    created = s3_api.client().post("/campaigns", data={"template": "bill-summary"}, files=files)
    assert created.status_code == 201, created.text
    listed = s3_admin.list_objects_v2(Bucket=s3_bucket, Prefix="root/_uploads/")["Contents"]
    [upload] = [item["Key"] for item in listed]
    assert upload.endswith("/r.csv")
    assert s3_admin.get_object(Bucket=s3_bucket, Key=upload)["Body"].read() == data
    campaign_id = created.json()["id"]
    wait_for(lambda: s3_api.client().get(f"/campaigns/{campaign_id}").json()["status"] == "done")
    wait_for_background(campaign_id, 30)
    assert s3_api.client().get(f"/campaigns/{campaign_id}").json()["done"] == 2

    body = {"template": "bill-summary", "outputs": ["microsite"], "source": f"s3://{s3_bucket}/{upload}"}
    again = s3_api.client().post("/campaigns", json=body)
    assert again.status_code == 201, again.text
    wait_for(lambda: s3_api.client().get(f"/campaigns/{again.json()['id']}").json()["status"] == "done")
    wait_for_background(again.json()["id"], 30)
    wrong = s3_api.client().post("/campaigns", json={**body, "source": f"s3://other-bucket/{upload}"})
    assert wrong.status_code == 422 and json.loads(wrong.text)["error"]["code"] == "invalid_source"


def test_s3_files_stream_both_ways(s3_storage: S3Storage, tmp_path: Path) -> None:
    source = tmp_path / "big.csv"
    source.write_bytes(b"x" * (9 << 20))  # above the multipart threshold
    s3_storage.put_file("_uploads/a/big.csv", source, "text/csv")
    target = tmp_path / "back.csv"
    s3_storage.download("_uploads/a/big.csv", target)
    assert target.read_bytes() == source.read_bytes()
    stream = s3_storage.stream("_uploads/a/big.csv", "bytes=10-19")
    try:
        assert b"".join(stream.chunks) == b"x" * 10 and stream.content_range == f"bytes 10-19/{9 << 20}"
        assert stream.content_type == "text/csv"
    finally:
        stream.close()
    with pytest.raises(ValueError):
        s3_storage.stream("_uploads/a/big.csv", f"bytes={10 << 20}-")
    from renderer.errors import StorageError

    with pytest.raises(StorageError, match="no object"):
        s3_storage.download("_uploads/a/missing.csv", target)
    with pytest.raises(StorageError, match="no object"):
        s3_storage.stream("_uploads/a/missing.csv")
