"""Erasure: everything the store holds about one recipient id, deleted in one transaction."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select

from renderer.jobs.schema import (
    Campaign,
    CampaignRow,
    EngagementEvent,
    FormSubmission,
    RecipientLink,
    RenderDecision,
    RenderJob,
    TriggerExposure,
)
from renderer.jobs.store.base import ConcernStore


class ErasureStore(ConcernStore):
    """Deletes a recipient's rows, render jobs, page links, engagement events, form submissions,
    decisions and trigger exposures across campaigns and keys."""

    def erase_recipient(
        self, recipient_id: str, *, api_key_id: str | None = None, api_campaign: str | None = None
    ) -> list[str]:
        """Delete every campaign row, render job, page link, engagement event, form submission,
        decision and trigger exposure of a recipient id, in one transaction; with `api_key_id`,
        only those of that key's campaigns and render jobs (and links, events, submissions,
        decisions and exposures of its campaigns or its `api_campaign` folder, and the exposures
        of its render jobs, ``<api_campaign>/<job id>``).

        The links go first: on PostgreSQL an event batch being stored holds a share lock on its
        link (`EventStore.add_linked`), so this waits for it and then deletes its events too.
        Returns the storage keys those rows referenced, sorted, so the caller deletes the objects.
        """
        rows = CampaignRow.recipient_id == recipient_id
        jobs = RenderJob.recipient_id == recipient_id
        per_campaign: list[tuple[Any, Any]] = [  # the tables keyed by a campaign (or an API folder)
            (model, model.recipient_id == recipient_id)
            for model in (RecipientLink, EngagementEvent, FormSubmission, RenderDecision, TriggerExposure)
        ]
        if api_key_id is not None:
            owned = select(Campaign.id).where(Campaign.api_key_id == api_key_id)
            rows = rows & CampaignRow.campaign_id.in_(owned)
            jobs = jobs & (RenderJob.api_key_id == api_key_id)
            per_campaign = [
                (model, where & (model.campaign.in_(owned) | (model.campaign == api_campaign)))
                for model, where in per_campaign
            ]
            if api_campaign is not None:  # an API render job's exposures: ``<api_campaign>/<job id>``
                jobs_shown = TriggerExposure.campaign.startswith(f"{api_campaign}/", autoescape=True)
                per_campaign.append(
                    (TriggerExposure, (TriggerExposure.recipient_id == recipient_id) & jobs_shown)
                )
        with self._write() as connection:
            found = [*connection.execute(select(CampaignRow.outputs).where(rows)).scalars()]
            found += connection.execute(select(RenderJob.result).where(jobs)).scalars()
            for model, where in per_campaign:  # the links first (see above)
                connection.execute(delete(model).where(where))
            connection.execute(delete(CampaignRow).where(rows))
            connection.execute(delete(RenderJob).where(jobs))
        return sorted({key for keys in found if keys for key in keys.values()})
