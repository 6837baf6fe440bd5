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


def test_done_results_are_one_keys_done_jobs_of_one_template(job_store: JobStore) -> None:
    _, record = job_store.keys.create("crm")
    jobs = job_store.render_jobs
    for recipient, template, key_id in [
        ("C1", "bill-summary", record.id), ("C2", "bill-summary", record.id), ("C3", "bill-summary", None),
        ("C4", "welcome", record.id),
    ]:  # fmt: skip
        job = jobs.create(template, recipient, ["microsite"], api_key_id=key_id)
        assert jobs.finish(job.id, {"microsite": f"{recipient}/index.html"})
    jobs.create("bill-summary", "C5", ["microsite"], api_key_id=record.id)  # queued
    failed = jobs.create("bill-summary", "C6", ["microsite"], api_key_id=record.id)
    assert jobs.fail(failed.id, "microsite output: failed")
    mine = sorted(jobs.done_results("bill-summary", record.id, page_size=1))  # a page per job
    assert mine == [("C1", {"microsite": "C1/index.html"}), ("C2", {"microsite": "C2/index.html"})]
    assert list(jobs.done_results("bill-summary", None)) == [("C3", {"microsite": "C3/index.html"})]
    assert list(jobs.done_results("welcome", None)) == []


def test_a_render_job_keeps_its_video_mode(job_store: JobStore) -> None:
    job = job_store.render_jobs.create("bill-summary", "C1", ["microsite", "video"], video_mode="on-play")
    stored = job_store.render_jobs.get(job.id)
    assert stored is not None and (job.video_mode, stored.video_mode) == ("on-play", "on-play")
    eager = job_store.render_jobs.get(job_store.render_jobs.create("bill-summary", "C2", ["video"]).id)
    assert eager is not None and eager.video_mode is None
