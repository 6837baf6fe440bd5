"""Retention: a template's ``retention_days`` deletes old campaigns and render jobs, outputs included.

A campaign of a template with ``retention_days: N`` that finished (done, failed or cancelled) more
than N days ago loses, in this order: its recipients' output folders and the personal video cache
objects its rows recorded (``cache:`` entries), then those rows, its rejects, its page links, its
engagement events, form submissions and test-and-learn decisions, its ``_campaign`` reports, the
uploaded data file (``_uploads/…``, never a CLI's own input file) and finally the campaign
record. A one-off render job (the API) finished more than N days ago loses its recipient folder
and cache objects (unless a newer job of the same key and recipient owns that folder now), its
page links, events, form submissions and decisions and its record. Apart from that, engagement
events that arrived more than ``event_retention_days`` ago are deleted whatever their campaign,
and trigger exposures older than ``exposure_retention_days`` likewise (`purge_retention`):
exposures outlive their campaign, since frequency caps count them across campaigns, so keep that
setting (default 400) above the longest cap's ``days``. Pending and running campaigns and queued
or rendering jobs are never touched.

Work goes in bounded batches (`batch_size` rows or jobs per transaction, `max_batches` per call),
objects are deleted before the rows that name them, so a purge cut short (a crash, the budget) is
simply continued by the next call and never leaves outputs that nothing points at. Templates
without ``retention_days``, or no longer installed, keep everything but events past their own
retention.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Connection, Row, delete, func, select, tuple_

from renderer.jobs.schema import (
    Campaign,
    CampaignRow,
    EngagementEvent,
    FormSubmission,
    RecipientLink,
    Reject,
    RenderDecision,
    RenderJob,
    TriggerExposure,
)
from renderer.jobs.store import JobStore
from renderer.jobs.store.base import read, write
from renderer.outputs.render import RecipientOutputs
from renderer.storage.base import Storage

log = logging.getLogger("tailor.retention")
UPLOADS = "_uploads/"
_FINISHED_CAMPAIGN = ("done", "failed", "cancelled")
_FINISHED_JOB = ("done", "failed")
_Job = Row[str, str, str | None, dict[str, str] | None, datetime]  # id, recipient, key, result, updated


@dataclass
class Purged:
    """What one call removed, and whether work was left for the next call (`more`)."""

    campaigns: int = 0
    rows: int = 0
    render_jobs: int = 0
    objects: int = 0
    more: bool = False
    events: int = 0  # engagement events, of purged campaigns and jobs or past event retention
    form_submissions: int = 0
    decisions: int = 0  # test-and-learn decisions, of purged campaigns and jobs
    exposures: int = 0  # trigger exposures past exposure retention

    def __bool__(self) -> bool:
        return bool(
            self.campaigns or self.rows or self.render_jobs or self.objects or self.events
            or self.form_submissions or self.decisions or self.exposures
        )  # fmt: skip

    def __add__(self, other: Purged) -> Purged:
        """The totals of two calls; `more` is the later call's."""
        return Purged(
            self.campaigns + other.campaigns, self.rows + other.rows,
            self.render_jobs + other.render_jobs, self.objects + other.objects, other.more,
            self.events + other.events, self.form_submissions + other.form_submissions,
            self.decisions + other.decisions, self.exposures + other.exposures,
        )  # fmt: skip


def _delete_objects(storage: Storage, outputs: Iterable[Mapping[str, str] | None]) -> int:
    """Delete the folders of the output keys, then each cache object (a stream rendered on play
    stops rendering once its folder is gone); the number of objects removed."""
    folders: set[str] = set()
    cache: list[str] = []
    for keys in outputs:
        stored = RecipientOutputs.from_record(keys or {})
        cache += stored.cache.values()
        folders.update(key.rsplit("/", 1)[0] for key in stored.file_keys().values() if "/" in key)
    removed = sum(storage.delete_prefix(folder) for folder in sorted(folders))
    for key in cache:
        storage.delete(key)
    return removed + len(cache)


class _Budget:
    """How many more batches this call may run."""

    def __init__(self, batches: int) -> None:
        self.left = batches

    def take(self) -> bool:
        self.left -= 1
        return self.left >= 0


def _delete_batch(store: JobStore, model: type, key: Any, where: ColumnElement[bool], size: int) -> int:
    """Delete the rows of `model` matching `where` whose `key` is among the first `size` picked;
    how many keys were picked (`size`: there may be more)."""
    with write(store.engine) as connection:
        picked = [*connection.execute(select(key).where(where).limit(size)).scalars()]
        if picked:
            connection.execute(delete(model).where(where, key.in_(picked)))
        return len(picked)


