"""`render_once`: one render per storage object across threads and processes, through a real
SQLite job store and a real local storage folder; a dead holder is taken over after its lease, a
failed render leaves the claim free, a waiter gives up after `wait_s` naming what it waited for."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fixture_store import race

from renderer.errors import RenderTimeout
from renderer.jobs.single_flight import object_ready, render_once
from renderer.jobs.store import JobStore, open_store
from renderer.settings import PROJECT_ROOT
from renderer.storage import LocalStorage

KEY = "cache/video/seg-5d41402abc4b2a76.m4s"
SEGMENT = b"\x00\x00\x00\x18moof" + bytes(range(256)) * 4


@pytest.fixture
def store(tmp_path: Path) -> Iterator[JobStore]:
    """A job store on a throwaway SQLite file."""
    opened = open_store(f"sqlite:///{tmp_path / 'jobs.db'}")
    yield opened
    opened.close()


@pytest.fixture
def storage(tmp_path: Path) -> LocalStorage:
    """A real local storage folder."""
    return LocalStorage(tmp_path / "out")


def _counting(runs: Path, data: bytes = SEGMENT, sleep_s: float = 0.3) -> Callable[[], bytes]:
    """A produce() that appends a line to `runs` each time it runs, then takes `sleep_s`."""

    def produce() -> bytes:
        with runs.open("a") as handle:
            handle.write("run\n")
        time.sleep(sleep_s)
        return data

    return produce


def _runs(runs: Path) -> int:
    return len(runs.read_text().splitlines()) if runs.exists() else 0


def test_ten_threads_render_one_segment_once(store: JobStore, storage: LocalStorage, tmp_path: Path) -> None:
    runs = tmp_path / "runs.txt"
    produce = _counting(runs)
    got = race(10, lambda _: render_once(store, storage, KEY, produce, "video/mp4", poll_s=0.01))
    assert _runs(runs) == 1
    assert got == [SEGMENT] * 10
    assert storage.get(KEY) == SEGMENT and object_ready(storage, KEY)
    assert store.claims.holder(KEY) is None  # released after storing
    assert render_once(store, storage, KEY, produce, "video/mp4") == SEGMENT  # from storage now
    assert _runs(runs) == 1


WORKER = """
import sys, time
from pathlib import Path
from renderer.jobs.single_flight import render_once
from renderer.jobs.store import JobStore, create_store_engine
from renderer.storage import LocalStorage
url, root, runs, key, flag = sys.argv[1], sys.argv[2], Path(sys.argv[3]), sys.argv[4], Path(sys.argv[5])
store, storage = JobStore(create_store_engine(url)), LocalStorage(root)  # migrated by the test
flag.with_name(flag.name + "-" + sys.argv[6]).touch()  # ready
while not flag.exists():  # all go at once
    time.sleep(0.002)
def produce():
    with runs.open("a") as handle:
        handle.write("run\\n")
    time.sleep(0.3)
    return b"segment made by one process"
sys.stdout.write(render_once(store, storage, key, produce, "video/mp4", poll_s=0.01).decode())
store.close()
"""


def test_four_processes_render_one_segment_once(store: JobStore, tmp_path: Path) -> None:
    runs, root, url = tmp_path / "runs.txt", tmp_path / "out", f"sqlite:///{tmp_path / 'jobs.db'}"
    go = tmp_path / "go"
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, url, str(root), str(runs), KEY, str(go), str(n)],
            cwd=PROJECT_ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for n in range(4)
    ]
    deadline = time.monotonic() + 30
    while len(list(tmp_path.glob("go-*"))) < 4 and time.monotonic() < deadline:
        time.sleep(0.01)  # every process imported and opened the store
    go.touch()
    outputs = [worker.communicate(timeout=60) for worker in workers]
    assert [worker.returncode for worker in workers] == [0] * 4, [err for _, err in outputs]
    assert [out for out, _ in outputs] == ["segment made by one process"] * 4
    assert _runs(runs) == 1


def test_a_dead_holder_is_taken_over_after_its_lease(
    store: JobStore, storage: LocalStorage, tmp_path: Path
) -> None:
    assert store.claims.claim(KEY, "crashed-process", lease_s=0.3)  # its row is left, no object
    runs = tmp_path / "runs.txt"
    began = time.monotonic()
    got = render_once(store, storage, KEY, _counting(runs, sleep_s=0), "video/mp4", lease_s=5)
    waited = time.monotonic() - began
    assert got == SEGMENT and _runs(runs) == 1
    assert 0.2 < waited < 2.0  # waited for the lease to end, then produced
    assert store.claims.holder(KEY) is None


def test_a_failed_render_releases_the_claim_and_the_next_call_renders(
    store: JobStore, storage: LocalStorage, tmp_path: Path
) -> None:
    def broken() -> bytes:
        raise RuntimeError("encoder crashed")

    with pytest.raises(RuntimeError, match="encoder crashed"):
        render_once(store, storage, KEY, broken, "video/mp4")
    assert store.claims.holder(KEY) is None and not object_ready(storage, KEY)
    runs = tmp_path / "runs.txt"
    assert render_once(store, storage, KEY, _counting(runs, sleep_s=0), "video/mp4") == SEGMENT
    assert _runs(runs) == 1


def test_waiters_take_over_when_the_holder_fails(
    store: JobStore, storage: LocalStorage, tmp_path: Path
) -> None:
    calls: list[str] = []
    lock = threading.Lock()

    def flaky() -> bytes:  # the first render fails after a while, a retry succeeds
        with lock:
            calls.append("run")
            first = len(calls) == 1
        time.sleep(0.2)
        if first:
            raise RuntimeError("encoder crashed")
        return SEGMENT

    def call(_: int) -> bytes | str:
        try:
            return render_once(store, storage, KEY, flaky, "video/mp4", poll_s=0.01)
        except RuntimeError:
            return "failed"

    got = race(5, call)
    assert got.count("failed") == 1 and got.count(SEGMENT) == 4  # the error reached its caller only
    assert len(calls) == 2


def test_a_long_render_keeps_its_claim_by_renewing_it(
    store: JobStore, storage: LocalStorage, tmp_path: Path
) -> None:
    runs = tmp_path / "runs.txt"
    slow = _counting(runs, sleep_s=0.6)  # twice the lease
    got = race(3, lambda _: render_once(store, storage, KEY, slow, "video/mp4", lease_s=0.3, poll_s=0.01))
    assert got == [SEGMENT] * 3 and _runs(runs) == 1


def test_a_waiter_gives_up_naming_the_scene_not_the_key(store: JobStore, storage: LocalStorage) -> None:
    assert store.claims.claim(KEY, "busy-holder", lease_s=30)
    began = time.monotonic()
    with pytest.raises(RenderTimeout) as raised:
        render_once(
            store, storage, KEY, lambda: SEGMENT, "video/mp4", wait_s=0.3, what="segment of scene 'offer'"
        )
    assert time.monotonic() - began < 1.0
    assert "segment of scene 'offer'" in str(raised.value) and KEY not in str(raised.value)
    assert not object_ready(storage, KEY)
    assert store.claims.holder(KEY) is not None  # the holder's claim is left alone
