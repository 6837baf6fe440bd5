"""A worker records each rendered row with the next row's begin (one commit per row): a worker
that dies between rendering a row and that commit, or is stopped during it, still leaves every
recipient rendered exactly once after the chunk is delivered again."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from renderer.jobs import tasks
from renderer.jobs.campaigns import create_campaign
from renderer.jobs.store import JobStore
from renderer.jobs.store.rows import Finished, RowStore, Step
from renderer.jobs.tasks import WorkerContext, WorkerStopping, run_chunk, worker_context
from renderer.outputs.template import Template
from renderer.settings import Settings


class Died(BaseException):
    """The worker process ending mid-chunk (what SIGKILL does; nothing after it runs)."""


@pytest.fixture
def context(tmp_path: Path, settings: Settings) -> Iterator[WorkerContext]:
    own = settings.model_copy(
        update={"storage_url": str(tmp_path / "out"), "database_url": f"sqlite:///{tmp_path / 'j.db'}"}
    )
    context = worker_context(own)
    yield context
    context.store.close()


def _campaign(store: JobStore, bill: Template, rows: int) -> tuple[str, list[tuple[int, dict[str, Any]]]]:
    campaign, _ = create_campaign(store, bill, ["microsite"], "file:///r.csv", campaign_id="steps")
    chunk = [(n, {**bill.samples["en-US"], "customer_id": f"C-{n:07d}"}) for n in range(2, 2 + rows)]
    store.rows.add(campaign.id, [(n, str(values["customer_id"])) for n, values in chunk])
    store.campaigns.set_status(campaign.id, "running")
    return campaign.id, chunk


def _rows(store: JobStore, campaign: str) -> dict[int, tuple[str, int]]:
    return {r.row: (r.status, _attempts(store, campaign, r.row)) for r in store.rows.results(campaign)}


def _attempts(store: JobStore, campaign: str, row: int) -> int:
    with store.engine.connect() as connection:
        query = text("select attempts from campaign_rows where campaign_id = :c and row = :r")
        return int(connection.execute(query, {"c": campaign, "r": row}).scalar_one())


def _pages(context: WorkerContext) -> list[str]:
    return sorted(key for key in context.storage.keys("bill-summary/steps") if key.endswith("index.html"))


def _failing_step(monkeypatch: pytest.MonkeyPatch, on_call: int, error: BaseException) -> None:
    """Make the `on_call`-th `RowStore.step` raise `error` before it commits anything."""
    original, calls = RowStore.step, []

    def step(self: RowStore, campaign_id: str, row: int, after: Finished | None = None) -> Step:
        calls.append(row)
        if len(calls) == on_call:
            raise error
        return original(self, campaign_id, row, after)

    monkeypatch.setattr(RowStore, "step", step)


def test_a_worker_dying_before_a_rendered_row_is_recorded_renders_it_once_on_redelivery(
    context: WorkerContext, bill: Template, monkeypatch: pytest.MonkeyPatch
) -> None:
    campaign, chunk = _campaign(context.store, bill, rows=4)
    _failing_step(monkeypatch, on_call=3, error=Died())  # row 3 rendered, the worker dies
    with pytest.raises(Died):
        run_chunk(context, campaign, chunk)
    assert _rows(context.store, campaign) == {
        2: ("done", 1),
        3: ("rendering", 1),  # rendered and stored, not recorded: charged as the row it died on
        4: ("pending", 0),
        5: ("pending", 0),
    }
    stored = context.storage.get("bill-summary/steps/C-0000003/index.html")
    monkeypatch.undo()
    report = run_chunk(context, campaign, chunk)  # the chunk delivered again
    assert (report.done, report.skipped, report.failed) == (3, 1, 0)
    assert _rows(context.store, campaign) == {2: ("done", 1), 3: ("done", 2), 4: ("done", 1), 5: ("done", 1)}
    assert _pages(context) == [f"bill-summary/steps/C-{n:07d}/index.html" for n in range(2, 6)]
    assert context.storage.get("bill-summary/steps/C-0000003/index.html") == stored  # not rewritten
    assert context.store.campaigns.status(campaign) == "running"  # totals unset: not ingested


def test_a_worker_stopped_during_a_step_records_the_row_it_rendered_and_charges_none(
    context: WorkerContext, bill: Template, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The pool stops a worker (SIGTERM: WorkerStopping) while it commits row 3 with row 4's
    begin: row 3 is recorded on the way out and row 4 is left unbegun, so nothing is charged."""
    campaign, chunk = _campaign(context.store, bill, rows=3)
    _failing_step(monkeypatch, on_call=3, error=WorkerStopping())
    with pytest.raises(WorkerStopping):
        run_chunk(context, campaign, chunk)
    assert _rows(context.store, campaign) == {2: ("done", 1), 3: ("done", 1), 4: ("pending", 0)}
    monkeypatch.undo()
    report = run_chunk(context, campaign, chunk)
    assert (report.done, report.skipped) == (1, 2)
    assert _rows(context.store, campaign) == {2: ("done", 1), 3: ("done", 1), 4: ("done", 1)}
    assert len(_pages(context)) == 3


def test_a_cancel_stops_a_chunk_between_rows_and_the_rendered_row_is_kept(
    context: WorkerContext, bill: Template, monkeypatch: pytest.MonkeyPatch
) -> None:
    campaign, chunk = _campaign(context.store, bill, rows=4)
    original = tasks._render_one

    def render_then_cancel(*args: Any) -> None:
        original(*args)
        if args[4] == 3:  # row 3 is rendered when the campaign is cancelled
            context.store.campaigns.set_status(campaign, "cancelled")

    monkeypatch.setattr(tasks, "_render_one", render_then_cancel)
    report = run_chunk(context, campaign, chunk)
    assert (report.done, report.skipped) == (2, 2)
    assert _rows(context.store, campaign) == {
        2: ("done", 1),
        3: ("done", 1),
        4: ("pending", 0),
        5: ("pending", 0),
    }
