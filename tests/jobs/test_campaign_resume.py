"""Campaigns survive crashes: a killed `tailor campaign` resumes with only what was missing, a
killed pool worker costs a restart, rerunning a finished campaign renders nothing."""

from __future__ import annotations

import json
import multiprocessing
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from renderer.jobs.local import CampaignSpec, run_campaign
from renderer.settings import PROJECT_ROOT, Settings

pytestmark = pytest.mark.slow


def _tailor(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "renderer", *args]
    return subprocess.run(
        command,
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, **(env or {})},
    )


def _sample(path: Path, rows: int) -> None:
    result = _tailor("sample-data", "bill-summary", "--rows", str(rows), "--seed", "3", "--out", str(path))
    assert result.returncode == 0, result.stderr


def _campaign_args(data: Path, out: Path, outputs: str, *extra: str) -> list[str]:
    """`tailor campaign bill-summary DATA --out OUT --outputs OUTPUTS [extra...]`."""
    return ["campaign", "bill-summary", str(data), "--out", str(out), "--outputs", outputs, *extra]


def _done_rows(database: Path) -> int:
    if not database.exists():
        return 0
    with sqlite3.connect(database, timeout=5) as connection:
        try:
            return int(
                connection.execute("select count(*) from campaign_rows where status = 'done'").fetchone()[0]
            )
        except sqlite3.OperationalError:
            return 0  # the schema is not there yet


def test_a_killed_campaign_resumes_and_renders_only_what_was_missing(tmp_path: Path) -> None:
    data, out = tmp_path / "r.csv", tmp_path / "out"
    _sample(data, 40)
    args = _campaign_args(data, out, "microsite,pdf", "--campaign", "k")
    env = {**os.environ, "TAILOR_CHUNK_SIZE": "2", "TAILOR_WORKERS": "2"}
    command = [sys.executable, "-m", "renderer", *args]
    process = subprocess.Popen(
        command,
        cwd=PROJECT_ROOT,
        env=env,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    database = out / "_tailor" / "jobs.db"
    deadline = time.monotonic() + 120
    while _done_rows(database) < 8 and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.05)
    assert process.poll() is None, "the campaign finished before it could be killed"
    os.killpg(process.pid, signal.SIGKILL)  # the CLI and its pool workers, mid-campaign
    process.wait(timeout=30)
    done_before = _done_rows(database)
    assert 8 <= done_before < 40

    resumed = _tailor(*args, env={"TAILOR_WORKERS": "2"})
    assert resumed.returncode == 0, resumed.stderr
    assert f"{done_before} recipients were already rendered" in resumed.stdout
    assert f"{40 - done_before} rendered, 0 rejected, 0 failed" in resumed.stdout

    manifest = [
        json.loads(line)
        for line in (out / "bill-summary/k/_campaign/manifest.jsonl").read_text().splitlines()
    ]
    assert sorted(m["row"] for m in manifest) == list(range(2, 42)), "every recipient exactly once"
    files = Counter(
        path.name for path in (out / "bill-summary" / "k").glob("*/*") if path.parent.name != "_campaign"
    )
    assert files == {"index.html": 40, "bill.pdf": 40}
    assert not list(out.rglob("*.tmp*")), "no half-written files left by the kill"


def test_rerunning_a_finished_campaign_renders_nothing_and_overwrite_renders_all(tmp_path: Path) -> None:
    data, out = tmp_path / "r.csv", tmp_path / "o"
    _sample(data, 3)
    args = _campaign_args(data, out, "microsite")
    assert _tailor(*args).returncode == 0
    again = _tailor(*args)
    assert again.returncode == 0, again.stderr
    assert "3 recipients were already rendered" in again.stdout and "0 rendered" in again.stdout
    fresh = _tailor(*args, "--overwrite")
    assert fresh.returncode == 0 and "3 rendered" in fresh.stdout and "resumed" not in fresh.stdout


