"""Decisions of test and learn: one row per (template, campaign, recipient), read per campaign.

`record` stores what was decided before a render (the variant key and the decision trace) and a
re-render replaces it; `rendered` adds the render seconds once the outputs are stored. The key is
the same (template, campaign, recipient id) a page link carries, so an event or a form submit of
the recipient's page finds its variant key with one point lookup (`variant_key`, or the join in
`EventStore.add_batches`). Traces hold ids, versions and reasons only, never a personal value.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Engine, func, select

from renderer.jobs.schema import DecisionRecord, DecisionTally, RenderDecision
from renderer.jobs.store.base import ConcernStore, Write, columns_of, utc_now

_DECISION = columns_of(DecisionRecord, RenderDecision)
_REPLACED = ("variant_key", "trace", "render_seconds", "decided_at")


def _is(template: str, campaign: str, recipient_id: str) -> Any:
    return (
        (RenderDecision.template == template)
        & (RenderDecision.campaign == campaign)
        & (RenderDecision.recipient_id == recipient_id)
    )


class DecisionStore(ConcernStore):
    """Every read and write of render decisions; each method is one short transaction."""

    def __init__(self, engine: Engine) -> None:
        super().__init__(engine)
        insert = self._insert(RenderDecision)
        replaced = {name: insert.excluded[name] for name in _REPLACED}
        self._upsert = insert.on_conflict_do_update(
            index_elements=["template", "campaign", "recipient_id"], set_=replaced
        )  # built once: a campaign worker records one decision per row

    def record(
        self,
        template: str,
        campaign: str,
        recipient_id: str,
        variant_key: str | None,
        trace: dict[str, Any],
        at: datetime | None = None,
        render_seconds: float | None = None,
    ) -> None:
        """Store the decision of one recipient, replacing any earlier one of the same (template,
        campaign, recipient) whole, with `render_seconds` (None: not rendered, until `rendered`).
        Atomic (one upsert); returns after the commit."""
        write = self.record_statement(
            template, campaign, recipient_id, variant_key, trace, at, render_seconds
        )
        with self._write() as connection:
            write.run(connection)

    def record_statement(
        self,
        template: str,
        campaign: str,
        recipient_id: str,
        variant_key: str | None,
        trace: dict[str, Any],
        at: datetime | None = None,
        render_seconds: float | None = None,
    ) -> Write:
        """The upsert `record` runs, for a caller that commits it with other writes (a campaign
        row's finish: one transaction per row)."""
        values = {
            "template": template,
            "campaign": campaign,
            "recipient_id": recipient_id,
            "variant_key": variant_key,
            "trace": trace,
            "render_seconds": render_seconds,
            "decided_at": at or utc_now(),
        }
        return Write(self._upsert, values)

    def rendered(self, template: str, campaign: str, recipient_id: str, seconds: float) -> bool:
        """Set the seconds the recipient's outputs took to render (once they are stored); False,
        changing nothing, when no decision of that recipient is stored."""
        return (
            self._update(RenderDecision, {"render_seconds": seconds}, _is(template, campaign, recipient_id))
            == 1
        )

    def get(self, template: str, campaign: str, recipient_id: str) -> DecisionRecord | None:
        """The stored decision of one recipient, or None."""
        return self._one(DecisionRecord, _DECISION, _is(template, campaign, recipient_id))

    def variant_key(self, template: str, campaign: str, recipient_id: str) -> str | None:
        """The recipient's variant key (a primary-key lookup); None when no decision is stored or
        the template has no experiments."""
        query = select(RenderDecision.variant_key).where(_is(template, campaign, recipient_id))
        with self._read() as connection:
            found = connection.execute(query).scalar()
        return None if found is None else str(found)

    def tallies(self, template: str, campaign: str) -> dict[str | None, DecisionTally]:
        """Per variant key of one campaign (None: no experiment): recipients decided, how many of
        them rendered, and their render seconds summed; counted in the database (GROUP BY)."""
        where = (RenderDecision.template == template) & (RenderDecision.campaign == campaign)
        query = (
            select(
                RenderDecision.variant_key,
                func.count(),
                func.count(RenderDecision.render_seconds),
                func.coalesce(func.sum(RenderDecision.render_seconds), 0.0),
            )
            .where(where)
            .group_by(RenderDecision.variant_key)
        )
        with self._read() as connection:
            rows = connection.execute(query).all()
        return {
            key: DecisionTally(int(n), int(done), float(seconds or 0.0)) for key, n, done, seconds in rows
        }
