"""Campaigns record every recipient's decision: traces without personal values, variant keys the
report tallies, frequency caps that hold across campaigns and ignore the campaign's own rerun."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from renderer.api.reports import results_lines
from renderer.cli import app
from renderer.jobs.local import CampaignSpec, run_campaign
from renderer.jobs.store import open_store
from renderer.outputs.load import load_template
from renderer.settings import Settings

pytestmark = pytest.mark.slow
MARK = "Zqxmarker"  # in every personal text field; a personal amount gets MARK_AMOUNT


def _marked(template: Any) -> list[dict[str, Any]]:
    """Every bill-summary sample, each personal field holding a marker value."""
    rows = []
    for raw in template.samples.values():
        row = dict(raw)
        row.update(first_name=MARK, last_name=MARK, street=MARK, city=MARK, account_number=f"ACC-{MARK}")
        row["email"] = f"{MARK.lower()}@example.com"
        row["previous_amount"] = "7391.13"
        row["line_items"] = [dict(item, description=MARK) for item in row["line_items"]]
        rows.append(row)
    return rows


def _run(settings: Settings, data: Path, campaign: str) -> None:
    report = Path(settings.storage_url) / "bill-summary" / campaign / "_campaign"
    run_campaign(CampaignSpec("bill-summary", data, ("microsite",), campaign, report), settings)


def _traces(settings: Settings, campaign: str, ids: list[str]) -> dict[str, dict[str, Any]]:
    store = open_store(settings.database_url)
    try:
        found = {rid: store.decisions.get("bill-summary", campaign, rid) for rid in ids}
    finally:
        store.close()
    assert all(record is not None for record in found.values())
    return {rid: record.trace for rid, record in found.items() if record is not None}


def _offer(trace: dict[str, Any]) -> list[str]:
    return list(trace["slots"]["offer"]["winners"])


def test_decisions_are_recorded_capped_across_campaigns_and_hold_no_personal_value(
    tmp_path: Path, settings: Settings
) -> None:
    template = load_template("bill-summary", settings)
    rows = _marked(template)
    data = tmp_path / "recipients.jsonl"
    data.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    ids = [str(row["customer_id"]) for row in rows]
    run = settings.model_copy(
        update={"storage_url": str(tmp_path / "out"), "database_url": f"sqlite:///{tmp_path / 'jobs.db'}"}
    )
    _run(run, data, "spring")
    spring = _traces(run, "spring", ids)
    text = json.dumps(spring)
    assert MARK not in text and MARK.lower() not in text and "7391" not in text
    assert all(trace["variant_key"].startswith("headline=") for trace in spring.values())
    paperless = [rid for rid, trace in spring.items() if _offer(trace) == ["paperless_offer"]]
    assert paperless, "a sample should be offered paperless bills (cap: 2 in 90 days)"

    _run(run, data, "spring")  # the same campaign again: done rows are not rendered twice
    _run(run, data, "summer")
    summer = _traces(run, "summer", ids)
    assert [_offer(summer[rid]) for rid in paperless] == [["paperless_offer"]] * len(paperless)
    _run(run, data, "autumn")  # a third campaign: two exposures in 90 days are the cap
    autumn = _traces(run, "autumn", ids)
    for rid in paperless:
        reasons = {t["id"]: t["reason"] for t in autumn[rid]["triggers"]}
        assert reasons["paperless_offer"] == "capped (2 in 90 days)"
        assert "paperless_offer" not in _offer(autumn[rid])

    store = open_store(run.database_url)
    try:
        tallies = store.decisions.tallies("bill-summary", "spring")
        shown = store.exposures.history(paperless, None, since=dt.datetime(2000, 1, 1, tzinfo=dt.UTC))
    finally:
        store.close()
    store = open_store(run.database_url)
    try:  # the campaign's results, explained: each row's variant key and trace
        record = store.campaigns.get("spring")
        assert record is not None
        lines = "".join(results_lines(store, record, "jsonl", explain=True)).splitlines()
        csv_text = "".join(results_lines(store, record, "csv", explain=True))
    finally:
        store.close()
    explained = {item["recipient_id"]: item for item in map(json.loads, lines)}
    assert {rid: item["decisions"] for rid, item in explained.items()} == spring
    assert all(item["variant_key"] == spring[rid]["variant_key"] for rid, item in explained.items())
    assert csv_text.splitlines()[0].endswith(",variant_key") and "headline=" in csv_text
    assert (
        sum(t.recipients for t in tallies.values()) == sum(t.rendered for t in tallies.values()) == len(ids)
    )
    assert set(tallies) == {trace["variant_key"] for trace in spring.values()}
    assert all(len(shown[rid]["paperless_offer"]) == 2 for rid in paperless)  # spring, summer


def test_tailor_report_prints_the_experiment_and_writes_its_page(
    tmp_path: Path, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    template = load_template("bill-summary", settings)
    data = tmp_path / "recipients.jsonl"
    data.write_text("".join(json.dumps(raw) + "\n" for raw in template.samples.values()), encoding="utf-8")
    database = f"sqlite:///{tmp_path / 'jobs.db'}"
    run = settings.model_copy(update={"storage_url": str(tmp_path / "out"), "database_url": database})
    _run(run, data, "spring")
    monkeypatch.setenv("TAILOR_DATABASE_URL", database)
    result = CliRunner().invoke(app, ["report", "spring", "--html", str(tmp_path / "page")])
    assert result.exit_code == 0, result.output
    assert "headline" in result.output and "Sample ratio" in result.output
    page = (tmp_path / "page" / "experiments.html").read_text(encoding="utf-8")
    assert "headline" in page and (tmp_path / "page" / "experiments.css").is_file()
