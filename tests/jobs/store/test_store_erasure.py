"""`store.erasure` on SQLite and PostgreSQL: a recipient's rows, jobs and links go, their keys come back."""

from __future__ import annotations

from fixture_store import new_campaign
from sqlalchemy import select

from renderer.jobs.schema import CampaignRow
from renderer.jobs.store import JobStore


def test_erase_recipient_removes_every_row_and_returns_their_keys(job_store: JobStore) -> None:
    spring, autumn = new_campaign(job_store, rows=3), new_campaign(job_store, rows=3)
    job_store.rows.finish(spring, 2, {"microsite": "s/C000002/index.html", "pdf": "s/C000002/bill.pdf"})
    job_store.rows.finish(autumn, 2, {"microsite": "a/C000002/index.html", "video:poster.jpg": "a/p.jpg"})
    job_store.rows.finish(spring, 3, {"microsite": "s/C000003/index.html"})
    job = job_store.render_jobs.create("bill-summary", "C000002", ["video"])
    job_store.render_jobs.finish(job.id, {"video": "v/C000002/video.mp4"})
    token = job_store.links.create("bill-summary", "spring", "C000002", ttl_s=3600)
    other = job_store.links.create("bill-summary", "spring", "C000003", ttl_s=3600)
    keys = job_store.erasure.erase_recipient("C000002")
    assert keys == sorted(
        [
            "a/C000002/index.html",
            "a/p.jpg",
            "s/C000002/bill.pdf",
            "s/C000002/index.html",
            "v/C000002/video.mp4",
        ]
    )
    with job_store.engine.connect() as connection:
        ids = connection.execute(select(CampaignRow.recipient_id)).scalars().all()
    assert "C000002" not in ids and len(ids) == 4
    assert job_store.render_jobs.get(job.id) is None
    assert job_store.links.resolve(token) is None
    assert job_store.links.resolve(other) is not None
    assert job_store.erasure.erase_recipient("C000002") == []
