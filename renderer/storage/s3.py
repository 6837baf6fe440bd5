"""Storage in an S3 bucket (AWS, MinIO, R2, moto): private objects, conditional writes, presigned links.

``S3Storage("bucket", "prefix")`` stores key ``k`` as object ``prefix/k``. Objects are never given a
public ACL; readers get presigned GET URLs. botocore retries throttling, 5xx and connection errors
("standard" mode), within a request's `storage_deadline` only while a retry can end before it;
whatever still fails becomes a `StorageError` naming the operation, the key and the endpoint host,
never the credentials or a stack of botocore internals.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import boto3
from boto3.exceptions import Boto3Error
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from renderer.errors import StorageError
from renderer.storage.deadline import remaining_s
from renderer.storage.keys import check_key, check_prefix, describe_key

MAX_LINK_EXPIRY_S = 7 * 86_400  # the longest a SigV4 presigned URL may live
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_MISSING = {"404", "NoSuchKey", "NotFound"}
_REASONS = {
    "EndpointConnectionError": "cannot connect to the endpoint",
    "ConnectTimeoutError": "connecting to the endpoint timed out",
    "ReadTimeoutError": "the endpoint did not answer in time",
    "NoCredentialsError": "no S3 credentials are configured",
}
# botocore's standard backoff after attempt n is at most min(1 s * 2**(n-1), 20 s) (throttling;
# jittered, 50 ms base otherwise), plus up to 5 s for an x-amz-retry-after header (milliseconds);
# the retry also needs time for its own request.
_MAX_BACKOFF_S = 20.0
_RETRY_AFTER_MAX_S = 5.0
_ATTEMPT_ALLOWANCE_S = 1.0


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def _status(exc: ClientError) -> int:
    return int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0))


def _reason(exc: Exception) -> str:
    if isinstance(exc, ClientError):
        retries = int(exc.response.get("ResponseMetadata", {}).get("RetryAttempts", 0))
        tried = f", after {retries + 1} attempts" if retries else ""
        return f"{_code(exc) or 'error'} (HTTP {_status(exc)}{tried})"
    return _REASONS.get(type(exc).__name__, type(exc).__name__)


def _retry_in_time(attempts: int = 1, response: Any = None, **_: Any) -> bool | None:
    """botocore's ``needs-retry`` hook, run before its retry handler: False (no retry; the last
    answer is raised as is) when the longest backoff botocore may sleep after `attempts` tries
    and one more attempt would end past the current `storage_deadline`; None (botocore
    decides) otherwise."""
    left = remaining_s()
    if left is None:
        return None
    worst = min(2.0 ** (attempts - 1), _MAX_BACKOFF_S) + _ATTEMPT_ALLOWANCE_S
    headers = getattr(response[0], "headers", {}) if isinstance(response, tuple) and response else {}
    retry_after = str(headers.get("x-amz-retry-after", ""))
    if retry_after.isdigit():  # botocore waits for it, up to 5 s more
        worst += min(int(retry_after) / 1000, _RETRY_AFTER_MAX_S)
    return False if worst > left else None


@dataclass(frozen=True)
class ObjectStream:
    """An object being read: its chunks, length, content type and (for a range) Content-Range."""

    chunks: Iterator[bytes]
    length: int
    content_type: str
    content_range: str | None
    close: Callable[[], None]


class S3Storage:
    """Objects in `bucket` under `prefix`; one boto3 client per instance (safe to share between threads).

    Throttling (503 SlowDown), 5xx and connection errors are retried `max_retries` times with
    jittered exponential backoff: about 1 s doubling for throttling, 50 ms doubling for connection
    errors (a refused connection fails after ~6 s on average, 13 s at most, with the default 8).
    """

    def __init__(
        self,
        bucket: str,
        prefix: str = "",
        *,
        endpoint_url: str | None = None,
        public_endpoint_url: str | None = None,
        region: str | None = None,
        sse: str | None = None,
        link_expiry_s: int = 86_400,
        max_retries: int = 8,
        connect_timeout_s: float = 5.0,
        read_timeout_s: float = 60.0,
    ) -> None:
        if not _BUCKET.match(bucket):  # not echoed: a mistyped URL may hold credentials
            raise StorageError("S3 bucket name must be 3 to 63 lowercase letters, digits, '.' or '-'")
        if not 1 <= link_expiry_s <= MAX_LINK_EXPIRY_S:
            raise StorageError(f"S3 link expiry must be 1 to {MAX_LINK_EXPIRY_S} seconds")
        self.bucket = bucket
        self.root = check_prefix(prefix.strip("/"))
        self.sse = sse
        self.link_expiry_s = link_expiry_s
        self._conditional_writes = True
        config = Config(
            # botocore's "max_attempts" counts retries after the first try: 8 -> up to 9 requests
            retries={"mode": "standard", "max_attempts": max_retries},
            connect_timeout=connect_timeout_s,
            read_timeout=read_timeout_s,
            signature_version="s3v4",
            s3={"addressing_style": "path"} if endpoint_url else None,  # MinIO, moto: no bucket DNS
        )
        session = boto3.session.Session()  # its own: the default session is not thread-safe
        self._client: Any = session.client("s3", endpoint_url=endpoint_url, region_name=region, config=config)
        parts = urlsplit(str(self._client.meta.endpoint_url))
        self.host = f"{parts.hostname}:{parts.port}" if parts.port else str(parts.hostname)
        self._client.meta.events.register_first("needs-retry.s3", _retry_in_time)
        # Links are signed for the host their readers reach (compose: localhost:9000, not minio:9000);
        # presigning is local computation, so this client never sends a request.
        self._signer: Any = (
            session.client("s3", endpoint_url=public_endpoint_url, region_name=region, config=config)
            if public_endpoint_url
            else self._client
        )

    def _name(self, key: str) -> str:
        return self.root + check_key(key)

    def _missing(self, key: str) -> StorageError:
        return StorageError(f"no object at key {describe_key(key)!r} (S3 at {self.host})")

    def _error(self, operation: str, what: str, exc: Exception) -> StorageError:
        return StorageError(f"S3 {operation} of {what} at {self.host} failed: {_reason(exc)}")

    @contextlib.contextmanager
    def _errors(self, operation: str, what: str) -> Iterator[None]:
        try:
            yield
        except (BotoCoreError, ClientError) as exc:
            raise self._error(operation, what, exc) from None

    def _write_args(self, key: str, data: bytes, content_type: str) -> dict[str, Any]:
        args: dict[str, Any] = {"Bucket": self.bucket, "Key": self._name(key), "Body": data}
        args["ContentType"] = content_type
        if self.sse:
            args["ServerSideEncryption"] = self.sse
        return args  # never an ACL: objects stay private, links are presigned

    def put(self, key: str, data: bytes, content_type: str = "application/octet-stream") -> None:
        """Store `data` under `key` (PutObject replaces atomically)."""
        args = self._write_args(key, data, content_type)
        with self._errors("put", f"key {describe_key(key)!r}"):
            self._client.put_object(**args)

    def put_if_absent(self, key: str, data: bytes, content_type: str = "application/octet-stream") -> bool:
        """Store only if `key` is absent (a conditional PutObject); True when this call wrote it."""
        args = self._write_args(key, data, content_type)
        if self._conditional_writes:
            for _attempt in range(3):
                try:
                    self._client.put_object(**args, IfNoneMatch="*")
                    return True
                except ClientError as exc:
                    if _status(exc) == 412 or _code(exc) == "PreconditionFailed":
                        return False  # another writer got there first
                    if _status(exc) == 501 or _code(exc) == "NotImplemented":
                        break
                    if _code(exc) != "ConditionalRequestConflict":  # 409: a racing write; S3 says retry
                        raise self._error("put_if_absent", f"key {describe_key(key)!r}", exc) from None
                except BotoCoreError as exc:
                    raise self._error("put_if_absent", f"key {describe_key(key)!r}", exc) from None
            else:
                raise StorageError(
                    f"S3 put_if_absent of key {describe_key(key)!r} at {self.host} kept conflicting"
                )
            # The endpoint has no conditional writes (older MinIO, some S3 clones): fall back to
            # HEAD then PUT. Two racing writers may both pass the HEAD; the last PUT wins.
            self._conditional_writes = False
        if self.exists(key):
            return False
        self.put(key, data, content_type)
        return True

    def get(self, key: str) -> bytes:
        """The object's bytes; StorageError naming the key when it does not exist."""
        name = self._name(key)
        with self._errors("get", f"key {describe_key(key)!r}"):
            try:
                body = self._client.get_object(Bucket=self.bucket, Key=name)["Body"]
            except ClientError as exc:
                if _code(exc) in _MISSING:
                    raise self._missing(key) from None
                raise
            with contextlib.closing(body):
                return bytes(body.read())

    def put_file(self, key: str, path: Path, content_type: str = "application/octet-stream") -> None:
        """Store the file at `path` under `key`, streamed from disk (multipart above 8 MiB)."""
        extra: dict[str, Any] = {"ContentType": content_type}
        if self.sse:
            extra["ServerSideEncryption"] = self.sse
        with self._errors("put_file", f"key {describe_key(key)!r}"):
            try:
                self._client.upload_file(str(path), self.bucket, self._name(key), ExtraArgs=extra)
            except Boto3Error as exc:  # s3transfer wraps the cause; its type names it well enough
                raise StorageError(
                    f"S3 put_file of key {describe_key(key)!r} at {self.host} failed: {type(exc).__name__}"
                ) from None

    def download(self, key: str, target: Path) -> None:
        """Write the object to the file `target`, streamed (a large data file never sits in memory)."""
        with self._errors("download", f"key {describe_key(key)!r}"):
            try:
                self._client.download_file(self.bucket, self._name(key), str(target))
            except ClientError as exc:
                if _code(exc) in _MISSING:
                    raise self._missing(key) from None
                raise
            except Boto3Error as exc:
                raise StorageError(
                    f"S3 download of key {describe_key(key)!r} at {self.host} failed: {type(exc).__name__}"
                ) from None

    def stream(self, key: str, byte_range: str | None = None, chunk_size: int = 1 << 16) -> ObjectStream:
        """Read the object (or an HTTP ``bytes=`` range of it) in chunks; ValueError for a range
        outside the object, StorageError when it is missing. Close the stream when done."""
        args: dict[str, Any] = {"Bucket": self.bucket, "Key": self._name(key)}
        if byte_range:
            args["Range"] = byte_range
        with self._errors("get", f"key {describe_key(key)!r}"):
            try:
                answer = self._client.get_object(**args)
            except ClientError as exc:
                if _code(exc) in _MISSING:
                    raise self._missing(key) from None
                if _code(exc) == "InvalidRange":
                    raise ValueError("the range is outside the object") from None
                raise
        body = answer["Body"]
        return ObjectStream(
            body.iter_chunks(chunk_size),
            int(answer["ContentLength"]),
            str(answer.get("ContentType") or "application/octet-stream"),
            answer.get("ContentRange"),
            body.close,
        )

    def exists(self, key: str) -> bool:
        """Whether `key` holds an object (HeadObject)."""
        name = self._name(key)
        with self._errors("exists", f"key {describe_key(key)!r}"):
            try:
                self._client.head_object(Bucket=self.bucket, Key=name)
            except ClientError as exc:
                if _code(exc) in _MISSING:
                    return False
                raise
        return True

    def url(self, key: str) -> str:
        """A presigned GET URL of `key`, valid for `link_expiry_s` seconds (at most 7 days), on the
        public endpoint when one is set."""
        params = {"Bucket": self.bucket, "Key": self._name(key)}
        with self._errors("url", f"key {describe_key(key)!r}"):
            return str(
                self._signer.generate_presigned_url("get_object", Params=params, ExpiresIn=self.link_expiry_s)
            )

    def delete(self, key: str) -> None:
        """Remove `key` if present; S3 answers a missing key with success too."""
        name = self._name(key)
        with self._errors("delete", f"key {describe_key(key)!r}"):
            self._client.delete_object(Bucket=self.bucket, Key=name)

    def _pages(self, prefix: str) -> Iterator[list[str]]:
        """Object names (with the root) under the folder `prefix`, one listing page at a time."""
        paginator = self._client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=self.root + check_prefix(prefix)):
            yield [str(item["Key"]) for item in page.get("Contents", ())]

    def keys(self, prefix: str = "") -> Iterator[str]:
        """Every key under the folder `prefix`, in listing (UTF-8 byte, i.e. sorted) order.

        Folder markers (names ending in ``/``, made by some consoles) are not keys and are skipped.
        """
        with self._errors("list", f"prefix {prefix!r}"):
            for names in self._pages(prefix):
                yield from (name[len(self.root) :] for name in names if not name.endswith("/"))

    def delete_prefix(self, prefix: str) -> int:
        """Remove every object under the folder `prefix` (markers included); the count removed."""
        if not check_prefix(prefix):
            raise StorageError("delete_prefix needs a non-empty prefix")
        removed = 0
        with self._errors("delete_prefix", f"prefix {prefix!r}"):
            for names in self._pages(prefix):  # listing resumes after the last key: deleting is safe
                if not names:
                    continue
                batch = {"Objects": [{"Key": name} for name in names], "Quiet": True}
                failed = self._client.delete_objects(Bucket=self.bucket, Delete=batch).get("Errors", [])
                if failed:
                    code = failed[0].get("Code", "error")
                    raise StorageError(
                        f"S3 delete_prefix of prefix {prefix!r} at {self.host} failed: "
                        f"{len(failed)} objects not deleted ({code})"
                    )
                removed += len(names)
        return removed

    def close(self) -> None:
        """Close the client's connection pool."""
        self._client.close()
