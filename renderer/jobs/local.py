"""The default executor: chunks of a campaign rendered on a local process pool, no server needed.

`LocalPoolExecutor` is the `Executor` the CLI and a broker-less API use: at most a few chunks are
in flight (memory stays flat), workers record each row in the job store themselves (as Celery
workers do), and a worker killed mid-chunk (out of memory, ``kill -9``) costs a pool restart and a
resubmission of the chunks in flight: rows already done are skipped, the row that keeps killing
its worker is quarantined after `task_max_attempts`. Only that row is charged: the pool stops its
other workers with SIGTERM, and each hands the row it was rendering back uncharged.

`run_campaign` is the CLI's whole campaign: create or resume it in the job store, ingest the file,
render, and write ``manifest.jsonl`` and ``rejects.csv`` from the store. `validate_campaign` is the
same ingest into a `DiscardExecutor` and a throwaway job store: counts and
``validation-rejects.csv``, no render.
"""

from __future__ import annotations

import gc
import multiprocessing
import multiprocessing.context
import os
import signal
import tempfile
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field, fields
from pathlib import Path

from renderer.data.dialect import SourceFormat
from renderer.data.sources import RejectsWriter
from renderer.errors import RenderError
from renderer.jobs.campaigns import (
    Chunk,
    DiscardExecutor,
    IngestStats,
    complete_if_finished,
    create_campaign,
    ingest,
    prepare_resume,
)
from renderer.jobs.reports import write_rejects, write_reports
from renderer.jobs.schema import CampaignRecord
from renderer.jobs.store import JobStore, open_store
from renderer.jobs.tasks import ChunkReport, WorkerStopping, run_chunk, worker_context
from renderer.jobs.video_mode import shown_video_mode, stored_video_mode
from renderer.logs import configure_logging
from renderer.outputs.load import load_template
from renderer.outputs.template import Template
from renderer.settings import Settings

MAX_POOL_RESTARTS = 20


@dataclass
class CampaignStats(IngestStats):
    """Counts of a campaign run: the ingest's counts plus renders, updated as results arrive."""

    rendered: int = 0
    failed: int = 0
    resumed: bool = False
    started: float = field(default_factory=time.perf_counter)

    @property
    def elapsed(self) -> float:
        """Seconds since the campaign started."""
        return time.perf_counter() - self.started


@dataclass(frozen=True)
class CampaignSpec:
    """What to run: template, data file, outputs, campaign id, where reports go, and the video
    mode (``on-play``: videos rendered when played; None or ``eager``: now)."""

    template: str
    data: Path
    outputs: tuple[str, ...]
    campaign: str
    report_dir: Path
    overwrite: bool = False
    source_format: SourceFormat = field(default_factory=SourceFormat)
    video_mode: str | None = None


# ---- worker side -------------------------------------------------------------------------------

_HANDED: dict[str, Template] = {}


def _init_worker(
    settings: Settings, threads: int, environment: dict[str, str], roots: dict[str, str]
) -> None:
    # a forkserver started earlier has the environment of that moment (e.g. no S3 credentials)
    os.environ.update(environment)
    os.nice(settings.campaign_nice)  # its ffmpeg children inherit it
    signal.signal(signal.SIGTERM, _on_sigterm)
    configure_logging(settings.log_format, settings.log_level)  # a forkserver child has none
    context = worker_context(settings, encoder_threads=threads)
    context.roots.update(roots)
    for name, template in _HANDED.items():  # a forked worker inherits the parent's templates
        context.templates.setdefault(name, template)
    # WeasyPrint allocates many short-lived objects; freezing the loaded template and raising the
    # GC threshold measured ~20% faster PDFs (bench/pages.py). Forked from a frozen parent, there
    # is little left to collect.
    gc.collect()
    gc.freeze()
    gc.set_threshold(20_000, 50, 1_000)


_IN_CHUNK: list[bool] = []  # non-empty while this worker renders a chunk


def _on_sigterm(signum: int, frame: object) -> None:
    """A pool stops its other workers with SIGTERM when one died: mid-chunk, unwind so the row
    being rendered is handed back uncharged (only the dead worker's row is charged); idle, exit."""
    if _IN_CHUNK:
        raise WorkerStopping()
    os._exit(128 + signum)


def _run_chunk(settings: Settings, campaign_id: str, chunk: Chunk, overwrite: bool) -> ChunkReport:
    _IN_CHUNK.append(True)
    try:
        return run_chunk(worker_context(settings), campaign_id, chunk, overwrite)
    except WorkerStopping:
        os._exit(128 + signal.SIGTERM)  # the pool is joining this process: exit now, send nothing
    finally:
        _IN_CHUNK.clear()


# ---- the executor ------------------------------------------------------------------------------


