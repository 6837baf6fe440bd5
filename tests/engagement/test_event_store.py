"""Events and form submissions in the job store, on SQLite and PostgreSQL: stored only through a live
link, counted once, erased with the recipient (scoped to the caller's key), purged by retention."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from sqlalchemy import event, func, select, update

from renderer.engagement.events import form_submit_event
from renderer.jobs.render_jobs import api_campaign
from renderer.jobs.retention import RetentionTask, purge_retention
from renderer.jobs.schema import Campaign, EngagementEvent, EventRecord, FormSubmission, RenderJob
from renderer.jobs.store import JobStore
from renderer.storage import MemoryStorage

NOW = datetime.now(UTC)


def record(
    campaign: str, recipient: str, n: int, *, received: datetime = NOW, **fields: object
) -> EventRecord:
    """A page_view of (bill-summary, campaign, recipient) with event id ``event-<n>``."""
    values: dict[str, object] = {
        "template": "bill-summary", "campaign": campaign, "recipient_id": recipient,
        "event_id": f"event-{n:04d}", "view": "view-0001", "kind": "page_view", "scene": None,
        "target": None, "value": None, "position": None, "variant": None,
        "occurred_at": received, "received_at": received,
    }  # fmt: skip
    values.update(fields)
    return EventRecord(**values)  # type: ignore[arg-type]


def counts(store: JobStore, recipient: str) -> tuple[int, int]:
    """(events, form submissions) stored for a recipient id in any campaign."""
    with store.engine.connect() as connection:
        events = connection.execute(
            select(func.count()).where(EngagementEvent.recipient_id == recipient)
        ).scalar_one()
        forms = connection.execute(
            select(func.count()).where(FormSubmission.recipient_id == recipient)
        ).scalar_one()
    return int(events), int(forms)


def test_a_batch_is_stored_once_per_event_id_and_only_through_a_live_link(job_store: JobStore) -> None:
    token = job_store.links.create("bill-summary", "spring", "C-1", ttl_s=3600)
    batch = [record("spring", "C-1", n) for n in range(5)]
    assert job_store.events.add_linked(token, batch) == 5
    assert job_store.events.add_linked(token, [*batch[2:], record("spring", "C-1", 9)]) == 1  # a retry
    assert job_store.events.add_linked(token, [record("spring", "C-1", 7)] * 3) == 1  # twice in one batch
    assert job_store.events.count("bill-summary", "spring") == 7
    assert job_store.events.add_linked(token, batch, now=NOW + timedelta(hours=2)) is None  # expired
    assert job_store.events.add_linked("x" * 32, [record("spring", "C-1", 50)]) is None  # unknown
    job_store.erasure.erase_recipient("C-1")
    assert job_store.events.add_linked(token, [record("spring", "C-1", 51)]) is None  # erased
    assert counts(job_store, "C-1") == (0, 0)


def test_what_is_stored_reads_back_the_same(job_store: JobStore) -> None:
    token = job_store.links.create("bill-summary", "autumn", "C-9", ttl_s=3600)
    at = datetime(2026, 12, 1, 10, 30, 15, 123456, tzinfo=UTC)
    sent = [
        record("autumn", "C-9", 1, received=at, occurred_at=at - timedelta(seconds=3)),
        record(
            "autumn", "C-9", 2, received=at, kind="video_progress", value=75.0, scene="amount", position=41.25
        ),
        record("autumn", "C-9", 3, received=at, kind="cta_click", target="pay-now", view=None, variant="b"),
    ]
    assert job_store.events.add_linked(token, sent) == 3
    # the variant is the recipient's decided key (none here), never what came with the event
    assert [*job_store.events.for_campaign("bill-summary", "autumn")] == [
        replace(e, variant=None) for e in sent
    ]
    job_store.decisions.record("bill-summary", "autumn", "C-9", "headline=warm", {"version": 1})
    later = [record("autumn", "C-9", 4, received=at, variant="headline=plain")]
    assert job_store.events.add_linked(token, later) == 1
    assert [*job_store.events.for_campaign("bill-summary", "autumn")][3:] == [
        replace(later[0], variant="headline=warm")
    ]
    assert job_store.events.add([replace(later[0], event_id="server-1")]) == 1  # the server's own: kept
    assert [e.variant for e in job_store.events.for_campaign("bill-summary", "autumn")][4:] == [
        "headline=plain"
    ]


def test_last_position_follows_the_page_clock_not_arrival(job_store: JobStore) -> None:
    token = job_store.links.create("bill-summary", "spring", "C-2", ttl_s=3600)
    late = record(
        "spring", "C-2", 1, kind="video_pause", position=40.0, occurred_at=NOW - timedelta(seconds=5)
    )
    early = record(
        "spring", "C-2", 2, kind="video_pause", position=12.0, occurred_at=NOW - timedelta(minutes=5)
    )
    assert job_store.events.last_position("bill-summary", "spring", "C-2") is None
    job_store.events.add_linked(token, [late])
    job_store.events.add_linked(token, [early, record("spring", "C-2", 3)])  # arrives after, happened before
    assert job_store.events.last_position("bill-summary", "spring", "C-2") == 40.0


def test_erasure_takes_events_and_submissions_of_the_callers_campaigns_only(job_store: JobStore) -> None:
    _, mine = job_store.keys.create("mine")
    _, theirs = job_store.keys.create("theirs")
    own, _ = job_store.campaigns.create("bill-summary", ["microsite"], "u/a.csv", api_key_id=mine.id)
    other, _ = job_store.campaigns.create("bill-summary", ["microsite"], "u/b.csv", api_key_id=theirs.id)
    for campaign in (own.id, other.id, api_campaign(mine.id), api_campaign(theirs.id)):
        job_store.events.add([record(campaign, "C-3", 1), record(campaign, "C-3", 2)])
        job_store.forms.add(("bill-summary", campaign, "C-3"), "preferences", {"channel": "email"})
    job_store.events.add([record(own.id, "C-4", 1)])
    job_store.erasure.erase_recipient("C-3", api_key_id=mine.id, api_campaign=api_campaign(mine.id))
    assert counts(job_store, "C-3") == (4, 2)
    assert job_store.events.count("bill-summary", own.id) == 1  # C-4's stays
    assert job_store.events.count("bill-summary", other.id) == 2
    assert [*job_store.forms.for_form("bill-summary", api_campaign(mine.id), "preferences")] == []
    job_store.erasure.erase_recipient("C-3")  # no key (the CLI's view): every campaign
    assert counts(job_store, "C-3") == (0, 0)


def _finished(store: JobStore, campaign_id: str, days: float) -> None:
    when = NOW - timedelta(days=days)
    with store.engine.begin() as connection:
        connection.execute(
            update(Campaign)
            .where(Campaign.id == campaign_id)
            .values(status="done", finished_at=when, updated_at=when)
        )


def test_retention_purges_a_campaigns_events_and_submissions_with_it(job_store: JobStore) -> None:
    old, _ = job_store.campaigns.create("bill-summary", ["microsite"], "u/old.csv")
    young, _ = job_store.campaigns.create("bill-summary", ["microsite"], "u/young.csv")
    _finished(job_store, old.id, 40)
    _finished(job_store, young.id, 5)
    for campaign in (old.id, young.id):
        job_store.events.add([record(campaign, f"C-{n}", n) for n in range(7)])
        job_store.forms.add(("bill-summary", campaign, "C-1"), "preferences", {"channel": "post"})
    purged = purge_retention(job_store, MemoryStorage(), {"bill-summary": 30}, batch_size=3)
    assert (purged.campaigns, purged.events, purged.form_submissions, purged.more) == (1, 7, 1, False)
    assert job_store.events.count("bill-summary", old.id) == 0
    assert job_store.events.count("bill-summary", young.id) == 7
    assert len([*job_store.forms.for_form("bill-summary", young.id, "preferences")]) == 1


def test_retention_purges_an_old_render_jobs_events_and_submissions(job_store: JobStore) -> None:
    _, key = job_store.keys.create("api")
    segment = api_campaign(key.id)
    job = job_store.render_jobs.create("bill-summary", "C-5", ["microsite"], api_key_id=key.id)
    job_store.render_jobs.finish(job.id, {"microsite": f"bill-summary/{segment}/C-5/index.html"})
    with job_store.engine.begin() as connection:
        connection.execute(
            update(RenderJob).where(RenderJob.id == job.id).values(updated_at=NOW - timedelta(days=40))
        )
    job_store.events.add([record(segment, "C-5", 1), record(segment, "C-6", 1)])
    job_store.forms.add(("bill-summary", segment, "C-5"), "preferences", {"channel": "post"})
    purged = purge_retention(job_store, MemoryStorage(), {"bill-summary": 30})
    assert (purged.render_jobs, purged.events, purged.form_submissions) == (1, 1, 1)
    assert counts(job_store, "C-5") == (0, 0) and counts(job_store, "C-6") == (1, 0)


def test_events_past_their_retention_go_whatever_the_campaign(job_store: JobStore) -> None:
    job_store.events.add(
        [
            record("kept-forever", "C-7", n, received=NOW - timedelta(days=400 - n, hours=-12))
            for n in range(10)
        ]
    )
    job_store.forms.add(("bill-summary", "kept-forever", "C-7"), "preferences", {"channel": "post"})
    cut = purge_retention(
        job_store, MemoryStorage(), {}, event_retention_days=395, batch_size=2, max_batches=2
    )
    assert (cut.events, cut.more) == (4, True)  # the budget ran out: call again
    rest = purge_retention(job_store, MemoryStorage(), {}, event_retention_days=395, batch_size=2)
    assert (rest.events, rest.more) == (1, False)  # 399.5 .. 395.5 days old went; the rest stay
    assert counts(job_store, "C-7") == (5, 1)  # the submission follows the campaign's retention
    task = RetentionTask(MemoryStorage, dict, event_retention_days=1)  # no template policy at all
    task(job_store)
    assert counts(job_store, "C-7") == (0, 1)


def test_the_server_records_a_form_submit_once(job_store: JobStore) -> None:
    token = job_store.links.create("bill-summary", "spring", "C-8", ttl_s=3600)
    submission = job_store.forms.add(("bill-summary", "spring", "C-8"), "preferences", {"channel": "post"})
    made = form_submit_event(("bill-summary", "spring", "C-8"), "preferences", submission, view=None, now=NOW)
    assert job_store.events.add_linked(token, [made]) == 1
    assert job_store.events.add_linked(token, [made]) == 0


def test_an_acknowledged_batch_is_committed_to_disk_on_sqlite(job_store: JobStore) -> None:
    """The events' commit runs at ``synchronous = FULL`` (synced before it returns: a power cut
    loses nothing acknowledged); the connection returns to the pool at the store's NORMAL."""
    if job_store.engine.dialect.name != "sqlite":
        return  # PostgreSQL commits durably already
    token = job_store.links.create("bill-summary", "c-sync", "R-1", 3600)
    seen: list[int] = []

    def during_insert(connection, cursor, statement, *args):  # type: ignore[no-untyped-def]
        if statement.startswith("INSERT INTO engagement_events"):
            seen.append(connection.connection.driver_connection.execute("PRAGMA synchronous").fetchone()[0])

    event.listen(job_store.engine, "before_cursor_execute", during_insert)
    try:
        assert job_store.events.add_linked(token, [record("c-sync", "R-1", 1)]) == 1
    finally:
        event.remove(job_store.engine, "before_cursor_execute", during_insert)
    assert seen == [2]  # FULL
    with job_store.engine.connect() as connection:
        levels = {connection.connection.driver_connection.execute("PRAGMA synchronous").fetchone()[0]}
    assert levels == {1}  # NORMAL
