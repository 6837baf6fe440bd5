"""`store.webhooks` on SQLite and PostgreSQL: webhooks and the delivery outbox, claims and leases."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fixture_store import race

from renderer.jobs.store import JobStore


def test_webhook_outbox(job_store: JobStore) -> None:
    hooks = job_store.webhooks
    hook = hooks.add("https://example.test/hook", "s3cret", ["campaign.done", "render.done"])
    hooks.add("https://example.test/other", "s", ["render.failed"])
    assert [h.id for h in hooks.subscribed_to("campaign.done")] == [hook.id]
    now = datetime.now(UTC)
    first = hooks.enqueue_delivery(hook.id, "campaign.done", {"campaign": "abc", "done": 3}, now=now)
    second = hooks.enqueue_delivery(hook.id, "render.done", {"job": "def"}, now=now + timedelta(seconds=1))
    assert [d.id for d in hooks.due_deliveries(now + timedelta(seconds=5))] == [first.id, second.id]
    assert hooks.due_deliveries(now - timedelta(seconds=1)) == []
    retry_at = now + timedelta(minutes=1)
    assert hooks.claim_delivery(first.id, 60, now=now + timedelta(seconds=5))  # counts the attempt
    assert hooks.fail_delivery(first.id, "HTTP 503", retry_at, dead=False)
    assert [d.id for d in hooks.due_deliveries(now + timedelta(seconds=5))] == [second.id]
    assert hooks.finish_delivery(second.id)
    assert not hooks.finish_delivery(second.id)
    (again,) = hooks.due_deliveries(retry_at)
    assert (again.id, again.attempts, again.last_error, again.payload) == (
        first.id,
        1,
        "HTTP 503",
        {"campaign": "abc", "done": 3},
    )
    assert hooks.fail_delivery(first.id, "HTTP 503", retry_at, dead=True)
    assert hooks.due_deliveries(retry_at + timedelta(days=1)) == []


def test_a_delivery_is_claimed_by_one_caller_until_its_lease_ends(job_store: JobStore) -> None:
    hooks = job_store.webhooks
    hook = hooks.add("https://example.test/hook", "s3cret", ["render.completed"])
    now = datetime.now(UTC)
    delivery = hooks.enqueue_delivery(hook.id, "render.completed", {"render_id": "r1"}, now=now)
    assert not hooks.claim_delivery(delivery.id, 60, now=now - timedelta(seconds=1))  # not due yet
    assert race(8, lambda _: hooks.claim_delivery(delivery.id, 60, now=now)).count(True) == 1
    assert hooks.due_deliveries(now + timedelta(seconds=59)) == []  # leased
    assert not hooks.claim_delivery(delivery.id, 60, now=now + timedelta(seconds=59))
    # the claimer died: once the lease ends the delivery is due and claimable again
    assert [d.id for d in hooks.due_deliveries(now + timedelta(seconds=60))] == [delivery.id]
    assert hooks.claim_delivery(delivery.id, 60, now=now + timedelta(seconds=60))
    assert hooks.finish_delivery(delivery.id)
    assert not hooks.claim_delivery(delivery.id, 60, now=now + timedelta(days=1))
    assert not hooks.claim_delivery("0" * 32, 60, now=now)


def test_a_webhook_by_id_a_render_jobs_own_hook_and_outbox_counts(job_store: JobStore) -> None:
    hooks = job_store.webhooks
    url = "https://example.test/render"
    broadcast = hooks.add(url, "s", ["render.completed"])  # same URL, but subscribed to events
    own = hooks.add(url, "s3cret", ())
    assert hooks.get(own.id) == own and hooks.get("0" * 32) is None
    job = job_store.render_jobs.create("bill-summary", "C000001", ["pdf"], webhook_url=url)
    assert hooks.render_hook_ids(job) == (own.id,)
    assert hooks.render_hook_ids(job_store.render_jobs.create("bill-summary", "C2", ["pdf"])) == ()
    hooks.enqueue_delivery(broadcast.id, "render.completed", {"render_id": job.id})
    second = hooks.enqueue_delivery(own.id, "render.completed", {"render_id": job.id})
    assert hooks.claim_delivery(second.id, 60) and hooks.finish_delivery(second.id)
    assert hooks.count_deliveries_by_status() == {"pending": 1, "delivered": 1}
