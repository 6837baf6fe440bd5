"""Campaigns as the service runs them: create, ingest, render on an executor, watch, cancel, resume.

One flow for every front door (CLI, API) and every executor (local process pool, Celery):

    create_campaign ─> ingest (stream the data file, validate each row, record rows and rejects in
    the job store, dedupe recipient ids through the store) ─> chunks of rows that still need a
    render go to the executor ─> workers render each row (`tasks.run_chunk`) and move its
    status forward ─> the last finished chunk marks the campaign done.

Resume is the same ingest again: rows already done are skipped, failed rows with attempts left are
requeued, so a crash or a cancel loses nothing and renders nothing twice. Memory stays flat: rows
are streamed and only one batch of recipient ids is held at a time (duplicates are found in the
store, not in a set in memory).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from renderer.data.dialect import SourceFormat
from renderer.data.sources import BadRow, RawRow, RecipientSource
from renderer.errors import RowError, ServiceUnavailable, SourceError
from renderer.jobs.events import emit_campaign_event
from renderer.jobs.progress import CampaignProgress, campaign_progress
from renderer.jobs.schema import CampaignRecord
from renderer.jobs.store import JobStore
from renderer.jobs.video_mode import stored_video_mode
from renderer.outputs.registry import OUTPUT_KINDS
from renderer.outputs.render import check_outputs
from renderer.outputs.template import Template
from renderer.settings import Settings
from renderer.storage import LocalStorage
from renderer.storage.base import Storage

Chunk = list[tuple[int, dict[str, Any]]]
BATCH = 500


class Executor(Protocol):
    """Where chunks of rows are rendered: a local process pool or Celery workers."""

    def submit(self, campaign_id: str, chunk: Chunk) -> None:
        """Queue one chunk of (row number, raw values) of a campaign for rendering."""
        ...

    def drain(self, on_progress: Callable[[], None] | None = None) -> None:
        """Block until every submitted chunk is rendered (local) or return at once (Celery)."""
        ...

    def close(self) -> None:
        """Release processes or connections."""
        ...


class DiscardExecutor:
    """The `Executor` that renders nothing: it counts the chunks and rows handed to it and drops
    them. Validating a data file is an ingest into this executor (``tailor campaign --validate-only``)."""

    def __init__(self) -> None:
        self.chunks = 0
        self.rows = 0

    def submit(self, campaign_id: str, chunk: Chunk) -> None:
        """Count the chunk and forget it."""
        self.chunks += 1
        self.rows += len(chunk)

    def drain(self, on_progress: Callable[[], None] | None = None) -> None:
        """Nothing is ever in flight."""

    def close(self) -> None:
        """Nothing to release."""


@dataclass
class IngestStats:
    """Counts of one ingest pass over the data file."""

    rows: int = 0
    valid: int = 0
    rejected: int = 0
    duplicates: int = 0
    submitted: int = 0
    skipped_done: int = 0
    bytes_read: int = 0
    total_bytes: int = 0
    stopped: bool = False  # the campaign was cancelled mid-ingest


def create_campaign(
    store: JobStore,
    template: Template,
    outputs: list[str],
    source_key: str,
    *,
    campaign_id: str | None = None,
    idempotency_key: str | None = None,
    api_key_id: str | None = None,
    source_format: SourceFormat | None = None,
    video_mode: str | None = None,
) -> tuple[CampaignRecord, bool]:
    """Record a pending campaign after checking its outputs against the template and its video
    mode (``eager``/None or ``on-play``, which needs the video output) against them (RenderError
    otherwise), with how its file is written. The same idempotency key returns the same
    campaign and False."""
    chosen = check_outputs(template, outputs)
    mode = stored_video_mode(video_mode, chosen)
    return store.campaigns.create(
        template.name,
        chosen,
        source_key,
        idempotency_key=idempotency_key,
        api_key_id=api_key_id,
        campaign_id=campaign_id,
        source_format=source_format.as_dict() if source_format else None,
        video_mode=mode,
    )


def source_path(storage: Storage, source_key: str, scratch: Path) -> Path:
    """A local file to stream the campaign's data from: the key itself when it is a local path
    (``file:///...``), the stored object's file on local storage, else a download into `scratch`."""
    if source_key.startswith("file://"):
        return Path(source_key.removeprefix("file://"))
    if isinstance(storage, LocalStorage):
        return storage.path(source_key)
    target = scratch / Path(source_key).name
    download = getattr(storage, "download", None)
    if callable(download):
        download(source_key, target)  # streamed to disk: a million-row file never sits in memory
    else:
        target.write_bytes(storage.get(source_key))
    return target


def ingest(
    store: JobStore,
    campaign: CampaignRecord,
    template: Template,
    data: Path,
    executor: Executor,
    settings: Settings,
    on_progress: Callable[[IngestStats], None] | None = None,
    stop: Callable[[], bool] | None = None,
) -> IngestStats:
    """Stream `data`, validate each row, record rows and rejects, and submit every row that still
    needs a render to `executor` in chunks. Safe to run again (resume): recorded rows keep their
    state and done rows are not submitted. A cancel, or `stop` answering True (a server shutting
    down), stops it within one batch (``stopped``).
    Raises SourceError when the file or its header cannot be read (row problems become rejects)."""
    stats = IngestStats()
    contract = template.manifest.contract
    with RecipientSource(data, SourceFormat(**(campaign.source_format or {}))) as source:
        columns = source.read_header()
        missing = [n for n, f in contract.fields.items() if f.required and columns and n not in columns]
        if missing:
            raise SourceError(f"missing required columns: {', '.join(missing)}", file=data.name, row=1)
        stats.total_bytes = source.total_bytes
        store.campaigns.set_status(campaign.id, "running")
        chunk_size = chunk_rows(campaign.outputs, settings)
        chunk: Chunk = []
        for batch in _batches(source, template, store, campaign.id, stats, first=chunk_size):
            if _cancelled(store, campaign.id, stats) or (stop is not None and stop()):
                stats.stopped = True
                return stats  # totals stay unset: a resume ingests the whole file again
            for number, values in batch:
                chunk.append((number, values))
                if len(chunk) >= chunk_size:
                    executor.submit(campaign.id, chunk)
                    stats.submitted += len(chunk)
                    chunk = []
            stats.bytes_read = source.bytes_read
            if on_progress:
                on_progress(stats)
        if chunk:
            executor.submit(campaign.id, chunk)
            stats.submitted += len(chunk)
    store.campaigns.set_totals(campaign.id, stats.rows, stats.rejected)
    return stats


def chunk_rows(outputs: Iterable[str], settings: Settings) -> int:
    """Rows per chunk of a campaign rendering `outputs`: the chunk_size setting, or fewer for a
    slow output (its kind's ``chunk_rows``: a PDF 8, a video 1), so that a campaign's last chunks
    end close together instead of one worker rendering a long chunk while the others wait."""
    limits = [OUTPUT_KINDS[name].chunk_rows for name in outputs if name in OUTPUT_KINDS]
    return min([settings.chunk_size, *(limit for limit in limits if limit is not None)])


def _cancelled(store: JobStore, campaign_id: str, stats: IngestStats) -> bool:
    """Whether the campaign was cancelled (checked before each batch is recorded, so a cancel
    stops the ingest within one batch); marks `stats` stopped."""
    stats.stopped = store.campaigns.status(campaign_id) == "cancelled"
    return stats.stopped


def _batches(
    source: RecipientSource,
    template: Template,
    store: JobStore,
    campaign_id: str,
    stats: IngestStats,
    first: int = BATCH,
) -> Iterator[Chunk]:
    """Validated rows that need a render, a batch at a time, after recording them in the store;
    the first batch holds at most `first` rows (one chunk: the workers start on it while the
    rest of the file is read), the others `BATCH`."""
    contract = template.manifest.contract
    rid_field = contract.recipient_id
    show_id = not contract.fields[rid_field].personal  # rejects name the row's id only then
    pending: list[tuple[int, str, dict[str, Any]]] = []
    rejects: list[tuple[int, str, str, str | None]] = []

    def flush() -> Chunk:
        store.rows.add(campaign_id, [(number, rid) for number, rid, _ in pending])
        known = store.rows.for_recipients(campaign_id, [rid for _, rid, _ in pending])
        todo: Chunk = []
        for number, rid, values in pending:
            first, status = known.get(rid, (-1, ""))
            shown = rid if show_id else None
            if first == -1:  # the row number is taken by another id: the file changed since
                stats.rejected += 1
                reason = "row holds another recipient than in the earlier run"
                rejects.append((number, rid_field, reason, shown))
            elif first != number:
                stats.duplicates += 1
                stats.rejected += 1
                rejects.append((number, rid_field, f"duplicate recipient id (first at row {first})", shown))
            elif status in ("done", "quarantined"):
                stats.skipped_done += 1
            else:
                stats.valid += 1
                todo.append((number, values))
        store.rows.add_rejects(campaign_id, rejects)
        pending.clear()
        rejects.clear()
        return todo

    size = min(first, BATCH)
    for item in source:
        _take(item, template, show_id, stats, pending, rejects)
        if len(pending) >= size or len(rejects) >= BATCH:
            yield flush()
            size = BATCH
    yield flush()


def _take(
    item: RawRow | BadRow,
    template: Template,
    show_id: bool,
    stats: IngestStats,
    pending: list[tuple[int, str, dict[str, Any]]],
    rejects: list[tuple[int, str, str, str | None]],
) -> None:
    """Validate one row of the file: a valid row joins `pending`, a bad one adds to `rejects`."""
    rid_field = template.manifest.contract.recipient_id
    stats.rows += 1
    if isinstance(item, BadRow):
        stats.rejected += 1
        rejects.append((item.number, "(row)", item.reason, None))
        return
    try:
        recipient = template.validator.validate(item.values, row_number=item.number)
    except RowError as exc:
        stats.rejected += 1
        shown = _raw_id(item.values, rid_field, exc) if show_id else None
        rejects.extend((item.number, issue.field, issue.reason, shown) for issue in exc.issues)
    else:
        pending.append((item.number, str(recipient[rid_field]), item.values))


def _raw_id(values: dict[str, Any], rid_field: str, exc: RowError) -> str | None:
    """The row's recipient id as the file holds it, unless the id itself broke a rule (then it is
    not an id, and may be anything: a name, an e-mail address)."""
    if any(issue.field == rid_field for issue in exc.issues):
        return None
    raw = values.get(rid_field)
    return None if raw is None or isinstance(raw, dict | list) else str(raw).strip() or None


def complete_if_finished(store: JobStore, campaign_id: str) -> bool:
    """Mark the campaign done once its file is fully ingested and no row is pending; True only for
    the one caller that made the change, which also emits ``campaign.completed`` (once)."""
    campaign = store.campaigns.get(campaign_id)
    if campaign is None or campaign.total is None or store.rows.has_open(campaign_id):
        return False  # checked after every chunk: a seek, never a count over a million rows
    if not store.campaigns.set_status(campaign_id, "done"):
        return False
    notify_finished(store, campaign_id)
    return True


def fail_campaign(store: JobStore, campaign_id: str, error: str) -> bool:
    """Mark the campaign failed with a reason (no personal values) and emit ``campaign.failed``."""
    if not store.campaigns.set_status(campaign_id, "failed", error=error):
        return False
    notify_finished(store, campaign_id)
    return True


def notify_finished(store: JobStore, campaign_id: str) -> None:
    """Put the campaign's completion or failure event in the webhook outbox (the API's dispatcher
    delivers it, whichever process finished the campaign)."""
    emit_campaign_event(store, campaign_id)


def cancel_campaign(store: JobStore, campaign_id: str) -> bool:
    """Stop new renders: workers skip the rows of a cancelled campaign (they stay pending, so a
    resume renders them). False when the campaign is unknown or already finished."""
    return store.campaigns.set_status(campaign_id, "cancelled")


def prepare_resume(store: JobStore, campaign_id: str, settings: Settings) -> tuple[CampaignRecord, bool]:
    """Requeue failed rows with attempts left, then reopen the campaign (cancelled, failed, or done
    with rows just requeued); the caller runs `ingest` again when this call reopened it (True).
    KeyError for an unknown id."""
    if store.campaigns.get(campaign_id) is None:
        raise KeyError(campaign_id)
    requeued = store.rows.requeue_failed(campaign_id, settings.task_max_attempts)
    reopened = store.campaigns.reopen(campaign_id, from_done=requeued > 0)
    refreshed = store.campaigns.get(campaign_id)
    assert refreshed is not None
    return refreshed, reopened


__all__ = [
    "CampaignProgress",
    "Chunk",
    "DiscardExecutor",
    "Executor",
    "IngestStats",
    "ServiceUnavailable",
    "campaign_progress",
    "cancel_campaign",
    "chunk_rows",
    "complete_if_finished",
    "create_campaign",
    "fail_campaign",
    "ingest",
    "notify_finished",
    "prepare_resume",
    "source_path",
]
