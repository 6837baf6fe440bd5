"""The same campaign work on Celery workers, for more than one machine (`TAILOR_BROKER_URL`).

Messages are JSON only (never pickle) and carry a chunk's raw row values; workers validate them
again and record every row in the job store. ``acks_late`` + ``task_reject_on_worker_lost`` put a
chunk back on the queue when its worker dies; the broker's visibility timeout (above the longest
render) brings back chunks whose worker vanished with the whole machine. A redelivered chunk skips
rows already finished and quarantines the row that keeps killing workers, so nothing loops and
nothing is rendered twice. Run workers with ``tailor worker``.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from typing import Any

from celery import Celery
from celery.signals import worker_process_init
from kombu.exceptions import OperationalError
from sqlalchemy.exc import SQLAlchemyError

from renderer.errors import ServiceUnavailable, StorageError
from renderer.jobs.campaigns import Chunk
from renderer.settings import Settings, load_settings

QUEUE = "tailor"
ONPLAY_QUEUE = "tailor-onplay"  # segments a player waits for: workers take these first
PUBLISH_RETRY = {"max_retries": 2, "interval_start": 0.2, "interval_step": 0.5, "interval_max": 1.0}


def make_celery(settings: Settings) -> Celery:
    """A Celery app configured for Tailor's guarantees (see the module docstring)."""
    app = Celery("tailor", broker=settings.broker_url or "memory://", set_as_current=False)
    app.conf.update(
        task_serializer="json",
        result_serializer="json",
        accept_content=["json"],
        task_ignore_result=True,
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        task_default_queue=QUEUE,
        worker_prefetch_multiplier=1,
        worker_max_tasks_per_child=1000,
        broker_connection_retry_on_startup=True,
        broker_connection_timeout=3,
        # a worker polls its queues in the order given (on play first), not round robin
        broker_transport_options={
            "visibility_timeout": settings.broker_visibility_timeout_s,
            "queue_order_strategy": "priority",
        },
        worker_hijack_root_logger=False,
    )
    app.task(name="tailor.render_chunk", bind=True, max_retries=settings.task_max_attempts)(_run_chunk_task)
    app.task(name="tailor.ingest", bind=True, max_retries=settings.task_max_attempts)(_ingest)
    app.task(name="tailor.render_job", bind=True)(_run_render_job_task)
    app.task(name="tailor.stream_piece", acks_late=False)(_run_stream_piece)
    return app


def _run_chunk_task(
    task: Any, campaign_id: str, chunk: list[list[Any]], overwrite: bool = False
) -> dict[str, int]:
    from renderer.jobs.tasks import run_chunk, worker_context

    rows: Chunk = [(int(number), dict(values)) for number, values in chunk]
    with _retrying(task, campaign_id):
        report = run_chunk(worker_context(load_settings()), campaign_id, rows, overwrite)
    return {"done": report.done, "failed": report.failed, "quarantined": report.quarantined}


def _run_stream_piece(template: str, folder: str, piece: str) -> bool:
    # acknowledged on receipt: a player waits seconds, not a redelivery; the API asks again
    from renderer.jobs.onplay import run_stream_piece

    return run_stream_piece(load_settings(), template, folder, piece)


def _ingest(task: Any, campaign_id: str) -> dict[str, int]:
    from renderer.jobs.ingest import ingest_stored_campaign

    with _retrying(task, campaign_id):
        stats = ingest_stored_campaign(load_settings(), campaign_id, CeleryExecutor(task.app))
    return {"rows": stats.rows, "submitted": stats.submitted, "rejected": stats.rejected}


@contextmanager
def _retrying(task: Any, campaign_id: str) -> Iterator[None]:
    """Outages of the job store, storage or broker retry the task with exponential backoff; once
    the retries are spent the campaign is marked failed (resumable) instead of hanging."""
    try:
        yield
    except (SQLAlchemyError, StorageError, ServiceUnavailable, OSError) as exc:
        if task.request.retries < task.max_retries:
            raise task.retry(countdown=min(60, 2 ** (task.request.retries + 1))) from None
        _give_up(campaign_id, type(exc).__name__)
        raise


def _give_up(campaign_id: str, reason: str) -> None:
    from renderer.jobs.campaigns import fail_campaign
    from renderer.jobs.store import open_store

    try:
        store = open_store(load_settings().database_url)
    except SQLAlchemyError:
        return  # the store is still down: the campaign stays running; resume it later
    try:
        fail_campaign(store, campaign_id, f"the campaign stopped after repeated {reason} errors")
    finally:
        store.close()


def _run_render_job_task(task: Any, job_id: str, raw_values: dict[str, Any]) -> None:
    from renderer.jobs.render_jobs import run_background_render_job

    run_background_render_job(load_settings(), job_id, raw_values)


class CeleryExecutor:
    """The `Executor` that publishes chunks to the broker; workers do the rest."""

    def __init__(self, app: Celery, *, overwrite: bool = False) -> None:
        self.app = app
        self.overwrite = overwrite

    def submit(self, campaign_id: str, chunk: Chunk) -> None:
        """Publish one chunk (JSON); ServiceUnavailable when the broker cannot be reached."""
        payload = [[number, values] for number, values in chunk]
        publish(self.app, "tailor.render_chunk", [campaign_id, payload, self.overwrite])

    def drain(self, on_progress: Any = None) -> None:
        """Nothing to wait for here: progress is read from the job store."""

    def close(self) -> None:
        """Nothing to release: the app's connection pool is shared."""


def publish(app: Celery, name: str, args: list[Any], queue: str = QUEUE) -> None:
    """Send a task by name to `queue`, retrying the broker briefly; ServiceUnavailable when it
    is down."""
    try:
        app.send_task(name, args=args, queue=queue, retry=True, retry_policy=PUBLISH_RETRY)
    except (OperationalError, OSError) as exc:
        raise ServiceUnavailable(
            f"the task broker cannot be reached ({type(exc).__name__})", service="broker"
        ) from None


@lru_cache(maxsize=4)
def celery_for(settings: Settings) -> Celery:
    """One Celery app per settings object (the API and CLI reuse it)."""
    return make_celery(settings)


@worker_process_init.connect  # type: ignore[untyped-decorator]
def _prepare_worker_process(**_: Any) -> None:
    """Each render process opens its store and storage once, then tunes the garbage collector as
    the local pool does (WeasyPrint allocates many short-lived objects: ~20% faster PDFs)."""
    from renderer.jobs.tasks import worker_context

    worker_context(load_settings())
    gc.collect()
    gc.freeze()
    gc.set_threshold(20_000, 50, 1_000)


app = make_celery(load_settings())  # what `celery -A renderer.jobs.celery_app worker` loads
