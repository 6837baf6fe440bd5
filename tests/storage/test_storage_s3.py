"""S3Storage against moto in server mode (a real HTTP endpoint in a subprocess), with no mocks.

The backend contract shared with the local and memory backends lives in test_storage.py (its
`storage` fixture includes S3); this module covers what only S3 has: conditional writes, presigned
links, server-side encryption, retries through a flaky proxy and errors from a dead endpoint.
"""

from __future__ import annotations

import re
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from fixture_s3 import REGION, FlakyProxy, free_port

from renderer.errors import StorageError
from renderer.storage.s3 import S3Storage

pytestmark = pytest.mark.s3
Make = Callable[..., S3Storage]
KEY = "bill-summary/demo/C-1/index.html"
SHOWN = "bill-summary/demo/…/index.html"  # errors mask the recipient segment of a key
# urllib without any configured HTTP proxy: these requests go straight to moto on loopback
DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def _puts(proxy: FlakyProxy) -> list[dict[str, str]]:
    return [headers for method, _path, headers in proxy.seen if method == "PUT"]


def test_objects_live_under_the_url_prefix_and_stay_private(
    s3_storage: S3Storage, s3_admin: Any, s3_bucket: str
) -> None:
    s3_storage.put(KEY, b"<p>hi</p>", "text/html")
    stored = s3_admin.get_object(Bucket=s3_bucket, Key=f"root/{KEY}")
    assert stored["Body"].read() == b"<p>hi</p>"
    assert stored["ContentType"] == "text/html"
    grants = s3_admin.get_object_acl(Bucket=s3_bucket, Key=f"root/{KEY}")["Grants"]
    assert [grant["Permission"] for grant in grants] == ["FULL_CONTROL"]  # the owner only
    assert all("URI" not in grant["Grantee"] for grant in grants)  # no AllUsers / AuthenticatedUsers
    s3_admin.put_object(Bucket=s3_bucket, Key="elsewhere/x", Body=b"x")
    assert list(s3_storage.keys()) == [KEY]  # keys are relative to the root; outside is invisible


def test_put_if_absent_sends_a_conditional_write(make_s3_storage: Make, flaky_proxy: FlakyProxy) -> None:
    storage = make_s3_storage(flaky_proxy.url)
    assert storage.put_if_absent(KEY, b"first") is True
    assert storage.put_if_absent(KEY, b"second") is False  # moto answered 412 PreconditionFailed
    assert storage.get(KEY) == b"first"
    puts = _puts(flaky_proxy)
    assert len(puts) == 2 and all(headers["if-none-match"] == "*" for headers in puts)
    assert not [method for method, _path, _headers in flaky_proxy.seen if method == "HEAD"]  # no fallback


def test_put_if_absent_falls_back_when_the_endpoint_lacks_conditional_writes(
    make_s3_storage: Make, flaky_proxy: FlakyProxy
) -> None:
    flaky_proxy.refuse_conditional = True  # 501 NotImplemented, like an older S3 clone
    storage = make_s3_storage(flaky_proxy.url)
    assert storage.put_if_absent(KEY, b"first") is True
    assert storage.put_if_absent(KEY, b"second") is False
    assert storage.put_if_absent("t/c/r/other", b"x") is True
    assert storage.get(KEY) == b"first"
    assert flaky_proxy.failed == 1  # the 501 is remembered: later calls go straight to HEAD + PUT


def test_presigned_url_serves_the_bytes_and_the_bare_url_does_not(
    make_s3_storage: Make, moto_endpoint: str
) -> None:
    storage = make_s3_storage(link_expiry_s=600)
    storage.put(KEY, b"<p>hi</p>", "text/html")
    url = storage.url(KEY)
    parts = urlsplit(url)
    query = parse_qs(parts.query)
    assert url.startswith(f"{moto_endpoint}/{storage.bucket}/root/{KEY}?")
    assert query["X-Amz-Expires"] == ["600"] and query["X-Amz-Signature"][0]
    assert query["X-Amz-Algorithm"] == ["AWS4-HMAC-SHA256"]
    with DIRECT.open(url, timeout=10) as response:
        assert response.read() == b"<p>hi</p>"
        assert response.headers["Content-Type"] == "text/html"
    # moto refuses anonymous reads of a private object (it does not check presigned signatures)
    with pytest.raises(urllib.error.HTTPError) as refused:
        DIRECT.open(f"{parts.scheme}://{parts.netloc}{parts.path}", timeout=10)
    assert refused.value.code == 403
    refused.value.close()


def test_link_expiry_is_capped_at_seven_days(moto_endpoint: str, aws_credentials: None) -> None:
    with pytest.raises(StorageError, match="link expiry"):
        S3Storage("tailor-test", endpoint_url=moto_endpoint, link_expiry_s=7 * 86_400 + 1)


def test_server_side_encryption_on_every_write(
    make_s3_storage: Make, flaky_proxy: FlakyProxy, s3_admin: Any, s3_bucket: str
) -> None:
    storage = make_s3_storage(flaky_proxy.url, s3_sse="AES256")
    storage.put(KEY, b"x")
    storage.put_if_absent("t/c/r/new", b"y")
    assert [headers["x-amz-server-side-encryption"] for headers in _puts(flaky_proxy)] == ["AES256"] * 2
    head = s3_admin.head_object(Bucket=s3_bucket, Key=f"root/{KEY}")
    assert head["ServerSideEncryption"] == "AES256"
    plain = make_s3_storage(flaky_proxy.url)
    plain.put("t/c/r/plain", b"z")
    assert "x-amz-server-side-encryption" not in _puts(flaky_proxy)[-1]


