"""The job store's side of a render's decisions: `decision_inputs` reads what a decision depends
on (the exposures of capped triggers in other campaigns) and `record_decision` keeps what was
decided (the trace, the variant key, the render seconds) and which triggers were shown.

A campaign decides on its creation date, so a resumed or redelivered row decides exactly as the
first attempt did; a one-off render decides on its day.
"""

from __future__ import annotations

import datetime as dt

from renderer.decisions.decide import Decision, DecisionInputs
from renderer.jobs.store import JobStore
from renderer.outputs.template import Template


def decision_inputs(
    store: JobStore, template: Template, campaign: str, recipient_id: str, at: dt.date
) -> DecisionInputs:
    """The inputs of one recipient's decision: the history of the template's capped triggers
    (read only when one has a cap, over the longest cap's window) from every other campaign."""
    days = [c.trigger.cap.days for c in template.decisions.triggers if c.trigger.cap is not None]
    if not days:
        return DecisionInputs(campaign, at)
    since = dt.datetime.combine(at - dt.timedelta(days=max(days)), dt.time.min, dt.UTC)
    history = store.exposures.history([recipient_id], campaign, since).get(recipient_id, {})
    return DecisionInputs(campaign, at, history)


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
) -> None:
    """Store the recipient's decision trace and variant key (with the seconds its outputs took to
    render; None when they failed) and the exposures of the triggers it was shown. Nothing for a
    template that decides nothing. Both writes are idempotent: a redelivered row changes nothing."""
    if template.decisions.empty:
        return
    trace = decision.trace()
    store.decisions.record(
        template.name, campaign, recipient_id, decision.variant_key, trace, render_seconds=seconds
    )
    if decision.shown:
        store.exposures.record(template.name, campaign, recipient_id, decision.shown)
