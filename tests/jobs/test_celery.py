"""Campaigns on real Celery workers (subprocesses) with a real Redis broker.

The fault test kills a worker with SIGKILL in the middle of a 300-recipient campaign: its chunk
comes back after the broker's visibility timeout and the campaign finishes with every recipient's
outputs stored exactly once and every row done once.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from renderer.errors import ServiceUnavailable
from renderer.jobs.campaigns import campaign_progress
from renderer.jobs.service import start_campaign
from renderer.jobs.store import JobStore, open_store
from renderer.settings import PROJECT_ROOT, Settings, load_settings
from renderer.storage import LocalStorage

pytestmark = [pytest.mark.celery, pytest.mark.slow]


class Workers:
    """`tailor worker` subprocesses sharing one environment; stopped (killed) at the end."""

    def __init__(self, env: dict[str, str], log_dir: Path) -> None:
        self.env = env
        self.log_dir = log_dir
        self.processes: list[subprocess.Popen[bytes]] = []

    def start(self, concurrency: int = 1) -> subprocess.Popen[bytes]:
        log = (self.log_dir / f"worker-{len(self.processes)}.log").open("wb")
        command = [
            sys.executable,
            "-m",
            "renderer",
            "worker",
            "--concurrency",
            str(concurrency),
            "--loglevel",
            "WARNING",
        ]
        process = subprocess.Popen(
            command,
            cwd=PROJECT_ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        self.processes.append(process)
        return process

    def kill(self, process: subprocess.Popen[bytes]) -> None:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=30)

    def stop_all(self) -> None:
        for process in self.processes:
            self.kill(process)


def _environment(tmp_path: Path, redis_url: str) -> dict[str, str]:
    values = {
        "TAILOR_BROKER_URL": redis_url,
        "TAILOR_DATABASE_URL": f"sqlite:///{tmp_path / 'jobs.db'}",
        "TAILOR_STORAGE_URL": str(tmp_path / "out"),
        "TAILOR_BROKER_VISIBILITY_TIMEOUT_S": "30",
        "TAILOR_CHUNK_SIZE": "2",
    }
    return values


@pytest.fixture
def cluster(tmp_path: Path, redis_url: str) -> Iterator[tuple[Settings, JobStore, Workers]]:
    values = _environment(tmp_path, redis_url)
    settings = load_settings(
        broker_url=values["TAILOR_BROKER_URL"],
        database_url=values["TAILOR_DATABASE_URL"],
        storage_url=values["TAILOR_STORAGE_URL"],
        broker_visibility_timeout_s=30,
        chunk_size=2,
    )
    store = open_store(settings.database_url)
    workers = Workers({**os.environ, **values}, tmp_path)
    try:
        yield settings, store, workers
    finally:
        workers.stop_all()
        store.close()


def _upload(settings: Settings, rows: int) -> str:
    data = Path(settings.storage_url) / "_uploads" / "r.csv"
    data.parent.mkdir(parents=True, exist_ok=True)
    command = [
        sys.executable,
        "-m",
        "renderer",
        "sample-data",
        "bill-summary",
        "--rows",
        str(rows),
        "--seed",
        "9",
    ]
    subprocess.run(
        [*command, "--out", str(data)], cwd=PROJECT_ROOT, check=True, capture_output=True, timeout=120
    )
    return "_uploads/r.csv"


def _wait_done(store: JobStore, campaign_id: str, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        progress = campaign_progress(store, campaign_id)
        if progress is not None and progress.status in ("done", "failed"):
            return
        time.sleep(0.3)
    raise AssertionError(f"campaign not finished in {timeout_s} s: {campaign_progress(store, campaign_id)}")


def test_a_campaign_on_two_celery_workers(cluster: tuple[Settings, JobStore, Workers]) -> None:
    settings, store, workers = cluster
    workers.start()
    workers.start()
    campaign, created = start_campaign(settings, store, "bill-summary", ["microsite"], _upload(settings, 40))
    assert created
    _wait_done(store, campaign.id, 120)
    progress = campaign_progress(store, campaign.id)
    assert progress is not None
    assert (progress.status, progress.total, progress.done, progress.failed, progress.pending) == (
        "done",
        40,
        40,
        0,
        0,
    )
    pages = list((Path(settings.storage_url) / "bill-summary" / campaign.id).glob("*/index.html"))
    assert len(pages) == 40


def test_killing_a_worker_mid_campaign_loses_and_duplicates_nothing(
    cluster: tuple[Settings, JobStore, Workers],
) -> None:
    settings, store, workers = cluster
    victim = workers.start()
    workers.start()
    campaign, _ = start_campaign(
        settings, store, "bill-summary", ["microsite", "pdf"], _upload(settings, 300)
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        progress = campaign_progress(store, campaign.id)
        if progress is not None and progress.done >= 40:
            break
        time.sleep(0.1)
    workers.kill(victim)  # SIGKILL to the worker and its pool process, chunk in hand
    killed_at = campaign_progress(store, campaign.id)
    assert killed_at is not None and killed_at.done < 300, "the campaign ended before the kill"
    _wait_done(store, campaign.id, 240)

    progress = campaign_progress(store, campaign.id)
    assert progress is not None
    assert (progress.status, progress.done, progress.failed, progress.quarantined) == ("done", 300, 0, 0)
    storage = LocalStorage(Path(settings.storage_url))
    objects = Counter(key.rsplit("/", 1)[1] for key in storage.keys(f"bill-summary/{campaign.id}"))
    assert objects == {"index.html": 300, "bill.pdf": 300}, "every output exactly once"
    rows = list(store.rows.results(campaign.id))
    assert len(rows) == 300 and {row.status for row in rows} == {"done"}
    assert not list(Path(settings.storage_url).rglob("*.tmp*")), "no half-written objects"


def test_redis_down_at_campaign_start_is_service_unavailable(tmp_path: Path, settings: Settings) -> None:
    down = settings.model_copy(
        update={"broker_url": "redis://127.0.0.1:1/0", "database_url": f"sqlite:///{tmp_path / 'j.db'}"}
    )
    store = open_store(down.database_url)
    try:
        started = time.monotonic()
        with pytest.raises(ServiceUnavailable) as caught:
            start_campaign(down, store, "bill-summary", ["microsite"], "_uploads/none.csv")
        assert time.monotonic() - started < 15
        assert caught.value.service == "broker" and "127.0.0.1:1" not in str(caught.value)
    finally:
        store.close()


@pytest.mark.video
def test_an_api_video_render_job_runs_on_a_celery_worker(cluster: tuple[Settings, JobStore, Workers]) -> None:
    from renderer.jobs.celery_app import celery_for, publish

    settings, store, workers = cluster
    workers.start()
    sample = {"customer_id": "JOB-1"}
    from renderer.outputs.load import load_template

    raw = {**load_template("bill-summary", settings).samples["en-US"], **sample}
    job = store.render_jobs.create("bill-summary", "JOB-1", ["microsite", "video"])
    publish(celery_for(settings), "tailor.render_job", [job.id, raw])
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        current = store.render_jobs.get(job.id)
        if current is not None and current.status in ("done", "failed"):
            break
        time.sleep(0.3)
    current = store.render_jobs.get(job.id)
    assert current is not None and current.status == "done", current
    assert current.result is not None
    video = Path(settings.storage_url) / current.result["video"]
    assert video.read_bytes()[4:8] == b"ftyp"


def test_workers_take_on_play_segments_before_queued_renders(
    cluster: tuple[Settings, JobStore, Workers],
) -> None:
    """Three video renders wait on the campaign queue when a player asks for a segment: the
    worker, started after both, renders the segment first (the on-play queue is polled first)."""
    from renderer.jobs.celery_app import ONPLAY_QUEUE, celery_for, publish
    from renderer.outputs.kind import RenderOptions
    from renderer.outputs.load import load_template
    from renderer.outputs.render import render_recipient
    from renderer.outputs.video.render import read_stream_record

    settings, store, workers = cluster
    template = load_template("bill-summary", settings)
    storage = LocalStorage(Path(settings.storage_url))
    recipient = template.validator.validate(template.samples["en-US"])
    options = RenderOptions(video_on_play=True)
    stored = render_recipient(template, recipient, ["video"], storage, "play", options)
    folder = stored.outputs["video"].main.rsplit("/", 1)[0] + "/"
    plan, _ = read_stream_record(storage.get(folder + "stream.json"))
    app = celery_for(settings)
    jobs = []
    for n in range(3):
        raw = {**template.samples["en-US"], "customer_id": f"Q-{n}"}
        jobs.append(store.render_jobs.create("bill-summary", f"Q-{n}", ["video"]))
        publish(app, "tailor.render_job", [jobs[-1].id, raw])
    publish(app, "tailor.stream_piece", ["bill-summary", folder, "video:1"], ONPLAY_QUEUE)
    workers.start(concurrency=1)
    deadline = time.monotonic() + 180
    while not storage.exists(plan.scenes[1].segment) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert storage.exists(plan.scenes[1].segment), "the on-play segment was rendered"
    statuses = [store.render_jobs.get(job.id).status for job in jobs]  # type: ignore[union-attr]
    assert "done" not in statuses, f"it went before the renders queued ahead of it: {statuses}"