class LocalPoolExecutor:
    """Renders submitted chunks on `settings.workers` processes (in this process when 1)."""

    def __init__(
        self, settings: Settings, *, overwrite: bool = False, roots: dict[str, str] | None = None
    ) -> None:
        self.settings = settings
        self.overwrite = overwrite
        self.roots = dict(roots or {})  # template name -> folder, handed to every worker
        self.limit = settings.workers * 3
        self.in_flight: deque[tuple[Future[ChunkReport], str, Chunk]] = deque()
        self.reports: list[ChunkReport] = []
        self.on_report: Callable[[ChunkReport], None] | None = None
        self.restarts = 0
        self.stopping = False
        self.froze = False  # this process's heap was frozen for forked workers (undone by close)
        self.pool: ProcessPoolExecutor | None = None

    def _start(self) -> ProcessPoolExecutor:
        threads = 1 if self.settings.workers > 1 else 0
        context = _pool_context()
        if context.get_start_method() == "fork":
            # Collected and frozen once here, the parent's heap (the loaded template) is shared
            # by the forked workers: each one's own collection cost ~55 ms of copy-on-write faults.
            gc.collect()
            gc.freeze()
            self.froze = True
        self.pool = ProcessPoolExecutor(
            self.settings.workers,
            mp_context=context,
            initializer=_init_worker,
            initargs=(self.settings, threads, dict(os.environ), self.roots),
        )
        return self.pool

    def submit(self, campaign_id: str, chunk: Chunk) -> None:
        """Queue a chunk; blocks while `workers * 3` chunks are in flight (dropped once stopping)."""
        if self.stopping:
            return
        if self.settings.workers == 1:
            context = worker_context(self.settings)
            context.roots.update(self.roots)
            self._record(run_chunk(context, campaign_id, chunk, self.overwrite))
            return
        pool = self.pool or self._start()
        try:
            future = pool.submit(_run_chunk, self.settings, campaign_id, chunk, self.overwrite)
        except BrokenProcessPool:  # a worker died since the last collect: the pool refuses work
            if self.stopping:
                return
            self._restart_after_crash()
            assert self.pool is not None
            future = self.pool.submit(_run_chunk, self.settings, campaign_id, chunk, self.overwrite)
        self.in_flight.append((future, campaign_id, chunk))
        while len(self.in_flight) >= self.limit or (self.in_flight and self.in_flight[0][0].done()):
            self._collect_oldest()

    def drain(self, on_progress: Callable[[], None] | None = None) -> None:
        """Wait for every chunk in flight."""
        while self.in_flight:
            self._collect_oldest()
            if on_progress:
                on_progress()

    def _collect_oldest(self) -> None:
        future, _, _ = self.in_flight[0]
        try:
            report = future.result()
        except BrokenProcessPool:
            if self.stopping:  # our own stop(): nothing is resubmitted
                self.in_flight.clear()
                return
            self._restart_after_crash()
            return
        self.in_flight.popleft()
        self._record(report)

    def _restart_after_crash(self) -> None:
        """A worker died: start a fresh pool and resubmit every chunk that was in flight."""
        self.restarts += 1
        if self.restarts > MAX_POOL_RESTARTS:
            raise RenderError(f"worker processes died {self.restarts} times; stopping the campaign")
        lost = [(campaign_id, chunk) for _, campaign_id, chunk in self.in_flight]
        self.in_flight.clear()
        if self.pool is not None:
            self.pool.shutdown(wait=False, cancel_futures=True)
        pool = self._start()
        for campaign_id, chunk in lost:
            future = pool.submit(_run_chunk, self.settings, campaign_id, chunk, self.overwrite)
            self.in_flight.append((future, campaign_id, chunk))

    def _record(self, report: ChunkReport) -> None:
        self.reports.append(report)
        if self.on_report:
            self.on_report(report)

    def stop(self) -> None:
        """Stop now (a server shutting down; callable from another thread): the workers are sent
        SIGTERM, so each hands the row it was rendering back uncharged; from then on chunks are
        dropped instead of submitted or resubmitted, and their rows stay open for a resume."""
        self.stopping = True
        pool = self.pool
        if pool is not None:
            processes = dict(getattr(pool, "_processes", None) or {})  # no public way to stop them
            for process in processes.values():
                process.terminate()

    def close(self) -> None:
        """Stop the pool (chunks still queued are dropped: their rows stay pending for resume)."""
        if self.pool is not None:
            self.pool.shutdown(wait=True, cancel_futures=True)
            self.pool = None
        if self.froze:
            gc.unfreeze()
            self.froze = False


def _pool_context() -> multiprocessing.context.BaseContext:
    """Fork when the parent has a single thread (instant start, templates inherited); else a
    forkserver, since forking a multi-threaded process can deadlock the child."""
    if threading.active_count() == 1:
        return multiprocessing.get_context("fork")
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["renderer.jobs.local"])
    return context


# ---- the CLI's whole campaign ------------------------------------------------------------------


