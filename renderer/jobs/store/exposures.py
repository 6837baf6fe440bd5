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

from sqlalchemy import select

from renderer.jobs.schema import TriggerExposure
from renderer.jobs.store.base import ConcernStore, batched, utc_now

CHUNK = 500  # recipient ids per history query (well under every backend's parameter limit)


class ExposureStore(ConcernStore):
    """Every read and write of trigger exposures; each method is one short transaction
    (`history`: one per chunk of ids)."""

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
        insert = self.record_statement(template, campaign, recipient_id, triggers, at)
        if insert is None:
            return 0
        with self._write() as connection:  # a row comes back per exposure inserted
            return len(connection.execute(insert.returning(TriggerExposure.trigger)).all())

    def record_statement(
        self,
        template: str,
        campaign: str,
        recipient_id: str,
        triggers: Iterable[str],
        at: datetime | None = None,
    ) -> Any:
        """The insert-or-ignore `record` runs (None for no trigger), for a caller that commits it
        with other writes."""
        at = at or utc_now()
        rows = [
            {
                "recipient_id": recipient_id,
                "trigger": trigger,
                "campaign": campaign,
                "template": template,
                "exposed_at": at,
            }
            for trigger in dict.fromkeys(triggers)
        ]
        if not rows:
            return None
        return (
            self._insert(TriggerExposure)
            .values(rows)
            .on_conflict_do_nothing(index_elements=["recipient_id", "trigger", "campaign"])
        )

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
