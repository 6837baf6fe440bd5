"""Trigger exposures: which triggers each recipient was shown, by which campaign and when, for
frequency caps across campaigns.

`record` is insert-or-ignore on (recipient, trigger, campaign): a redelivered or resumed render of
the same campaign never counts twice, and its first time stays. `history` reads the exposures of
many recipients at once (one query per chunk of ids), leaving out one campaign, so a campaign
deciding a batch of recipients, or deciding them again after a resume, sees only the others.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, select

from renderer.jobs.schema import TriggerExposure
from renderer.jobs.store.base import ConcernStore, Write, batched, utc_now

CHUNK = 500  # recipient ids per history query (well under every backend's parameter limit)


class ExposureStore(ConcernStore):
    """Every read and write of trigger exposures; each method is one short transaction
    (`history`: one per chunk of ids)."""

    def __init__(self, engine: Engine) -> None:
        super().__init__(engine)
        self._insert_new = self._insert(TriggerExposure).on_conflict_do_nothing(
            index_elements=["recipient_id", "trigger", "campaign"]
        )  # built once: a campaign worker records a row's exposures with its finish

    def record(
        self,
        template: str,
        campaign: str,
        recipient_id: str,
        triggers: Iterable[str],
        at: datetime | None = None,
    ) -> int:
        """Store that `campaign` showed the recipient each of `triggers` at `at`; those it had
        recorded already are left as they are. Returns how many were new, after the commit."""
        rows = _exposures(template, campaign, recipient_id, triggers, at)
        if not rows:
            return 0
        insert = self._insert_new.values(rows).returning(TriggerExposure.trigger)
        with self._write() as connection:  # a row comes back per exposure inserted
            return len(connection.execute(insert).all())

    def record_statement(
        self,
        template: str,
        campaign: str,
        recipient_id: str,
        triggers: Iterable[str],
        at: datetime | None = None,
    ) -> Write | None:
        """The insert-or-ignore `record` runs (None for no trigger), for a caller that commits it
        with other writes."""
        rows = _exposures(template, campaign, recipient_id, triggers, at)
        if not rows:
            return None
        return Write(self._insert_new, rows[0] if len(rows) == 1 else rows)  # one: no executemany

    def history(
        self, recipient_ids: Iterable[str], exclude_campaign: str | None, since: datetime
    ) -> dict[str, dict[str, list[datetime]]]:
        """Recipient id -> trigger -> the times it was shown at or after `since`, oldest first,
        by every campaign but `exclude_campaign`; a recipient with none is absent. One query per
        `CHUNK` distinct ids."""
        found: dict[str, dict[str, list[datetime]]] = {}
        columns = (TriggerExposure.recipient_id, TriggerExposure.trigger, TriggerExposure.exposed_at)
        for chunk in batched(dict.fromkeys(recipient_ids), CHUNK):
            where = TriggerExposure.recipient_id.in_(chunk) & (TriggerExposure.exposed_at >= since)
            if exclude_campaign is not None:
                where = where & (TriggerExposure.campaign != exclude_campaign)
            query = select(*columns).where(where).order_by(*columns)
            with self._read() as connection:
                for recipient_id, trigger, exposed_at in connection.execute(query):
                    found.setdefault(recipient_id, {}).setdefault(trigger, []).append(exposed_at)
        return found


def _exposures(
    template: str, campaign: str, recipient_id: str, triggers: Iterable[str], at: datetime | None
) -> list[dict[str, Any]]:
    at = at or utc_now()
    return [
        {
            "recipient_id": recipient_id,
            "trigger": trigger,
            "campaign": campaign,
            "template": template,
            "exposed_at": at,
        }
        for trigger in dict.fromkeys(triggers)
    ]
