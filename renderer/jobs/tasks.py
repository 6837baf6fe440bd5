"""What a worker does with one chunk of a campaign, whichever executor delivered it.

`run_chunk` validates each row again (the message carries the raw values, JSON-safe), moves
its status forward in the job store, renders and stores its outputs with create-if-absent writes,
and records the result: one transaction per row (`store.rows.step` marks the row rendered before
done, with its decision, and begins this one), so a row's attempt is counted before it renders.
A redelivered chunk re-renders nothing that is done: the step refuses terminal rows. A row whose
attempts are spent (it keeps killing its worker: a poison row) is quarantined instead of rendered
again. Storage outages are retried with backoff here; render errors are the row's own and fail
it at once.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any, TypeVar

from renderer.decisions.decide import DecisionInputs
from renderer.errors import FieldIssue, RenderError, RowError, StorageError, TemplateError
from renderer.jobs.decided import (
    chunk_inputs,
    decision_day,
    decision_inputs,
    decision_statements,
    record_decision,
)
from renderer.jobs.store import JobStore, open_store
from renderer.jobs.store.rows import Finished
from renderer.jobs.video_mode import render_options
from renderer.logs import bind
from renderer.outputs.decided import decide_only
from renderer.outputs.images import limit_image_size
from renderer.outputs.kind import RenderOptions
from renderer.outputs.load import load_template
from renderer.outputs.render import render_recipient
from renderer.outputs.template import Template
from renderer.settings import Settings
from renderer.storage import open_storage
from renderer.storage.base import Storage

T = TypeVar("T")
STORAGE_RETRY_DELAYS_S = (0.5, 2.0, 5.0)
log = logging.getLogger("tailor.worker")


class WorkerStopping(BaseException):
    """Raised in a pool worker whose pool is stopping it (SIGTERM after another worker died):
    the row it was rendering is handed back uncharged (`RowStore.release`). A BaseException,
    so no render's ``except Exception`` swallows it."""


@dataclass
class ChunkReport:
    """What happened to a chunk: rows rendered, failed, quarantined, skipped (already finished or
    campaign cancelled)."""

    done: int = 0
    failed: int = 0
    quarantined: int = 0
    skipped: int = 0
    completed_campaign: bool = False
    errors: list[str] = field(default_factory=list)


@dataclass
class WorkerContext:
    """One per worker process: settings, job store, storage, loaded templates, render options."""

    settings: Settings
    store: JobStore
    storage: Storage
    options: RenderOptions
    templates: dict[str, Template] = field(default_factory=dict)
    # name -> folder, for templates a campaign was started from outside TAILOR_TEMPLATES_DIR
    roots: dict[str, str] = field(default_factory=dict)
    # the day the campaign being rendered decides on: its creation date (set per chunk)
    decided_on: dt.date = field(default_factory=lambda: dt.datetime.now(dt.UTC).date())
    # the chunk's decision inputs by recipient id (exposure history read once per chunk)
    decision_inputs: dict[str, DecisionInputs] = field(default_factory=dict)

    def template(self, name: str) -> Template:
        """The named template, loaded once per process (from its folder in `roots` when given, so a
        worker renders the very template its campaign was started with)."""
        if name not in self.templates:
            self.templates[name] = load_template(self.roots.get(name, name), self.settings)
        return self.templates[name]


_CONTEXT: dict[int, WorkerContext] = {}


def worker_context(settings: Settings, *, encoder_threads: int = 1) -> WorkerContext:
    """This process's context (created on first use, again after a fork)."""
    context = _CONTEXT.get(os.getpid())
    if context is None or context.settings != settings:
        limit_image_size(settings.max_image_pixels)
        context = WorkerContext(
            settings,
            open_store(settings.database_url),
            open_storage(settings.storage_url, settings),
            RenderOptions.from_settings(settings, encoder_threads=encoder_threads),
        )
        _CONTEXT.clear()
        _CONTEXT[os.getpid()] = context
    return context


def run_chunk(
    context: WorkerContext, campaign_id: str, chunk: list[tuple[int, dict[str, Any]]], overwrite: bool = False
) -> ChunkReport:
    """Render every row of `chunk` that is not finished yet, in the campaign's video mode (an
    on-play campaign's videos are rendered when played); never raises for a row's problem.
    Its log lines carry the campaign id."""
    with bind(campaign_id=campaign_id):
        report = _render_rows(context, campaign_id, chunk, overwrite)
        log.debug(
            "chunk of %d rows: %d done, %d failed, %d quarantined, %d skipped",
            len(chunk), report.done, report.failed, report.quarantined, report.skipped,
        )  # fmt: skip
        return report


