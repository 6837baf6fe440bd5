"""Retention: a template's ``retention_days`` deletes old campaigns and render jobs, outputs included,
in bounded batches, on a local folder and on S3 (moto); from the API's dispatcher and `tailor purge`.

Campaigns and jobs are made with the store's own calls and real renders into real storage, then
aged by moving their timestamps back.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fixture_api import ApiServer, make_api_fixture  # noqa: F401
from sqlalchemy import update
from typer.testing import CliRunner

from renderer.cli import app
from renderer.jobs.render_jobs import api_campaign
from renderer.jobs.retention import RetentionTask, purge_retention
from renderer.jobs.schema import Campaign, RenderJob
from renderer.jobs.store import JobStore, open_store
from renderer.outputs.load import load_template
from renderer.outputs.render import render_recipient
from renderer.outputs.template import Template
from renderer.settings import PROJECT_ROOT, Settings
from renderer.storage import LocalStorage
from renderer.storage.base import Storage
from renderer.storage.keys import campaign_key

POLICY = {"bill-summary": 30}
NOW = datetime.now(UTC)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[JobStore]:
    """A job store on a throwaway SQLite file."""
    opened = open_store(f"sqlite:///{tmp_path / 'jobs.db'}")
    yield opened
    opened.close()


@pytest.fixture(params=["local", pytest.param("s3", marks=pytest.mark.s3)])
def storage(request: pytest.FixtureRequest, tmp_path: Path) -> Storage:
    """Output storage: a local folder, or ``s3://bucket/root`` on moto."""
    if request.param == "local":
        return LocalStorage(tmp_path / "out")
    s3: Storage = request.getfixturevalue("s3_storage")
    return s3


def _age(store: JobStore, model: Any, ident: str, days: float) -> None:
    when = NOW - timedelta(days=days)
    values = {"updated_at": when, **({"finished_at": when} if model is Campaign else {})}
    with store.engine.begin() as connection:
        connection.execute(update(model).where(model.id == ident).values(values))


def _campaign(
    store: JobStore,
    storage: Storage,
    bill: Template,
    name: str,
    samples: list[str],
    days: float,
    status: str = "done",
) -> dict[str, Any]:
    """A campaign of `samples` rendered (microsites) into storage, with an upload, a cache object,
    rejects, page links and reports, finished `days` ago; what it stored and made."""
    upload = f"_uploads/{name}/recipients.csv"
    storage.put(upload, b"customer_id\n", "text/csv")
    campaign, _ = store.campaigns.create(bill.name, ["microsite"], upload, campaign_id=name)
    store.rows.add(campaign.id, [(row, bill.samples[s]["customer_id"]) for row, s in enumerate(samples, 2)])
    tokens = []
    for row, sample in enumerate(samples, 2):
        keys = render_recipient(
            bill, bill.validator.validate(bill.samples[sample]), ["microsite"], storage, name
        ).to_record()
        cache = f"cache/segments/{name}-{row}.mp4"  # as a video row records its personal segments
        storage.put(cache, b"segment")
        assert store.rows.finish(campaign.id, row, {**keys, "cache:segment:greeting": cache})
        tokens.append(store.links.create(bill.name, name, bill.samples[sample]["customer_id"], 86_400))
    store.rows.add_rejects(campaign.id, [(90 + i, "email", "is not an email address") for i in range(3)])
    storage.put(campaign_key(bill.name, name, "manifest.jsonl"), b"{}\n")
    assert store.campaigns.set_status(campaign.id, status)
    _age(store, Campaign, campaign.id, days)
    return {
        "id": campaign.id,
        "upload": upload,
        "tokens": tokens,
        "keys": list(storage.keys(f"{bill.name}/{name}")),
    }


def _job(store: JobStore, storage: Storage, bill: Template, key_id: str, sample: str, days: float) -> str:
    """A one-off render job of `sample` (microsite) under API key `key_id`, finished `days` ago."""
    raw = bill.samples[sample]
    job = store.render_jobs.create(bill.name, raw["customer_id"], ["microsite"], api_key_id=key_id)
    keys = render_recipient(
        bill, bill.validator.validate(raw), ["microsite"], storage, api_campaign(key_id)
    ).to_record()
    assert store.render_jobs.finish(job.id, keys)
    store.links.create(bill.name, api_campaign(key_id), raw["customer_id"], 86_400)
    _age(store, RenderJob, job.id, days)
    return job.id


def _purge_all(store: JobStore, storage: Storage, **limits: int) -> list[Any]:
    calls = [purge_retention(store, storage, POLICY, **limits)]
    while calls[-1].more:
        assert len(calls) < 100
        calls.append(purge_retention(store, storage, POLICY, **limits))
    return calls


