"""The job side of test and learn, on a real store (SQLite and PostgreSQL): render jobs of one API
key count each other's exposures for frequency caps (each job is its own showing, a retried job
decides as it did), and a row whose outputs failed records its decision but no exposure."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest

from renderer.jobs.decided import api_delivery, decision_day, decision_inputs, record_decision
from renderer.jobs.render_jobs import Outcome, api_campaign, run_render_job
from renderer.jobs.store import JobStore
from renderer.outputs.decided import decide_only
from renderer.outputs.load import load_template
from renderer.outputs.template import Template
from renderer.settings import PROJECT_ROOT, Settings, load_settings
from renderer.storage import MemoryStorage

TRIGGER = "id: late_payment\nversion: 1\ncondition: 'true'\npriority: 5\ncap: {times: 1, days: 30}\n"
DECISIONS = """
decisions:
  triggers: [late_payment]
  slots:
    offer: {triggers: [late_payment]}
  experiments:
    headline: {seed: h-1, variants: {plain: 1, warm: 1}, default: plain}

"""


@pytest.fixture
def decided_settings(tmp_path: Path) -> Settings:
    """Settings whose templates folder holds bill-summary with a capped trigger filling a slot."""
    root = tmp_path / "templates" / "bill-summary"
    shutil.copytree(PROJECT_ROOT / "templates" / "bill-summary", root)
    (root / "triggers").mkdir()
    (root / "triggers" / "late_payment.yaml").write_text(TRIGGER, encoding="utf-8")
    manifest = root / "template.yaml"
    text = manifest.read_text(encoding="utf-8")  # its own section swapped for one capped trigger
    start, end = text.index("\ndecisions:\n"), text.index("\n# The page's two-way half")
    manifest.write_text(text[:start] + DECISIONS + text[end:], encoding="utf-8")
    return load_settings(
        templates_dir=tmp_path / "templates", triggers_dir=tmp_path / "no-shared-triggers",
        storage_url=str(tmp_path / "out"),
    )  # fmt: skip


@pytest.fixture
def decided(decided_settings: Settings) -> Template:
    return load_template("bill-summary", decided_settings)


def _sample(template: Template) -> dict[str, object]:
    return dict(template.samples["en-US"])


def _offer(store: JobStore, template: Template, campaign: str, recipient_id: str) -> list[str]:
    record = store.decisions.get(template.name, campaign, recipient_id)
    assert record is not None
    winners: list[str] = record.trace["slots"]["offer"]["winners"]
    return winners


def test_api_render_jobs_of_one_key_count_each_others_exposures(
    job_store: JobStore, decided: Template, decided_settings: Settings
) -> None:
    key = job_store.keys.create("caps")[1].id  # its renders share the campaign segment api-<id>
    raw = _sample(decided)
    rid = str(decided.validator.validate(dict(raw))[decided.manifest.contract.recipient_id])
    outcome, storage, campaign = Outcome(job_store), MemoryStorage(), api_campaign(key)
    first = job_store.render_jobs.create(decided.name, rid, ["microsite"], api_key_id=key)
    run_render_job(outcome, storage, decided_settings, first.id, raw)
    assert job_store.render_jobs.get(first.id).status == "done"  # type: ignore[union-attr]
    assert _offer(job_store, decided, campaign, rid) == ["late_payment"]
    # a retry of the same job decides as it did: its own showing is not counted against it
    day, shown_by = decision_day(first.created_at), api_delivery(campaign, first.id)
    again = decision_inputs(job_store, decided, campaign, rid, day, shown_by=shown_by)
    assert decide_only(decided, decided.validator.validate(dict(raw)), again).shown == ("late_payment",)
    second = job_store.render_jobs.create(decided.name, rid, ["microsite"], api_key_id=key)
    run_render_job(outcome, storage, decided_settings, second.id, raw)
    assert job_store.render_jobs.get(second.id).status == "done"  # type: ignore[union-attr]
    assert _offer(job_store, decided, campaign, rid) == []  # shown once in 30 days already
    record = job_store.decisions.get(decided.name, campaign, rid)
    assert record is not None
    reasons = {t["id"]: t["reason"] for t in record.trace["triggers"]}
    assert reasons == {"late_payment": "capped (1 in 30 days)"}
    other = job_store.keys.create("other")[1].id
    job_store.erasure.erase_recipient(rid, api_key_id=other, api_campaign=api_campaign(other))
    assert decision_inputs(job_store, decided, "spring", rid, day).history != {}  # not its to erase
    job_store.erasure.erase_recipient(rid, api_key_id=key, api_campaign=campaign)
    assert decision_inputs(job_store, decided, "spring", rid, day).history == {}  # the key's jobs' too


def test_a_row_whose_outputs_failed_records_its_decision_but_no_exposure(
    job_store: JobStore, decided: Template
) -> None:
    recipient = decided.validator.validate(_sample(decided))
    rid = str(recipient[decided.manifest.contract.recipient_id])
    inputs = decision_inputs(job_store, decided, "spring", rid, decision_day(datetime.now(UTC)))
    decision = decide_only(decided, recipient, inputs)
    assert decision.shown == ("late_payment",)
    record_decision(job_store, decided, "spring", rid, decision, None)  # its outputs failed
    stored = job_store.decisions.get(decided.name, "spring", rid)
    assert stored is not None and stored.render_seconds is None  # assigned, counted as such
    later = decision_inputs(job_store, decided, "autumn", rid, inputs.at)
    assert later.history == {}  # nothing was shown, so nothing counts against another campaign
    assert decide_only(decided, recipient, later).shown == ("late_payment",)
    record_decision(job_store, decided, "spring", rid, decision, 0.5)  # the retry rendered it
    assert decision_inputs(job_store, decided, "autumn", rid, inputs.at).history != {}