def run_campaign(
    spec: CampaignSpec,
    settings: Settings,
    on_progress: Callable[[CampaignStats], None] | None = None,
    template: Template | None = None,
) -> CampaignStats:
    """Run (or resume) a whole campaign on the local pool and return its counts.

    A known campaign id resumes: rows done are skipped, so a killed run renders only what was
    missing; ``spec.overwrite`` forgets the earlier run. `template`: ``spec.template`` when the
    caller loaded it already. Raises only for what stops everything (broken template, unreadable
    file or header, unknown output): row problems go to the reports.
    """
    template = template or load_template(spec.template, settings)
    store = open_store(settings.database_url)
    stats = CampaignStats()
    try:
        campaign = _open_campaign(store, template, spec, settings, stats)
        done_before, failed_before = _store_counts(store, campaign.id)  # quarantined earlier
        executor = LocalPoolExecutor(
            settings, overwrite=spec.overwrite, roots={template.name: str(template.root)}
        )

        def on_report(report: ChunkReport) -> None:
            stats.rendered += report.done
            stats.failed += report.failed + report.quarantined
            if on_progress:
                on_progress(stats)

        def on_ingest(ingest_stats: IngestStats) -> None:
            _copy_ingest(ingest_stats, stats)
            if on_progress:
                on_progress(stats)

        executor.on_report = on_report
        _HANDED[template.name] = template
        try:
            ingested = ingest(store, campaign, template, spec.data, executor, settings, on_ingest)
            executor.drain()
        finally:
            executor.close()
            _HANDED.clear()
        _copy_ingest(ingested, stats)
        done, failed = _store_counts(store, campaign.id)
        stats.rendered, stats.failed = done - done_before, failed - failed_before
        complete_if_finished(store, campaign.id)
        write_reports(store, campaign.id, spec.report_dir, template)
    finally:
        store.close()
    return stats


def validate_campaign(
    spec: CampaignSpec, settings: Settings, template: Template | None = None
) -> CampaignStats:
    """Stream and validate `spec.data` against the template's contract without rendering: rows,
    valid, rejected and duplicate counts, and ``validation-rejects.csv`` in `spec.report_dir`
    (beside a real run's reports, never over them; nothing else is written there). Duplicates
    are found the way a real run finds them, in a job store: a throwaway SQLite file in a
    temporary folder, so the configured store is never touched and memory stays flat. Raises
    like `run_campaign` for a broken template or an unreadable file or header; `template` as there."""
    template = template or load_template(spec.template, settings)
    stats = CampaignStats()
    with tempfile.TemporaryDirectory(prefix="tailor-validate-") as scratch:
        store = open_store(f"sqlite:///{Path(scratch) / 'validate.db'}")
        try:
            campaign = _create_from_spec(store, template, spec)
            _copy_ingest(ingest(store, campaign, template, spec.data, DiscardExecutor(), settings), stats)
            spec.report_dir.mkdir(parents=True, exist_ok=True)
            with (spec.report_dir / "validation-rejects.csv").open(
                "w", encoding="utf-8", newline=""
            ) as handle:
                hide_ids = template.manifest.contract.ids_are_personal
                write_rejects(store, campaign.id, RejectsWriter(handle), hide_ids)
        finally:
            store.close()
    return stats


def _create_from_spec(store: JobStore, template: Template, spec: CampaignSpec) -> CampaignRecord:
    campaign, _ = create_campaign(
        store,
        template,
        list(spec.outputs),
        f"file://{spec.data.resolve()}",
        campaign_id=spec.campaign,
        source_format=spec.source_format,
        video_mode=spec.video_mode,
    )
    return campaign


def _open_campaign(
    store: JobStore, template: Template, spec: CampaignSpec, settings: Settings, stats: CampaignStats
) -> CampaignRecord:
    existing = store.campaigns.get(spec.campaign)
    if existing is not None and spec.overwrite:
        store.campaigns.delete(spec.campaign)
        existing = None
    if existing is None:
        return _create_from_spec(store, template, spec)
    if existing.template != template.name or tuple(existing.outputs) != tuple(dict.fromkeys(spec.outputs)):
        raise RenderError(
            f"campaign {spec.campaign!r} already ran with template {existing.template!r} and outputs "
            f"{','.join(existing.outputs)}; choose another campaign id or overwrite it"
        )
    if existing.video_mode != stored_video_mode(spec.video_mode, spec.outputs):
        raise RenderError(
            f"campaign {spec.campaign!r} already ran with video {shown_video_mode(existing.video_mode)}; "
            "run it again the same way, choose another campaign id or overwrite it"
        )
    stats.resumed = True
    given = spec.source_format.as_dict()
    if given and given != (existing.source_format or {}):  # e.g. rerun with --delimiter after a refusal
        store.campaigns.set_source_format(spec.campaign, given)
    campaign, _ = prepare_resume(store, spec.campaign, settings)  # a killed run stays "running"
    return campaign


def _store_counts(store: JobStore, campaign_id: str) -> tuple[int, int]:
    """(done rows, failed + quarantined rows) as the job store has them. A run's summary is the
    difference from before to after the run, not a sum of the chunks' reports: a chunk whose
    worker was killed is rendered again and skips the rows it had finished, so no report
    counts those."""
    counts = store.campaigns.counts(campaign_id, recent_s=0.0)
    if counts is None:
        return 0, 0
    return counts["done"], counts["failed"] + counts["quarantined"]


def _copy_ingest(ingested: IngestStats, stats: CampaignStats) -> None:
    for counter in fields(IngestStats):
        setattr(stats, counter.name, getattr(ingested, counter.name))