def test_slow_down_answers_are_retried(make_s3_storage: Make, flaky_proxy: FlakyProxy) -> None:
    storage = make_s3_storage(flaky_proxy.url)
    flaky_proxy.fail_next(3)
    storage.put(KEY, b"through the storm", "text/plain")
    assert flaky_proxy.failed == 3 and flaky_proxy.relayed == 1
    assert storage.get(KEY) == b"through the storm"
    bodies = {headers.get("content-length") for headers in _puts(flaky_proxy)}
    assert bodies == {str(len(b"through the storm"))}  # every attempt resent the whole body


def test_slow_down_beyond_the_retry_budget_is_a_storage_error(
    flaky_proxy: FlakyProxy, aws_credentials: None
) -> None:
    storage = S3Storage("tailor-test", "root", endpoint_url=flaky_proxy.url, region=REGION, max_retries=1)
    flaky_proxy.fail_next(5)
    with pytest.raises(StorageError) as caught:
        storage.put(KEY, b"x")
    storage.close()
    host = urlsplit(flaky_proxy.url).netloc
    assert (
        str(caught.value)
        == f"S3 put of key {SHOWN!r} at {host} failed: SlowDown (HTTP 503, after 2 attempts)"
    )
    assert flaky_proxy.failed == 2


def test_unreachable_endpoint_fails_within_seconds_with_a_clear_error(aws_credentials: None) -> None:
    port = free_port()  # nothing listens here
    endpoint = f"http://127.0.0.1:{port}"
    storage = S3Storage("tailor-test", endpoint_url=endpoint, region=REGION)  # the default 8 retries
    started = time.monotonic()
    with pytest.raises(StorageError) as caught:
        storage.put(KEY, b"x")
    assert time.monotonic() - started < 20  # 50 ms doubling backoff: ~6 s on average, 13 s at most
    assert (
        str(caught.value)
        == f"S3 put of key {SHOWN!r} at 127.0.0.1:{port} failed: cannot connect to the endpoint"
    )
    assert caught.value.__suppress_context__  # no chain of botocore internals
    assert "testing" not in str(caught.value)  # never the credentials
    storage.close()
    quick = S3Storage("tailor-test", endpoint_url=endpoint, region=REGION, max_retries=1)
    for operation, call in (
        ("get", lambda: quick.get(KEY)),
        ("exists", lambda: quick.exists(KEY)),
        ("delete", lambda: quick.delete(KEY)),
        ("put_if_absent", lambda: quick.put_if_absent(KEY, b"x")),
    ):
        with pytest.raises(
            StorageError,
            match=rf"^S3 {operation} of key '{re.escape(SHOWN)}' at 127\.0\.0\.1:{port} failed: cannot",
        ):
            call()
    with pytest.raises(StorageError, match=rf"^S3 list of prefix 't' at 127\.0\.0\.1:{port} failed"):
        list(quick.keys("t"))
    quick.close()


def test_traversal_keys_are_refused_before_any_request(
    make_s3_storage: Make, flaky_proxy: FlakyProxy
) -> None:
    storage = make_s3_storage(flaky_proxy.url)
    for bad in ("../root2/x", "/abs", "a/../b", "a//b", "", "a\\b", "a/./b"):
        for call in (storage.put, storage.put_if_absent):
            with pytest.raises(StorageError):
                call(bad, b"x")
        for read in (storage.get, storage.exists, storage.url, storage.delete):
            with pytest.raises(StorageError):
                read(bad)
    for bad_prefix in ("..", "../root2", "/"):
        with pytest.raises(StorageError):
            storage.delete_prefix(bad_prefix)
    assert flaky_proxy.seen == []


def test_keys_and_delete_prefix_span_listing_pages(
    s3_storage: S3Storage, s3_admin: Any, s3_bucket: str
) -> None:
    names = [f"t/c/C-1/{i:04d}" for i in range(1005)]  # more than one 1000-key page
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda n: s3_admin.put_object(Bucket=s3_bucket, Key=f"root/{n}", Body=b""), names))
    s3_storage.put("t/c/C-10/index.html", b"keep")
    assert list(s3_storage.keys("t/c/C-1")) == names
    assert s3_storage.delete_prefix("t/c/C-1") == 1005
    assert list(s3_storage.keys()) == ["t/c/C-10/index.html"]


def test_links_are_signed_for_the_public_endpoint(make_s3_storage: Make, moto_endpoint: str) -> None:
    # docker-compose: Tailor reaches MinIO as minio:9000, the people opening links as localhost:9000
    public = moto_endpoint.replace("127.0.0.1", "localhost")
    assert public != moto_endpoint
    storage = make_s3_storage(s3_public_endpoint_url=public)
    storage.put(KEY, b"%PDF-1.7", "application/pdf")
    url = storage.url(KEY)
    assert url.startswith(f"{public}/{storage.bucket}/root/{KEY}?X-Amz-")
    assert storage.get(KEY) == b"%PDF-1.7"  # reads and writes still use the inner endpoint
    with DIRECT.open(url, timeout=10) as response:
        assert response.read() == b"%PDF-1.7"