def _purge_rows(
    store: JobStore, storage: Storage, campaign_id: str, size: int, budget: _Budget, done: Purged
) -> bool:
    """Delete a campaign's rows with their objects, a batch at a time; True once none is left."""
    while True:
        if not budget.take():
            return False
        with read(store.engine) as connection:
            query = select(CampaignRow.row, CampaignRow.outputs).where(CampaignRow.campaign_id == campaign_id)
            batch = connection.execute(query.order_by(CampaignRow.row).limit(size)).all()
        done.objects += _delete_objects(storage, (outputs for _row, outputs in batch))
        rows = [row for row, _outputs in batch]
        if rows:
            with write(store.engine) as connection:
                where = (CampaignRow.campaign_id == campaign_id) & CampaignRow.row.in_(rows)
                done.rows += int(connection.execute(delete(CampaignRow).where(where)).rowcount)
        if len(batch) < size:
            return True


def _purge_campaign(
    store: JobStore,
    storage: Storage,
    campaign: tuple[str, str, str],
    size: int,
    budget: _Budget,
    done: Purged,
) -> bool:
    """Remove one expired campaign, objects before rows; True once nothing of it is left."""
    campaign_id, template, source_key = campaign
    if not _purge_rows(store, storage, campaign_id, size, budget, done):
        return False
    links = (RecipientLink.template == template) & (RecipientLink.campaign == campaign_id)
    events = (EngagementEvent.template == template) & (EngagementEvent.campaign == campaign_id)
    forms = (FormSubmission.template == template) & (FormSubmission.campaign == campaign_id)
    decided = (RenderDecision.template == template) & (RenderDecision.campaign == campaign_id)
    for model, key, where, counter in (
        (Reject, Reject.row, Reject.campaign_id == campaign_id, None),
        (RecipientLink, RecipientLink.token_hash, links, None),
        (EngagementEvent, EngagementEvent.id, events, "events"),
        (FormSubmission, FormSubmission.id, forms, "form_submissions"),
        (RenderDecision, RenderDecision.recipient_id, decided, "decisions"),
    ):
        while True:
            picked = _delete_batch(store, model, key, where, size)
            if counter:
                setattr(done, counter, getattr(done, counter) + picked)
            if picked < size:
                break
            if not budget.take():
                return False
    done.objects += storage.delete_prefix(f"{template}/{campaign_id}")  # reports, anything left
    if source_key.startswith(UPLOADS):
        done.objects += storage.delete_prefix(source_key.rsplit("/", 1)[0])
    with write(store.engine) as connection:
        done.campaigns += int(connection.execute(delete(Campaign).where(Campaign.id == campaign_id)).rowcount)
    return True


def _expired_campaigns(
    store: JobStore, template: str, cutoff: datetime, limit: int
) -> list[tuple[str, str, str]]:
    ended = func.coalesce(Campaign.finished_at, Campaign.updated_at)
    query = (
        select(Campaign.id, Campaign.template, Campaign.source_key)
        .where(Campaign.template == template, Campaign.status.in_(_FINISHED_CAMPAIGN), ended < cutoff)
        .order_by(ended)
        .limit(limit)
    )
    with read(store.engine) as connection:
        return [(str(a), str(b), str(c)) for a, b, c in connection.execute(query)]


def _owned_by_newer_job(connection: Connection, template: str, job: _Job) -> bool:
    """Whether a newer finished job of the same key and recipient renders into the same folder."""
    same_key = (
        RenderJob.api_key_id.is_(None) if job.api_key_id is None else RenderJob.api_key_id == job.api_key_id
    )
    newer = select(RenderJob.id).where(
        RenderJob.template == template,
        RenderJob.recipient_id == job.recipient_id,
        same_key,
        RenderJob.status == "done",
        RenderJob.updated_at > job.updated_at,
    )
    return connection.execute(newer.limit(1)).first() is not None


def _forget_job_outputs(store: JobStore, storage: Storage, template: str, job: _Job, done: Purged) -> None:
    """Delete a finished job's folder, cache objects, page links, engagement events, form
    submissions and decisions (those of its recipient in its folder's campaign segment)."""
    with read(store.engine) as connection:
        if not job.result or _owned_by_newer_job(connection, template, job):
            return
    done.objects += _delete_objects(storage, [job.result])
    folders = {key.split("/")[1] for key in RecipientOutputs.from_record(job.result).file_keys().values()}
    with write(store.engine) as connection:
        for model, counter in (
            (RecipientLink, None), (EngagementEvent, "events"), (FormSubmission, "form_submissions"),
            (RenderDecision, "decisions"),
        ):  # fmt: skip
            mine = (model.template == template) & (model.recipient_id == job.recipient_id)
            gone = connection.execute(delete(model).where(mine, model.campaign.in_(folders))).rowcount
            if counter:
                setattr(done, counter, getattr(done, counter) + int(gone))


def _purge_jobs(
    store: JobStore,
    storage: Storage,
    template: str,
    cutoff: datetime,
    size: int,
    budget: _Budget,
    done: Purged,
) -> bool:
    """Delete a template's expired render jobs with their outputs; True once none is left."""
    columns = (
        RenderJob.id,
        RenderJob.recipient_id,
        RenderJob.api_key_id,
        RenderJob.result,
        RenderJob.updated_at,
    )
    expired = (
        (RenderJob.template == template)
        & RenderJob.status.in_(_FINISHED_JOB)
        & (RenderJob.updated_at < cutoff)
    )
    while True:
        if not budget.take():
            return False
        with read(store.engine) as connection:
            batch = connection.execute(
                select(*columns).where(expired).order_by(RenderJob.updated_at).limit(size)
            ).all()
        for job in batch:
            _forget_job_outputs(store, storage, template, job, done)
        if batch:
            with write(store.engine) as connection:
                gone = delete(RenderJob).where(RenderJob.id.in_([job.id for job in batch]))
                done.render_jobs += int(connection.execute(gone).rowcount)
        if len(batch) < size:
            return True


