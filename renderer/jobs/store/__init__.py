"""The job store: campaigns, rows, API render jobs, keys, webhooks, links, events, forms, claims, decisions.

`open_store(url)` takes a SQLAlchemy URL (``sqlite:///file.db`` by default, ``postgresql://`` at
scale), brings the schema to the newest Alembic revision and returns a `JobStore`: one engine
and one store per concern on it::

    store.campaigns     campaigns.py     create, get, status, set_status, reopen, counts, ...
    store.rows          rows.py          add, add_rejects, begin/start, finish, fail, results, ...
    store.render_jobs   render_jobs.py   create, get, start, finish, fail, done_results
    store.keys          keys.py          create, verify, all, revoke
    store.webhooks      webhooks.py      add, get, subscribed_to, ..., the delivery outbox
    store.links         links.py         create, keep, resolve, exists, purge_expired
    store.events        events.py        add, for_campaign, last_position, count, reach_by_variant, ...
    store.forms         forms.py         add, for_form
    store.claims        claims.py        claim, holder, release, purge_expired (one render per key)
    store.decisions     decisions.py     record, rendered, get, variant_key, tallies (test and learn)
    store.exposures     exposures.py     record, history (triggers shown, for frequency caps)
    store.erasure       erasure.py       erase_recipient

Every method runs in its own short transaction (``base.py``) and returns plain frozen records
(``schema.py``), never ORM objects. Long listings are read in keyset pages, so neither memory
nor an open transaction grows with the campaign. Statuses never go backwards; each concern's
module describes its state machine. Error texts stored here come from callers and must name
fields, outputs and rows, never values.
"""

from __future__ import annotations

from sqlalchemy import Engine

from renderer.jobs.store.base import BATCH_SIZE, Write
from renderer.jobs.store.campaigns import CampaignCounts, CampaignStore
from renderer.jobs.store.claims import ClaimStore
from renderer.jobs.store.decisions import DecisionStore
from renderer.jobs.store.engine import MIGRATIONS, create_store_engine, upgrade_store
from renderer.jobs.store.erasure import ErasureStore
from renderer.jobs.store.events import EventStore
from renderer.jobs.store.exposures import ExposureStore
from renderer.jobs.store.forms import FormStore
from renderer.jobs.store.keys import ApiKeyStore
from renderer.jobs.store.links import LinkStore
from renderer.jobs.store.render_jobs import RenderJobStore
from renderer.jobs.store.rows import RowStore
from renderer.jobs.store.webhooks import WebhookStore

__all__ = [
    "BATCH_SIZE",
    "MIGRATIONS",
    "ApiKeyStore",
    "CampaignCounts",
    "CampaignStore",
    "ClaimStore",
    "DecisionStore",
    "ErasureStore",
    "EventStore",
    "ExposureStore",
    "FormStore",
    "JobStore",
    "LinkStore",
    "RenderJobStore",
    "RowStore",
    "WebhookStore",
    "Write",
    "create_store_engine",
    "open_store",
    "upgrade_store",
]


class JobStore:
    """Owns the engine and exposes one store per concern on it; every call of theirs is one
    short transaction, and they share the engine's connection pool."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.campaigns = CampaignStore(engine)
        self.rows = RowStore(engine)
        self.render_jobs = RenderJobStore(engine)
        self.keys = ApiKeyStore(engine)
        self.webhooks = WebhookStore(engine)
        self.links = LinkStore(engine)
        self.events = EventStore(engine)
        self.forms = FormStore(engine)
        self.erasure = ErasureStore(engine)
        self.claims = ClaimStore(engine)
        self.decisions = DecisionStore(engine)
        self.exposures = ExposureStore(engine)

    def close(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()


def open_store(url: str) -> JobStore:
    """Open the job store at a SQLAlchemy URL, migrated to the newest schema."""
    engine = create_store_engine(url)
    upgrade_store(engine)
    return JobStore(engine)
