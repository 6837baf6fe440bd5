"""Campaigns: the local process pool vs Celery workers, and the memory of a validation run.

In one run, on synthetic bill-summary recipients (`bench.common.sample_csv`, seed 1), microsite + PDF:

a. the campaign through the local pool (`run_campaign`, 2 workers), start-up, ingest and reports
   included: recipients/s and CPU seconds per recipient (every process);
b. the same campaign through Celery: a redis-server on a free loopback port and two
   ``python -m renderer worker --concurrency 1`` subprocesses started here (up and answering a
   ping before the clock starts), the CSV placed in local storage, the campaign started with
   `renderer.jobs.service.start_campaign` (so the ingest runs as a Celery task too) and
   `campaign_progress` polled until it is done: recipients/s and CPU seconds per recipient;
c. Celery's overhead, two ways: side by side, (Celery wall - local wall) / local wall; and per
   chunk from the workers' own logs: the idle gap on a worker between one task finishing and the
   next one starting (ack, fetch from Redis, hand-off to the pool process) as a % of a chunk's
   render time. Target < 5%. (Publish -> start latency is not reported: the ingest publishes every
   chunk within seconds, so it measures the queue's length, not Celery.)
d. peak RSS of ``tailor campaign --validate-only`` in a subprocess (GNU ``/usr/bin/time``) over 10,000
   rows and over --validate-rows rows (the 10,000 repeated with fresh unique ids), and the rows/s the
   command reports. Target: flat (ratio <= 1.1) and < 300 MB.

    .venv/bin/python -m bench.campaign --rows 10000
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from bench.common import CeleryWorkers, descendants, process_cpu_s, redis_server, repeat_csv, sample_csv
from renderer.jobs.campaigns import campaign_progress
from renderer.jobs.celery_app import celery_for
from renderer.jobs.local import CampaignSpec, run_campaign
from renderer.jobs.service import start_campaign
from renderer.jobs.store import open_store
from renderer.settings import PROJECT_ROOT, Settings, load_settings

OUTPUTS = ("microsite", "pdf")
OVERHEAD_TARGET = 0.05
RSS_TARGET_MB = 300.0
FLAT_RATIO = 1.10
TIME = Path("/usr/bin/time")  # GNU time (Debian package `time`)
_LOG = re.compile(
    r"^\[(?P<at>[\d-]+ [\d:,]+): INFO/[^\]]+\] "
    r"Task (?P<name>tailor\.\w+)\[[^\]]+\] succeeded in (?P<s>[\d.e-]+)s"
)


@dataclass
class Run:
    """One campaign run: wall seconds, CPU seconds of each kind of process involved, recipients."""

    wall_s: float
    cpu: dict[str, float]
    rendered: int
    notes: dict[str, float] = field(default_factory=dict)

    @property
    def rate(self) -> float:
        return self.rendered / self.wall_s

    @property
    def cpu_s(self) -> float:
        return sum(self.cpu.values())

    def cpu_line(self) -> str:
        """CPU milliseconds per recipient, by process kind."""
        return ", ".join(f"{name} {value / self.rendered * 1000:.1f}" for name, value in self.cpu.items())


def _rusage_cpu_s(who: int) -> float:
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


def _delta(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
    return {name: after[name] - before[name] for name in before}


def local_run(data: Path, rows: int, scratch: Path) -> Run:
    """The campaign on the local pool; its workers are reaped at the end, so RUSAGE_CHILDREN counts them."""
    out = scratch / "local"
    settings = load_settings(storage_url=str(out), workers=2, database_url=f"sqlite:///{out / 'jobs.db'}")
    out.mkdir()
    spec = CampaignSpec("bill-summary", data, OUTPUTS, "bench-local", out / "_reports")

    def cpu() -> dict[str, float]:
        return {
            "parent (ingest, reports)": _rusage_cpu_s(resource.RUSAGE_SELF),
            "pool processes": _rusage_cpu_s(resource.RUSAGE_CHILDREN),
        }

    before = cpu()
    started = time.perf_counter()
    stats = run_campaign(spec, settings)
    wall = time.perf_counter() - started
    assert (stats.rendered, stats.failed, stats.rejected) == (rows, 0, 0), stats
    return Run(wall, _delta(before, cpu()), stats.rendered, {"chunk_size": settings.chunk_size})


def celery_run(data: Path, rows: int, scratch: Path) -> Run:
    """The campaign on two Celery workers with a Redis broker, both started (and stopped) here."""
    root = scratch / "celery"
    upload = root / "out" / "_uploads" / "recipients.csv"
    upload.parent.mkdir(parents=True)
    shutil.copyfile(data, upload)
    with redis_server(root) as (url, redis_pid):
        env = {
            "TAILOR_BROKER_URL": url,
            "TAILOR_DATABASE_URL": f"sqlite:///{root / 'jobs.db'}",
            "TAILOR_STORAGE_URL": str(root / "out"),
        }
        settings = load_settings(
            broker_url=url, database_url=env["TAILOR_DATABASE_URL"], storage_url=env["TAILOR_STORAGE_URL"]
        )
        store = open_store(settings.database_url)  # migrated before the workers open it
        workers = CeleryWorkers(env, root)
        try:
            workers.start()
            workers.start()
            _wait_for_workers(settings, 2)
            mains = [process.pid for process in workers.processes]

            def cpu() -> dict[str, float]:
                return {
                    "bench process (start, polling)": _rusage_cpu_s(resource.RUSAGE_SELF),
                    "redis-server": process_cpu_s(redis_pid),
                    "worker main processes": sum(process_cpu_s(pid) for pid in mains),
                    "worker pool processes (ingest, renders)": sum(
                        process_cpu_s(child) for pid in mains for child in descendants(pid)
                    ),
                }

            before = cpu()
            started_at, started = dt.datetime.now(), time.perf_counter()
            campaign, _ = start_campaign(
                settings, store, "bill-summary", list(OUTPUTS), "_uploads/recipients.csv"
            )
            while (progress := campaign_progress(store, campaign.id)) is None or progress.status not in (
                "done",
                "failed",
            ):
                time.sleep(1.0)  # each poll is a GROUP BY over the campaign's rows: keep it rare
            wall = time.perf_counter() - started
            used = _delta(before, cpu())
        finally:
            workers.stop()
            store.close()
            celery_for(settings).close()
    assert (progress.status, progress.done, progress.failed) == ("done", rows, 0), progress
    notes = _log_timings(workers.logs, started_at)
    return Run(wall, used, progress.done, {"chunk_size": settings.chunk_size, **notes})


def _wait_for_workers(settings: Settings, count: int, timeout_s: float = 120.0) -> None:
    app = celery_for(settings)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if len(app.control.ping(timeout=1.0) or []) >= count:
            return
    raise RuntimeError(f"{count} Celery workers did not answer a ping in {timeout_s:.0f} s")


def _log_timings(logs: list[Path], started_at: dt.datetime) -> dict[str, float]:
    """From each worker's INFO log (one task at a time per worker): render runtimes and the idle gap
    between one task's end and the next one's start on the same worker."""
    runtimes: list[float] = []
    gaps: list[float] = []
    first_start = None
    for log in logs:
        previous_end = None
        for line in log.read_text(errors="replace").splitlines():
            match = _LOG.match(line)
            if match is None:
                continue
            end = dt.datetime.strptime(match["at"], "%Y-%m-%d %H:%M:%S,%f")
            runtime = float(match["s"])
            start = end - dt.timedelta(seconds=runtime)
            if match["name"] == "tailor.render_chunk":
                runtimes.append(runtime)
                first_start = min(first_start or start, start)
            if previous_end is not None:
                gaps.append(max((start - previous_end).total_seconds(), 0.0))
            previous_end = end
    if not runtimes:
        return {}
    return {
        "tasks": len(runtimes),
        "task_s": sum(runtimes),
        "mean_task_s": statistics.fmean(runtimes),
        "mean_gap_s": statistics.fmean(gaps) if gaps else 0.0,
        "max_gap_s": max(gaps, default=0.0),
        "gap_share": sum(gaps) / sum(runtimes),
        "first_chunk_after_s": ((first_start or started_at) - started_at).total_seconds(),
    }


def validation_run(data: Path, scratch: Path) -> tuple[int, float, float, float]:
    """(rows, rows/s the command reports, wall seconds, peak RSS in MB) of one --validate-only run."""
    out = Path(tempfile.mkdtemp(dir=scratch))
    # GNU time runs the command from its own tiny process. (The rusage of a child spawned straight
    # from this large process is no good: Linux carries the RSS high-water mark from before exec,
    # i.e. this process's, into the child's ru_maxrss.)
    command = [str(TIME), "-f", "%M", "-o", str(out / "maxrss.txt"), sys.executable, "-m", "renderer"]
    command += ["campaign", "bill-summary", str(data), "--validate-only", "--out", str(out / "reports")]
    started = time.perf_counter()
    result = subprocess.run(command, cwd=PROJECT_ROOT, capture_output=True, text=True)
    wall = time.perf_counter() - started
    match = re.search(r"^(\d+) rows: .*\((\d+) rows/s\)", result.stdout, re.M)
    assert result.returncode == 0 and match, result.stdout + result.stderr
    peak_kib = int((out / "maxrss.txt").read_text().split()[-1])
    return int(match[1]), float(match[2]), wall, peak_kib / 1024


def _verdict(ok: bool) -> str:
    return "met" if ok else "NOT MET"


def main() -> None:
    """Run the benchmark and print a table of rates, overheads and memory, with ratios vs targets."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=10_000, help="recipients of the campaigns")
    parser.add_argument("--validate-rows", type=int, default=1_000_000, help="rows of the big validation")
    parser.add_argument("--skip-celery", action="store_true")
    parser.add_argument("--skip-rss", action="store_true")
    args = parser.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="tailor-bench-campaign-"))
    print(f"bill-summary, {'+'.join(OUTPUTS)}, {args.rows} recipients, 2 render processes per executor")
    print(f"load average at start: {' '.join(f'{x:.2f}' for x in os.getloadavg())}", flush=True)
    try:
        data = sample_csv(scratch, args.rows)
        local = local_run(data, args.rows, scratch)
        print(f"{'local pool':14} {local.rate:8.2f} recipients/s  wall {local.wall_s:7.1f} s", end="")
        print(f"  cpu {local.cpu_s / local.rendered * 1000:6.1f} ms/recipient", flush=True)
        print(f"  cpu ms/recipient by process: {local.cpu_line()}", flush=True)
        if not args.skip_celery:
            celery = celery_run(data, args.rows, scratch)
            _print_celery(local, celery)
        if not args.skip_rss:
            _print_validation(scratch, args.validate_rows)
        print(f"load average at end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _print_celery(local: Run, celery: Run) -> None:
    notes = celery.notes
    print(f"{'celery':14} {celery.rate:8.2f} recipients/s  wall {celery.wall_s:7.1f} s", end="")
    print(f"  cpu {celery.cpu_s / celery.rendered * 1000:6.1f} ms/recipient")
    print(f"  cpu ms/recipient by process: {celery.cpu_line()}")
    side = (celery.wall_s - local.wall_s) / local.wall_s
    cpu = (celery.cpu_s - local.cpu_s) / local.cpu_s
    print(f"celery/local rate: {celery.rate / local.rate:.3f}x")
    print(
        f"overhead, side by side (celery wall - local wall) / local wall: {side:+.1%}  target < 5%: ", end=""
    )
    print(_verdict(side < OVERHEAD_TARGET))
    print(f"overhead in CPU (celery cpu - local cpu) / local cpu: {cpu:+.1%}")
    if notes.get("tasks"):
        print(
            f"per chunk ({notes['chunk_size']:.0f} rows, {notes['tasks']:.0f} chunks): render "
            f"{notes['mean_task_s']:.2f} s, idle gap between tasks on a worker mean "
            f"{notes['mean_gap_s'] * 1000:.1f} ms (max {notes['max_gap_s'] * 1000:.0f} ms) = "
            f"{notes['gap_share']:.2%} of render time  "
            f"target < 5%: {_verdict(notes['gap_share'] < OVERHEAD_TARGET)}"
        )
        busy = notes["task_s"] / (2 * celery.wall_s)
        print(
            f"first chunk started {notes['first_chunk_after_s']:.2f} s after start_campaign; "
            f"render tasks kept the 2 workers busy {busy:.1%} of the wall time; "
            f"task seconds per recipient {notes['task_s'] / celery.rendered * 1000:.1f} ms "
            f"(local pool: 2 x wall / recipients = {2 * local.wall_s / local.rendered * 1000:.1f} ms)"
        )
    print(flush=True)


def _print_validation(scratch: Path, big_rows: int) -> None:
    (scratch / "validate").mkdir()
    base = sample_csv(scratch / "validate", 10_000, seed=2)  # apart from the campaign's recipients.csv
    small = repeat_csv(base, scratch / "validate-10k.csv", 10_000)
    made = time.perf_counter()
    big = repeat_csv(base, scratch / "validate-big.csv", big_rows)
    print(
        f"wrote {big_rows} validation rows ({big.stat().st_size / 1e6:.0f} MB) "
        f"in {time.perf_counter() - made:.1f} s"
    )
    results = [validation_run(path, scratch) for path in (small, big)]
    for rows, rate, wall, rss in results:
        print(f"validate-only {rows:>9} rows: peak RSS {rss:6.1f} MB, {rate:7.0f} rows/s (wall {wall:.1f} s)")
    ratio = results[1][3] / results[0][3]
    peak = max(r[3] for r in results)
    print(
        f"peak RSS ratio {results[1][0]} / {results[0][0]} rows: {ratio:.3f}x  flat (<= {FLAT_RATIO}x): ",
        end="",
    )
    print(
        f"{_verdict(ratio <= FLAT_RATIO)}; < {RSS_TARGET_MB:.0f} MB: {_verdict(peak < RSS_TARGET_MB)}",
        flush=True,
    )


if __name__ == "__main__":
    main()
