"""The default executor: a campaign on a local process pool, streamed, with progress and reports.

The parent process streams the recipient file, validates each row against the contract, drops
duplicate recipient ids (compared after validation, so ``007`` and ``7`` in an integer field are
one recipient), and sends chunks of validated rows to workers; each worker renders and stores its
rows and returns small `RowResult`s. At most a few chunks are in flight, so memory stays flat
whatever the file size (the set of seen recipient ids aside). Reports (``manifest.jsonl``,
``rejects.csv``) are appended in row order as results arrive.
"""

from __future__ import annotations

import gc
import json
import multiprocessing
import multiprocessing.context
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from renderer.data.sources import BadRow, RecipientSource, RejectsWriter
from renderer.errors import RenderError, RowError, SourceError
from renderer.jobs.work import RenderOptions, RowResult, check_outputs, render_row
from renderer.outputs.images import limit_image_size
from renderer.settings import Settings
from renderer.storage import open_storage
from renderer.storage.base import Storage
from renderer.template.load import Template, load_template

Chunk = list[tuple[int, dict[str, Any]]]


@dataclass
class CampaignStats:
    """Counts of a campaign run, updated as results arrive."""

    rows: int = 0
    rendered: int = 0
    rejected: int = 0
    failed: int = 0
    duplicates: int = 0
    started: float = field(default_factory=time.perf_counter)
    bytes_read: int = 0
    total_bytes: int = 0

    @property
    def elapsed(self) -> float:
        """Seconds since the campaign started."""
        return time.perf_counter() - self.started


@dataclass(frozen=True)
class CampaignSpec:
    """What to run: template, data file, outputs, campaign id, and where reports go."""

    template: str
    data: Path
    outputs: tuple[str, ...]
    campaign: str
    report_dir: Path


# ---- worker side -------------------------------------------------------------------------------

_WORKER: dict[str, Any] = {}


def _init_worker(template_ref: str, settings: Settings) -> None:
    # run_campaign leaves the template it just loaded here; a forked worker inherits it
    handed = _WORKER.get("template")
    template = handed if handed is not None and str(handed.root) == template_ref else None
    template = template or load_template(template_ref, settings)
    _WORKER.update(
        template=template,
        storage=open_storage(settings.storage_url, settings),
        options=RenderOptions.from_settings(settings, encoder_threads=1 if settings.workers > 1 else 0),
    )
    limit_image_size(settings.max_image_pixels)
    # WeasyPrint allocates many short-lived objects; freezing the loaded template and raising the
    # GC threshold measured ~20% faster PDFs (bench/pages.py).
    gc.collect()
    gc.freeze()
    gc.set_threshold(20_000, 50, 1_000)


def _render_chunk(chunk: Chunk, outputs: list[str], campaign: str) -> list[RowResult]:
    template: Template = _WORKER["template"]
    storage: Storage = _WORKER["storage"]
    options = _WORKER["options"]
    return [
        render_row(template, number, values, outputs, storage, campaign, options) for number, values in chunk
    ]


# ---- parent side -------------------------------------------------------------------------------


class _Reports:
    def __init__(self, report_dir: Path, recipient_id_personal: bool) -> None:
        report_dir.mkdir(parents=True, exist_ok=True)
        self.manifest = (report_dir / "manifest.jsonl").open("w", encoding="utf-8")
        self.rejects_file = (report_dir / "rejects.csv").open("w", encoding="utf-8", newline="")
        self.rejects = RejectsWriter(self.rejects_file)
        self.hide_ids = recipient_id_personal

    def reject(self, row: int, field: str, reason: str, rid: str = "") -> None:
        self.rejects.write(row, field, reason, "" if self.hide_ids else rid)

    def record(self, result: RowResult) -> None:
        if result.status == "ok":
            line = {
                "row": result.row,
                "recipient_id": result.recipient_id,
                "outputs": result.outputs,
            }
            self.manifest.write(json.dumps(line, ensure_ascii=False) + "\n")
        for issue in result.issues:
            self.reject(result.row, issue.field, issue.reason, result.recipient_id)

    def close(self) -> None:
        self.manifest.close()
        self.rejects_file.close()