def _purge_old_events(store: JobStore, cutoff: datetime, size: int, budget: _Budget, done: Purged) -> bool:
    """Delete engagement events received before `cutoff`, a batch at a time; True once none is left."""
    old = EngagementEvent.received_at < cutoff
    while True:
        if not budget.take():
            return False
        picked = _delete_batch(store, EngagementEvent, EngagementEvent.id, old, size)
        done.events += picked
        if picked < size:
            return True


def _purge_old_exposures(store: JobStore, cutoff: datetime, size: int, budget: _Budget, done: Purged) -> bool:
    """Delete trigger exposures older than `cutoff`, a batch at a time; True once none is left."""
    key = tuple_(TriggerExposure.recipient_id, TriggerExposure.trigger, TriggerExposure.campaign)
    old = TriggerExposure.exposed_at < cutoff
    while True:
        if not budget.take():
            return False
        with write(store.engine) as connection:
            picked = [tuple(row) for row in connection.execute(select(*key.clauses).where(old).limit(size))]
            if picked:
                connection.execute(delete(TriggerExposure).where(key.in_(picked)))
        done.exposures += len(picked)
        if len(picked) < size:
            return True


def purge_retention(
    store: JobStore,
    storage: Storage,
    retention: Mapping[str, int],
    *,
    event_retention_days: int | None = None,
    exposure_retention_days: int | None = None,
    now: datetime | None = None,
    batch_size: int = 500,
    max_batches: int = 20,
) -> Purged:
    """Delete what outlived its template's retention (template name -> days), and engagement
    events received more than `event_retention_days` ago and trigger exposures older than
    `exposure_retention_days` (None: kept), at most `max_batches` batches of `batch_size` rows,
    jobs, events or exposures; `more` says to call again."""
    now = now or datetime.now(UTC)
    budget, done = _Budget(max_batches), Purged()
    for template, days in sorted(retention.items()):
        cutoff = now - timedelta(days=days)
        while listed := _expired_campaigns(store, template, cutoff, max(1, budget.left)):
            for campaign in listed:
                if not _purge_campaign(store, storage, campaign, batch_size, budget, done):
                    done.more = True
                    return done
        if not _purge_jobs(store, storage, template, cutoff, batch_size, budget, done):
            done.more = True
            return done
    if event_retention_days is not None:
        cutoff = now - timedelta(days=event_retention_days)
        if not _purge_old_events(store, cutoff, batch_size, budget, done):
            done.more = True
            return done
    if exposure_retention_days is not None:
        cutoff = now - timedelta(days=exposure_retention_days)
        done.more = not _purge_old_exposures(store, cutoff, batch_size, budget, done)
    return done


class RetentionTask:
    """A webhook-dispatcher task: purge at the first round, then every `every_s` (at each round
    while a backlog remains), a small budget per round so deliveries are never held up long.
    Failures are logged (by type, never a value) and retried at the next period."""

    def __init__(
        self,
        storage: Callable[[], Storage],
        policy: Callable[[], Mapping[str, int]],
        *,
        event_retention_days: int | None = None,
        exposure_retention_days: int | None = None,
        every_s: float = 3600.0,
        batch_size: int = 100,
        max_batches: int = 2,
    ) -> None:
        self.storage, self.policy, self.every_s = storage, policy, every_s
        self.event_retention_days = event_retention_days
        self.exposure_retention_days = exposure_retention_days
        self.batch_size, self.max_batches = batch_size, max_batches
        self._next_at = 0.0

    def __call__(self, store: JobStore) -> None:
        """Run one bounded purge if it is due."""
        now = time.monotonic()
        if now < self._next_at:
            return
        self._next_at = now + self.every_s
        try:
            policy = self.policy()
            if not policy and self.event_retention_days is None and self.exposure_retention_days is None:
                return
            purged = purge_retention(
                store, self.storage(), policy, event_retention_days=self.event_retention_days,
                exposure_retention_days=self.exposure_retention_days,
                batch_size=self.batch_size, max_batches=self.max_batches,
            )  # fmt: skip
        except Exception as exc:  # storage or database down: try again next period
            log.warning("retention purge: %s", type(exc).__name__)
            return
        if purged:
            log.info(
                "retention purged %d campaigns, %d rows, %d render jobs, %d objects, %d events, "
                "%d form submissions, %d decisions, %d exposures",
                purged.campaigns, purged.rows, purged.render_jobs, purged.objects, purged.events,
                purged.form_submissions, purged.decisions, purged.exposures,
            )  # fmt: skip
        if purged.more:
            self._next_at = now  # a backlog: go on at the next round
