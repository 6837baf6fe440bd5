"""The job store's side of a render's decisions: `decision_inputs` reads what a decision depends
on (the exposures of capped triggers in other campaigns) and `record_decision` keeps what was
decided (the trace, the variant key, the render seconds) and which triggers were shown.

A campaign decides on its creation date, so a resumed or redelivered row decides exactly as the
first attempt did; a one-off render decides on its day. The API's one-off renders of one key share
a campaign (``api-<key id>``: their pages, decisions and events), but each render job is a showing
of its own: its exposures are recorded under `api_delivery` (``api-<key id>/<job id>``), so a
key's earlier renders count against its caps while a retried job still leaves its own out.
"""

from __future__ import annotations

import datetime as dt

from renderer.decisions.decide import Decision, DecisionInputs
from renderer.jobs.store import JobStore, Write
from renderer.outputs.template import Template


def api_delivery(campaign: str, job_id: str) -> str:
    """The campaign the exposures of one API render job are recorded under (and left out of its
    own history): ``<campaign>/<job id>``, one per job."""
    return f"{campaign}/{job_id}"


def decision_inputs(
    store: JobStore,
    template: Template,
    campaign: str,
    recipient_id: str,
    at: dt.date,
    *,
    shown_by: str | None = None,
) -> DecisionInputs:
    """The inputs of one recipient's decision: the history of the template's capped triggers
    (read only when one has a cap, over the longest cap's window) from every campaign but the
    one showing it (`shown_by`, default `campaign`; an API render job's `api_delivery`)."""
    return chunk_inputs(store, template, campaign, [recipient_id], at, shown_by=shown_by)[recipient_id]


def chunk_inputs(
    store: JobStore,
    template: Template,
    campaign: str,
    recipient_ids: list[str],
    at: dt.date,
    *,
    shown_by: str | None = None,
) -> dict[str, DecisionInputs]:
    """`decision_inputs` of every one of `recipient_ids`, the history read in one query per
    500 ids (a worker's chunk of rows); no query when no trigger of the template has a cap."""
    days = [c.trigger.cap.days for c in template.decisions.triggers if c.trigger.cap is not None]
    if not days:
        return {rid: DecisionInputs(campaign, at) for rid in recipient_ids}
    since = dt.datetime.combine(at - dt.timedelta(days=max(days)), dt.time.min, dt.UTC)
    history = store.exposures.history(recipient_ids, shown_by or campaign, since)
    return {rid: DecisionInputs(campaign, at, history.get(rid, {})) for rid in recipient_ids}


def decision_day(created_at: dt.datetime) -> dt.date:
    """The date a campaign (or render job) created at `created_at` decides on (UTC)."""
    return created_at.astimezone(dt.UTC).date()


def record_decision(
    store: JobStore,
    template: Template,
    campaign: str,
    recipient_id: str,
    decision: Decision,
    seconds: float | None,
    *,
    shown_by: str | None = None,
) -> None:
    """Store the recipient's decision trace and variant key (with the seconds its outputs took to
    render; None when they failed) and, once its outputs are stored, the exposures of the triggers
    it was shown, under `shown_by` (default `campaign`). Nothing for a template that decides
    nothing. Both writes are idempotent: a redelivered row changes nothing."""
    if template.decisions.empty:
        return
    trace = decision.trace()
    store.decisions.record(
        template.name, campaign, recipient_id, decision.variant_key, trace, render_seconds=seconds
    )
    if decision.shown and seconds is not None:  # a failed render showed nothing
        store.exposures.record(template.name, shown_by or campaign, recipient_id, decision.shown)


def decision_statements(
    store: JobStore, template: Template, campaign: str, recipient_id: str, decision: Decision, seconds: float
) -> list[Write]:
    """What `record_decision` writes for a rendered campaign row, as statements its caller commits
    with the row's finish (one transaction per row); none for a template that decides nothing."""
    if template.decisions.empty:
        return []
    record = store.decisions.record_statement(
        template.name, campaign, recipient_id, decision.variant_key, decision.trace(), render_seconds=seconds
    )
    shown = store.exposures.record_statement(template.name, campaign, recipient_id, decision.shown)
    return [record] if shown is None else [record, shown]
