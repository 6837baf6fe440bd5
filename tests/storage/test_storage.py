"""Storage keys are traversal-proof and injective; local and memory backends behave the same."""

from __future__ import annotations

from pathlib import Path
from typing import cast

import pytest

from renderer.errors import StorageError
from renderer.storage import LocalStorage, MemoryStorage, Storage, open_storage
from renderer.storage.keys import campaign_key, output_key, safe_segment, static_key


@pytest.mark.parametrize(
    ("rid", "segment"),
    [
        ("C-0001", "C-0001"),
        ("ann@example.com", "ann@example.com"),
        ("../../etc/passwd", "%2E.%2F..%2Fetc%2Fpasswd"),
        ("..", "%2E."),
        ("_static", "%5Fstatic"),
        ("a/b", "a%2Fb"),
        ("a%2Fb", "a%252Fb"),
        ("مریم", "%D9%85%D8%B1%DB%8C%D9%85"),
    ],
)
def test_recipient_ids_become_one_safe_segment(rid: str, segment: str) -> None:
    assert safe_segment(rid) == segment
    assert "/" not in segment


def test_keys_layout() -> None:
    assert output_key("bill-summary", "demo", "C-1", "index.html") == "bill-summary/demo/C-1/index.html"
    assert static_key("bill-summary", "site.abc.css") == "bill-summary/_static/site.abc.css"
    assert campaign_key("bill-summary", "demo", "rejects.csv") == "bill-summary/demo/_campaign/rejects.csv"
    with pytest.raises(StorageError):
        output_key("bill-summary", "../x", "C-1", "index.html")
    with pytest.raises(StorageError):
        safe_segment("")
    with pytest.raises(StorageError):
        safe_segment("x" * 201)
    with pytest.raises(StorageError, match="once encoded"):
        safe_segment("é" * 100)  # 100 characters, 600 bytes once percent-encoded


@pytest.fixture(params=["local", "memory", pytest.param("s3", marks=pytest.mark.s3)])
def storage(request: pytest.FixtureRequest, tmp_path: Path) -> Storage:
    """Each backend in turn; S3 is moto in server mode (tests/fixture_s3.py)."""
    if request.param == "s3":
        return cast(Storage, request.getfixturevalue("s3_storage"))
    return LocalStorage(tmp_path) if request.param == "local" else MemoryStorage()


def test_backend_contract(storage: Storage) -> None:
    key = "t/c/r/index.html"
    assert not storage.exists(key)
    storage.put(key, b"one", "text/html")
    assert storage.get(key) == b"one" and storage.exists(key)
    storage.put(key, b"two")
    assert storage.get(key) == b"two"
    assert storage.put_if_absent(key, b"three") is False
    assert storage.get(key) == b"two"
    assert storage.put_if_absent("t/c/r/new", b"x") is True
    storage.delete(key)
    storage.delete(key)
    assert not storage.exists(key)
    with pytest.raises(StorageError, match="no object at key"):
        storage.get(key)
    for bad in ("/abs", "a/../b", "a//b", "", "a\\b"):
        with pytest.raises(StorageError):
            storage.put(bad, b"x")


def test_keys_and_delete_prefix_contract(storage: Storage) -> None:
    for key in ("t/c/C-1/index.html", "t/c/C-1/bill.pdf", "t/c/C-10/index.html", "t/_static/a.css"):
        storage.put(key, b"x")
    assert list(storage.keys()) == sorted(storage.keys())
    assert set(storage.keys()) == {
        "t/c/C-1/index.html",
        "t/c/C-1/bill.pdf",
        "t/c/C-10/index.html",
        "t/_static/a.css",
    }
    assert list(storage.keys("t/c/C-1")) == ["t/c/C-1/bill.pdf", "t/c/C-1/index.html"]
    assert list(storage.keys("t/c/C-1/")) == ["t/c/C-1/bill.pdf", "t/c/C-1/index.html"]
    assert list(storage.keys("t/c/C")) == []  # whole segments only
    assert list(storage.keys("t/c/C-1/index.html")) == []  # a key is not a folder
    assert list(storage.keys("nowhere")) == []
    assert storage.delete_prefix("t/c/C-1") == 2  # erase one recipient, not C-10
    assert not storage.exists("t/c/C-1/index.html")
    assert list(storage.keys("t/c")) == ["t/c/C-10/index.html"]
    assert storage.delete_prefix("t/c/C-1") == 0
    storage.put("t/c/C-1/again", b"y")  # the erased folder can be written again
    assert storage.get("t/c/C-1/again") == b"y"
    for bad in ("", "/", "../t", "t/../..", "/t"):
        with pytest.raises(StorageError):
            storage.delete_prefix(bad)
    for bad in ("../t", "/t", "t//c"):
        with pytest.raises(StorageError):
            list(storage.keys(bad))
    assert storage.get("t/_static/a.css") == b"x"


def test_local_delete_prefix_removes_emptied_folders(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path)
    storage.put("t/c/C-1/a/b", b"x")
    storage.put("t/c/C-2/a", b"x")
    assert storage.delete_prefix("t/c/C-1") == 1
    assert not (tmp_path / "t/c/C-1").exists()  # the folder name is a recipient id: gone too
    assert (tmp_path / "t/c/C-2/a").is_file()
    storage.put("t/c/C-1/a/b", b"z")  # the made-folders cache does not go stale
    assert storage.get("t/c/C-1/a/b") == b"z"


def test_local_storage_leaves_no_temp_files(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path)
    for i in range(5):
        storage.put(f"t/c/r{i}/f", b"x")
        storage.put_if_absent(f"t/c/r{i}/f", b"y")
    assert not [p for p in tmp_path.rglob(".tmp-*")]
    assert storage.url("t/c/r0/f") == (tmp_path / "t/c/r0/f").as_uri()


def test_open_storage(tmp_path: Path) -> None:
    assert isinstance(open_storage(str(tmp_path)), LocalStorage)
    assert isinstance(open_storage(f"file://{tmp_path}"), LocalStorage)
    assert isinstance(open_storage("memory://"), MemoryStorage)
    with pytest.raises(StorageError, match="scheme 'ftp' is not supported"):
        open_storage("ftp://x/y")
    for url in ("s3://", "s3:///prefix"):
        with pytest.raises(StorageError, match="needs a bucket"):
            open_storage(url)
    with pytest.raises(StorageError):
        open_storage("s3://bucket/../elsewhere")