def test_retention_deletes_old_campaigns_and_jobs_in_bounded_batches(
    store: JobStore, storage: Storage, bill: Template
) -> None:
    old = _campaign(store, storage, bill, "old", ["en-US", "de-DE", "it-IT"], days=40)
    recent = _campaign(store, storage, bill, "recent", ["en-US"], days=2)
    running = _campaign(store, storage, bill, "running", ["tr-TR"], days=90, status="running")
    _, key = store.keys.create("crm")
    gone_job = _job(store, storage, bill, key.id, "fa-IR", days=45)
    superseded = _job(store, storage, bill, key.id, "id-ID", days=50)
    newer = _job(store, storage, bill, key.id, "id-ID", days=1)  # the same folder, rendered again
    before = set(storage.keys())

    calls = _purge_all(store, storage, batch_size=1, max_batches=2)

    assert len(calls) > 3 and calls[0].more, "bounded: one call removed only part of it"
    assert sum(c.campaigns for c in calls) == 1 and sum(c.rows for c in calls) == 3
    assert sum(c.render_jobs for c in calls) == 2
    assert store.campaigns.get(old["id"]) is None and list(store.rows.results(old["id"])) == []
    assert list(store.rows.rejects(old["id"])) == []
    assert not any(store.links.exists(token) for token in old["tokens"])
    left = set(storage.keys())
    assert not [k for k in left if k.startswith("bill-summary/old/")] and old["upload"] not in left
    assert not [k for k in left if k.startswith("cache/segments/old-")], "personal cache objects go too"
    for kept in (recent, running):
        assert set(kept["keys"]) <= left and kept["upload"] in left
        assert store.campaigns.get(kept["id"]) is not None
        assert all(store.links.exists(token) for token in kept["tokens"])
    assert [k for k in left if k.startswith("bill-summary/_static/")], "shared static files stay"
    assert store.render_jobs.get(gone_job) is None and store.render_jobs.get(superseded) is None
    assert store.render_jobs.get(newer) is not None
    folder = f"bill-summary/{api_campaign(key.id)}/"
    assert not [k for k in left if k.startswith(folder + "IR-")], "the expired job's outputs are gone"
    assert [k for k in left if k.startswith(folder + "ID-")], "the newer job's folder stays"
    assert left < before and purge_retention(store, storage, POLICY).more is False


def test_templates_without_retention_keep_everything(
    store: JobStore, storage: Storage, bill: Template
) -> None:
    old = _campaign(store, storage, bill, "old", ["en-US"], days=4000)
    assert not purge_retention(store, storage, {})
    assert not purge_retention(store, storage, {"welcome-onboarding": 1})
    assert store.campaigns.get(old["id"]) is not None and set(old["keys"]) <= set(storage.keys())


# ---- the manifest, the API's dispatcher and the CLI -------------------------------------------------


@pytest.fixture
def templates_dir(tmp_path: Path) -> Path:
    """A templates folder holding bill-summary with ``retention_days: 30``."""
    root = tmp_path / "templates"
    shutil.copytree(PROJECT_ROOT / "templates" / "bill-summary", root / "bill-summary")
    manifest = root / "bill-summary" / "template.yaml"
    manifest.write_text(manifest.read_text(encoding="utf-8") + "\nretention_days: 30\n", encoding="utf-8")
    return root


def test_retention_days_is_read_from_the_manifest(templates_dir: Path, settings: Settings) -> None:
    assert load_template(templates_dir / "bill-summary", settings).manifest.retention_days == 30


def test_the_api_dispatcher_purges(make_api: Callable[..., ApiServer], templates_dir: Path) -> None:
    api = make_api(templates_dir=templates_dir)
    bill = load_template("bill-summary", api.settings)
    store, storage = open_store(api.settings.database_url), LocalStorage(api.settings.storage_url)
    try:
        old = _campaign(store, storage, bill, "old", ["en-US"], days=31)
        [task] = [t for t in api.app.state.tailor.dispatcher.tasks if isinstance(t, RetentionTask)]
        task._next_at = 0.0  # as if its hour had come round
        deadline = time.monotonic() + 30
        while store.campaigns.get(old["id"]) is not None and time.monotonic() < deadline:
            time.sleep(0.2)
        assert store.campaigns.get(old["id"]) is None
        assert not list(storage.keys("bill-summary/old")) and not storage.exists(old["upload"])
    finally:
        store.close()


def test_tailor_purge(
    templates_dir: Path, tmp_path: Path, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "cli-out"
    monkeypatch.setenv("TAILOR_TEMPLATES_DIR", str(templates_dir))
    monkeypatch.delenv("TAILOR_DATABASE_URL", raising=False)
    bill = load_template(templates_dir / "bill-summary", settings)
    store, storage = open_store(f"sqlite:///{out / '_tailor' / 'jobs.db'}"), LocalStorage(out)
    try:
        old = _campaign(store, storage, bill, "old", ["en-US", "de-DE"], days=31)
        recent = _campaign(store, storage, bill, "recent", ["en-US"], days=29)
        result = CliRunner().invoke(app, ["purge", "--out", str(out)])
        assert result.exit_code == 0, result.output
        assert "purged 1 campaigns, 2 campaign rows, 0 render jobs" in result.output
        assert store.campaigns.get(old["id"]) is None and store.campaigns.get(recent["id"]) is not None
        assert not list(storage.keys("bill-summary/old")) and set(recent["keys"]) <= set(storage.keys())
    finally:
        store.close()
