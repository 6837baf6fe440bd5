"""`store.render_jobs` on SQLite and PostgreSQL: the render job state machine."""

from __future__ import annotations

from renderer.jobs.store import JobStore


def test_render_job_lifecycle_never_goes_backwards(job_store: JobStore) -> None:
    job = job_store.render_jobs.create(
        "bill-summary", "C000001", ["video"], webhook_url="https://example.test/h"
    )
    assert job.status == "queued" and job.outputs == ("video",)
    assert job_store.render_jobs.start(job.id)
    assert job_store.render_jobs.finish(job.id, {"video": "v/C000001/video.mp4"})
    assert not job_store.render_jobs.fail(job.id, "video output: late failure")
    assert not job_store.render_jobs.start(job.id)
    stored = job_store.render_jobs.get(job.id)
    assert stored is not None
    assert (stored.status, stored.result, stored.error) == ("done", {"video": "v/C000001/video.mp4"}, None)
    failed = job_store.render_jobs.create("bill-summary", "C000002", ["pdf"])
    assert job_store.render_jobs.fail(failed.id, "pdf output: timed out")
    assert not job_store.render_jobs.finish(failed.id, {"pdf": "late"})
    assert job_store.render_jobs.get("f" * 32) is None