def _pool_workers() -> list[int]:
    """PIDs of this process's pool workers, never the session's servers (moto, Redis, PostgreSQL):
    forked children share this process's command line; forkserver workers are its server's children."""
    me = os.getpid()
    own = Path(f"/proc/{me}/cmdline").read_bytes()
    processes: dict[int, tuple[int, bytes]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat, cmdline = (entry / "stat").read_text(), (entry / "cmdline").read_bytes()
        except OSError:
            continue  # exited meanwhile
        processes[int(entry.name)] = (int(stat.rsplit(")", 1)[1].split()[1]), cmdline)
    forkservers = {
        pid for pid, (ppid, cmd) in processes.items() if ppid == me and b"multiprocessing.forkserver" in cmd
    }
    return sorted(
        pid for pid, (ppid, cmd) in processes.items() if (ppid == me and cmd == own) or ppid in forkservers
    )


def test_a_worker_killed_mid_chunk_costs_a_restart_not_a_recipient(
    tmp_path: Path, settings: Settings
) -> None:
    """The pool worker rendering a chunk dies (SIGKILL); the pool restarts and the chunk is rendered."""
    data, out = tmp_path / "r.csv", tmp_path / "o"
    _sample(data, 12)
    run_settings = settings.model_copy(
        update={
            "storage_url": str(out),
            "workers": 2,
            "chunk_size": 3,
            "database_url": f"sqlite:///{tmp_path / 'j.db'}",
        }
    )
    killed: list[int] = []

    def kill_one_worker(stats: object) -> None:
        if killed:
            return
        workers = _pool_workers()
        if workers:
            killed.append(workers[0])
            os.kill(killed[0], signal.SIGKILL)

    stats = run_campaign(
        CampaignSpec("bill-summary", data, ("microsite",), "w", out / "rep"), run_settings, kill_one_worker
    )
    assert killed, "a worker was killed"
    assert (stats.rendered, stats.failed) == (12, 0)
    assert len(list((out / "bill-summary" / "w").glob("*/index.html"))) == 12


def test_rerunning_a_done_campaign_renders_its_failed_rows(tmp_path: Path) -> None:
    """A row that failed (e.g. storage was down) is rendered when the campaign id runs again."""
    data, out = tmp_path / "r.csv", tmp_path / "o"
    _sample(data, 4)
    args = _campaign_args(data, out, "microsite", "--campaign", "f")
    assert _tailor(*args).returncode == 0
    database = out / "_tailor" / "jobs.db"
    with sqlite3.connect(database) as connection:  # as if row 3 had failed on a storage outage
        rid = connection.execute("select recipient_id from campaign_rows where row = 3").fetchone()[0]
        connection.execute(
            "update campaign_rows set status = 'failed', outputs = null, attempts = 1 where row = 3"
        )
    (out / "bill-summary" / "f" / rid / "index.html").unlink()
    again = _tailor(*args)
    assert again.returncode == 0, again.stderr
    assert "3 recipients were already rendered" in again.stdout and "1 rendered" in again.stdout
    assert (out / "bill-summary" / "f" / rid / "index.html").exists()
    assert _done_rows(database) == 4


def _children(pid: int) -> list[int]:
    """PIDs of the direct children of `pid` (a CLI's forked pool workers)."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
        except OSError:
            continue  # exited meanwhile
    return sorted(found)


def test_the_cli_summary_counts_rows_a_killed_chunk_had_finished(tmp_path: Path) -> None:
    """A pool worker is killed after rows of the chunks in flight are done: those chunks are
    rendered again and skip their finished rows; the summary and exit code still match the store."""
    data, out = tmp_path / "r.csv", tmp_path / "o"
    _sample(data, 30)
    args = _campaign_args(data, out, "microsite,pdf", "--campaign", "s")
    env = {**os.environ, "TAILOR_CHUNK_SIZE": "10", "TAILOR_WORKERS": "2"}
    process = subprocess.Popen(
        [sys.executable, "-m", "renderer", *args],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    database, killed = out / "_tailor" / "jobs.db", []
    deadline = time.monotonic() + 120
    while not killed and time.monotonic() < deadline and process.poll() is None:
        workers = _children(process.pid)
        if _done_rows(database) >= 3 and workers:
            os.kill(workers[0], signal.SIGKILL)  # mid-chunk: its first rows are done
            killed.append(workers[0])
        time.sleep(0.02)
    stdout, stderr = process.communicate(timeout=300)
    assert killed, "a worker was killed mid-campaign"
    assert _done_rows(database) == 30
    assert "30 rendered, 0 rejected, 0 failed" in stdout, stdout + stderr
    assert process.returncode == 0, stderr


def test_a_worker_death_is_charged_only_to_the_row_that_worker_was_rendering(
    tmp_path: Path, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Row 2 kills its worker each time it starts, while the other worker is mid-render: the
    pool stops that worker too, and its row is handed back uncharged. Only row 2 is quarantined."""
    from renderer.jobs import local, tasks

    data, out, database = tmp_path / "r.csv", tmp_path / "o", tmp_path / "j.db"
    _sample(data, 6)
    original = tasks._render_one

    def render_or_die(
        context: object, template: object, campaign: str, outputs: object, number: int, *rest: object
    ) -> None:
        if number == 2:
            time.sleep(0.3)
            os.kill(os.getpid(), signal.SIGKILL)  # the moment it starts, every time
        time.sleep(0.8)  # so another row is always mid-render when row 2's worker dies
        original(context, template, campaign, outputs, number, *rest)  # type: ignore[arg-type]

    monkeypatch.setattr(tasks, "_render_one", render_or_die)
    # a pool restarted while the broken one's threads wind down would use a forkserver, whose
    # workers do not inherit the patch: fork every pool here
    monkeypatch.setattr(local, "_pool_context", lambda: multiprocessing.get_context("fork"))
    run_settings = settings.model_copy(
        update={
            "storage_url": str(out),
            "workers": 2,
            "chunk_size": 1,
            "database_url": f"sqlite:///{database}",
        }
    )
    stats = run_campaign(CampaignSpec("bill-summary", data, ("microsite",), "p", out / "rep"), run_settings)
    with sqlite3.connect(database) as connection:
        rows = dict(connection.execute("select row, status from campaign_rows").fetchall())
    assert rows == {2: "quarantined", 3: "done", 4: "done", 5: "done", 6: "done", 7: "done"}
    assert (stats.rendered, stats.failed) == (5, 1)