def _render_rows(
    context: WorkerContext, campaign_id: str, chunk: list[tuple[int, dict[str, Any]]], overwrite: bool
) -> ChunkReport:
    from renderer.jobs.campaigns import complete_if_finished

    store, report = context.store, ChunkReport()
    campaign = store.campaigns.get(campaign_id)
    if campaign is None or campaign.status in ("cancelled", "done", "failed"):
        report.skipped = len(chunk)
        return report
    template = context.template(campaign.template)
    # the campaign's video mode: the process's options with video_on_play as the campaign asked
    context = replace(
        context,
        options=render_options(context.options, campaign.video_mode),
        decided_on=decision_day(campaign.created_at),
    )
    if not template.decisions.empty:
        rid_field = template.manifest.contract.recipient_id
        ids = [str(values.get(rid_field, "")) for _, values in chunk]
        inputs = chunk_inputs(store, template, campaign_id, ids, context.decided_on)
        context = replace(context, decision_inputs=inputs)
    rendered: list[Finished] = []  # the row rendered last: recorded with the next row's begin
    for number, values in chunk:
        try:
            _begin_and_render(
                context, template, campaign_id, list(campaign.outputs), number, values, overwrite, report,
                rendered,
            )  # fmt: skip
        except WorkerStopping:
            _record_rendered(store, campaign_id, rendered)
            store.rows.release(campaign_id, number)  # another worker's death: not this row's
            raise
    _record_rendered(store, campaign_id, rendered)
    report.completed_campaign = complete_if_finished(store, campaign_id)
    return report


def _record_rendered(store: JobStore, campaign_id: str, rendered: list[Finished]) -> None:
    """Mark the rendered row that no later row's begin recorded done (the chunk's last)."""
    for done in rendered:
        store.rows.finish(campaign_id, done.row, done.outputs, also=done.also)
    rendered.clear()


def _begin_and_render(
    context: WorkerContext,
    template: Template,
    campaign_id: str,
    outputs: list[str],
    number: int,
    values: dict[str, Any],
    overwrite: bool,
    report: ChunkReport,
    rendered: list[Finished],
) -> None:
    """Count an attempt and render the row, or quarantine it when its attempts are spent (each
    earlier one ended with its worker dead while rendering this very row); skip it once the
    campaign is cancelled. The row in `rendered` is marked done in the same transaction."""
    store = context.store
    step = store.rows.step(campaign_id, number, after=rendered[0] if rendered else None)
    rendered.clear()
    if step.attempts is None:  # finished already, or the campaign was cancelled
        report.skipped += 1
        return
    if step.attempts > context.settings.task_max_attempts:
        reason = f"quarantined: {step.attempts - 1} attempts did not finish (the worker died rendering it)"
        store.rows.fail(campaign_id, number, reason, max_attempts=1)
        report.quarantined += 1
        return
    _render_one(context, template, campaign_id, outputs, number, values, overwrite, report, rendered)


def _render_one(
    context: WorkerContext,
    template: Template,
    campaign_id: str,
    outputs: list[str],
    number: int,
    values: dict[str, Any],
    overwrite: bool,
    report: ChunkReport,
    rendered: list[Finished],
) -> None:
    """Render and store one begun row; a success joins `rendered` (marked done by the caller),
    a failure is recorded at once."""
    store, inputs = context.store, None
    try:
        recipient = template.validator.validate(values, row_number=number)
        rid = str(recipient[template.manifest.contract.recipient_id])
        inputs = context.decision_inputs.get(rid) or decision_inputs(
            store, template, campaign_id, rid, context.decided_on
        )
        started = time.perf_counter()
        stored = _with_storage_retries(
            lambda: render_recipient(
                template, recipient, outputs, context.storage, campaign_id, context.options,
                overwrite=overwrite, decisions=inputs,
            )
        )  # fmt: skip
        seconds = time.perf_counter() - started
        keys = stored.to_record()
        decided = decision_statements(store, template, campaign_id, rid, stored.decision, seconds)
    except RowError as exc:  # the ingest validated it: only a changed template gets here
        error = "; ".join(str(issue) for issue in exc.issues)
    except (RenderError, StorageError, TemplateError) as exc:  # TemplateError: file and line
        error = str(exc)
    except Exception as exc:  # a renderer bug: the type names it, the row goes on record
        error = str(FieldIssue("(render)", f"unexpected {type(exc).__name__}"))
    else:
        rendered.append(Finished(number, keys, decided))  # one commit: row, decision, next begin
        report.done += 1
        return
    if inputs is not None:  # the recipient was assigned, though its outputs failed
        _record_failed(context, template, campaign_id, values, inputs)
    status = store.rows.fail(campaign_id, number, error, max_attempts=context.settings.task_max_attempts)
    log.warning("row %d %s: %s", number, status, error)  # errors name fields and outputs, never values
    report.errors.append(f"row {number}: {error}")
    if status == "quarantined":
        report.quarantined += 1
    else:
        report.failed += 1


def _record_failed(
    context: WorkerContext,
    template: Template,
    campaign_id: str,
    values: dict[str, Any],
    inputs: DecisionInputs,
) -> None:
    """Record the decision of a row whose outputs failed (no render seconds), when deciding
    itself works; a failure to decide or to record leaves the row's own error as it is."""
    try:
        recipient = template.validator.validate(values)
        decision = decide_only(template, recipient, inputs)
        rid = str(recipient[template.manifest.contract.recipient_id])
        record_decision(context.store, template, campaign_id, rid, decision, None)
    except Exception as exc:  # the row is failing already: its error is what counts
        log.debug("decision of a failed row not recorded: %s", type(exc).__name__)


def _with_storage_retries(render: Callable[[], T]) -> T:
    """Run `render`, retrying storage outages with backoff (writes are create-if-absent, so a
    retry never duplicates what an earlier attempt stored)."""
    for delay in STORAGE_RETRY_DELAYS_S:
        try:
            return render()
        except StorageError:
            time.sleep(delay)
    return render()
