"""Object storage: a small Protocol, a local folder backend (default), S3 and an in-memory double."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from renderer.errors import StorageError
from renderer.settings import Settings, load_settings
from renderer.storage.base import Storage
from renderer.storage.local import LocalStorage
from renderer.storage.memory import MemoryStorage

if TYPE_CHECKING:
    from renderer.storage.s3 import S3Storage

__all__ = ["LocalStorage", "MemoryStorage", "Storage", "open_storage"]


def open_storage(url: str, settings: Settings | None = None) -> Storage:
    """Open storage from a URL: a folder path, ``file:///abs/path``, ``memory://`` or ``s3://bucket/prefix``.

    For S3 the endpoint, region, server-side encryption and link expiry come from `settings`
    (read from the environment when not given).
    """
    if url == "memory://":
        return MemoryStorage()
    if url.startswith("file://"):
        return LocalStorage(Path(url.removeprefix("file://")))
    if url.startswith("s3://"):
        return open_s3(url, settings or load_settings())
    if "://" in url:
        scheme = url.split("://", 1)[0]
        raise StorageError(f"storage URL scheme {scheme!r} is not supported (use a folder, file:// or s3://)")
    return LocalStorage(Path(url))


def open_s3(url: str, settings: Settings) -> S3Storage:
    """Open ``s3://bucket/prefix`` (prefix optional) with the S3 options of `settings`."""
    from renderer.storage.s3 import S3Storage  # boto3 loads only when S3 is used

    parts = urlsplit(url)
    if not parts.netloc:
        raise StorageError("an s3:// storage URL needs a bucket: s3://bucket/prefix")
    if parts.query or parts.fragment:
        raise StorageError("an s3:// storage URL takes no query or fragment: s3://bucket/prefix")
    return S3Storage(
        parts.netloc,
        parts.path,
        endpoint_url=settings.s3_endpoint_url,
        public_endpoint_url=settings.s3_public_endpoint_url,
        region=settings.s3_region,
        sse=settings.s3_sse,
        link_expiry_s=settings.link_expiry_s,
    )