def _chunks(
    source: RecipientSource, template: Template, size: int, stats: CampaignStats, reports: _Reports
) -> Iterator[Chunk]:
    contract = template.manifest.contract
    rid_field = contract.recipient_id
    seen: dict[str, int] = {}
    chunk: Chunk = []
    for item in source:
        stats.rows += 1
        if isinstance(item, BadRow):
            stats.rejected += 1
            reports.reject(item.number, "(row)", item.reason)
            continue
        try:
            recipient = template.validator.validate(item.values, row_number=item.number)
        except RowError as exc:
            stats.rejected += 1
            raw_id = str(item.values.get(rid_field, "")).strip()
            for issue in exc.issues:
                reports.reject(item.number, issue.field, issue.reason, raw_id)
            continue
        rid = str(recipient[rid_field])
        if rid in seen:
            stats.duplicates += 1
            stats.rejected += 1
            reason = f"duplicate recipient id (first at row {seen[rid]})"
            reports.reject(item.number, rid_field, reason, rid)
            continue
        seen[rid] = item.number
        chunk.append((item.number, recipient))
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def run_campaign(
    spec: CampaignSpec,
    settings: Settings,
    on_progress: Callable[[CampaignStats], None] | None = None,
) -> CampaignStats:
    """Run a whole campaign and return its counts. Raises only for problems that stop everything
    (broken template, unreadable file or header, unknown output): row problems go to the reports.
    """
    template = load_template(spec.template, settings)
    outputs = check_outputs(template, spec.outputs)
    contract = template.manifest.contract
    stats = CampaignStats()
    with RecipientSource(spec.data) as source:
        columns = source.read_header()
        missing = [n for n, f in contract.fields.items() if f.required and columns and n not in columns]
        if missing:
            raise SourceError(f"missing required columns: {', '.join(missing)}", file=str(spec.data), row=1)
        stats.total_bytes = source.total_bytes
        personal_id = contract.fields[contract.recipient_id].personal
        reports = _Reports(spec.report_dir, personal_id)
        try:
            chunks = _chunks(source, template, settings.chunk_size, stats, reports)
            _WORKER["template"] = template
            if settings.workers == 1:
                _init_worker(str(template.root), settings)
                for chunk in chunks:
                    _collect(
                        _render_chunk(chunk, outputs, spec.campaign), stats, reports, source, on_progress
                    )
            else:
                _run_pool(
                    chunks,
                    str(template.root),
                    outputs,
                    spec,
                    settings,
                    stats,
                    reports,
                    source,
                    on_progress,
                )
        finally:
            reports.close()
    return stats


def _pool_context() -> multiprocessing.context.BaseContext:
    """Fork when the parent has a single thread (instant start, template inherited); else a
    forkserver, since forking a multi-threaded process can deadlock the child."""
    if threading.active_count() == 1:
        return multiprocessing.get_context("fork")
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["renderer.jobs.local"])
    return context


def _run_pool(
    chunks: Iterator[Chunk],
    template_ref: str,
    outputs: list[str],
    spec: CampaignSpec,
    settings: Settings,
    stats: CampaignStats,
    reports: _Reports,
    source: RecipientSource,
    on_progress: Callable[[CampaignStats], None] | None,
) -> None:
    context = _pool_context()
    in_flight: deque[Future[list[RowResult]]] = deque()
    limit = settings.workers * 3
    with ProcessPoolExecutor(
        settings.workers,
        mp_context=context,
        initializer=_init_worker,
        initargs=(template_ref, settings),
    ) as pool:
        try:
            for chunk in chunks:
                in_flight.append(pool.submit(_render_chunk, chunk, outputs, spec.campaign))
                while len(in_flight) >= limit or (in_flight and in_flight[0].done()):
                    _collect(in_flight.popleft().result(), stats, reports, source, on_progress)
            while in_flight:
                _collect(in_flight.popleft().result(), stats, reports, source, on_progress)
        except BrokenProcessPool:
            for future in in_flight:
                future.cancel()
            raise RenderError(
                f"a worker process died (killed or out of memory) after {stats.rendered} recipients; "
                "the manifest lists every recipient rendered so far"
            ) from None
        except BaseException:
            for future in in_flight:
                future.cancel()
            raise


def _collect(
    results: list[RowResult],
    stats: CampaignStats,
    reports: _Reports,
    source: RecipientSource,
    on_progress: Callable[[CampaignStats], None] | None,
) -> None:
    for result in results:
        reports.record(result)
        if result.status == "ok":
            stats.rendered += 1
        else:
            stats.failed += 1  # rows are validated here in the parent: workers only fail renders
    stats.bytes_read = source.bytes_read
    if on_progress:
        on_progress(stats)
