"""API render jobs: one recipient rendered on request.

Render jobs rank ``queued < rendering < {done, failed}`` with no way back: once done or failed,
`RenderJobStore.start`, `finish` and `fail` change nothing and return False.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import asdict
from secrets import token_hex
from typing import Any

from sqlalchemy import Select, select

from renderer.jobs.schema import RenderJob, RenderJobRecord
from renderer.jobs.store.base import BATCH_SIZE, ConcernStore, columns_of, utc_now

_JOB = columns_of(RenderJobRecord, RenderJob)
_OPEN_JOB = ("queued", "rendering")
_DONE_RESULT: list[Any] = [RenderJob.id, RenderJob.recipient_id, RenderJob.result]


class RenderJobStore(ConcernStore):
    """Every read and write of render jobs; each method is one short transaction."""

    def create(
        self,
        template: str,
        recipient_id: str,
        outputs: Iterable[str],
        webhook_url: str | None = None,
        api_key_id: str | None = None,
        video_mode: str | None = None,
    ) -> RenderJobRecord:
        """Record a queued render of one recipient (its id: 128 random bits); `video_mode`
        ``"on-play"`` renders its video when played (None: eager)."""
        now = utc_now()
        job = RenderJobRecord(
            token_hex(16), template, recipient_id, tuple(outputs), "queued", None, None,
            webhook_url, now, now, api_key_id, video_mode,
        )  # fmt: skip
        with self._write() as connection:
            connection.execute(self._insert(RenderJob).values(asdict(job)))
        return job

    def get(self, job_id: str) -> RenderJobRecord | None:
        """The render job, or None when unknown."""
        return self._one(RenderJobRecord, _JOB, RenderJob.id == job_id)

    def _move(self, job_id: str, values: dict[str, Any]) -> bool:
        values["updated_at"] = utc_now()
        allowed = RenderJob.status.in_(_OPEN_JOB)
        return self._update(RenderJob, values, RenderJob.id == job_id, allowed) == 1

    def start(self, job_id: str) -> bool:
        """queued/rendering -> rendering; False once done or failed."""
        return self._move(job_id, {"status": "rendering"})

    def finish(self, job_id: str, result: Mapping[str, str]) -> bool:
        """-> done with its output keys; False (nothing written) once done or failed."""
        return self._move(job_id, {"status": "done", "result": dict(result), "error": None})

    def fail(self, job_id: str, error: str) -> bool:
        """-> failed; False (nothing written) once done or failed."""
        return self._move(job_id, {"status": "failed", "error": error})

    def done_results(
        self, template: str, api_key_id: str | None, page_size: int = BATCH_SIZE
    ) -> Iterator[tuple[str, dict[str, str]]]:
        """(recipient id, output keys) of every done render job of `template` made with the API
        key `api_key_id` (None: without one), read a page at a time in job id order."""
        key = RenderJob.api_key_id.is_(None) if api_key_id is None else RenderJob.api_key_id == api_key_id
        where = (RenderJob.template == template) & key & (RenderJob.status == "done")

        def page(last: tuple[Any, ...] | None) -> Select[Any]:
            query = select(*_DONE_RESULT).where(where)
            if last is not None:
                query = query.where(RenderJob.id > last[0])
            return query.order_by(RenderJob.id)

        for row in self._pages(page, page_size):
            _, recipient_id, result = tuple(row)
            yield str(recipient_id), dict(result or {})

    def count_by_status(self) -> dict[str, int]:
        """Render jobs by status over the whole store (for /metrics: ``queued`` ones are waiting)."""
        return self._count_by(RenderJob.status)
