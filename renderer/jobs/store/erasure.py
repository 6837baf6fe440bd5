"""Erasure: everything the store holds about one recipient id, deleted in one transaction."""

from __future__ import annotations

from sqlalchemy import delete, select

from renderer.jobs.schema import (
    Campaign,
    CampaignRow,
    EngagementEvent,
    FormSubmission,
    RecipientLink,
    RenderJob,
)
from renderer.jobs.store.base import ConcernStore


class ErasureStore(ConcernStore):
    """Deletes a recipient's rows, render jobs, page links, engagement events and form
    submissions across campaigns and keys."""

    def erase_recipient(
        self, recipient_id: str, *, api_key_id: str | None = None, api_campaign: str | None = None
    ) -> list[str]:
        """Delete every campaign row, render job, page link, engagement event and form submission
        of a recipient id, in one transaction; with `api_key_id`, only those of that key's
        campaigns and render jobs (and links, events and submissions of its campaigns or its
        `api_campaign` folder).

        The links go first: on PostgreSQL an event batch being stored holds a share lock on its
        link (`EventStore.add_linked`), so this waits for it and then deletes its events too.
        Returns the storage keys those rows referenced, sorted, so the caller deletes the objects.
        """
        rows = CampaignRow.recipient_id == recipient_id
        jobs = RenderJob.recipient_id == recipient_id
        links = RecipientLink.recipient_id == recipient_id
        events = EngagementEvent.recipient_id == recipient_id
        forms = FormSubmission.recipient_id == recipient_id
        if api_key_id is not None:
            owned = select(Campaign.id).where(Campaign.api_key_id == api_key_id)
            rows = rows & CampaignRow.campaign_id.in_(owned)
            jobs = jobs & (RenderJob.api_key_id == api_key_id)
            links = links & (RecipientLink.campaign.in_(owned) | (RecipientLink.campaign == api_campaign))
            events = events & (
                EngagementEvent.campaign.in_(owned) | (EngagementEvent.campaign == api_campaign)
            )
            forms = forms & (FormSubmission.campaign.in_(owned) | (FormSubmission.campaign == api_campaign))
        with self._write() as connection:
            found = [*connection.execute(select(CampaignRow.outputs).where(rows)).scalars()]
            found += connection.execute(select(RenderJob.result).where(jobs)).scalars()
            connection.execute(delete(RecipientLink).where(links))
            connection.execute(delete(EngagementEvent).where(events))
            connection.execute(delete(FormSubmission).where(forms))
            connection.execute(delete(CampaignRow).where(rows))
            connection.execute(delete(RenderJob).where(jobs))
        return sorted({key for keys in found if keys for key in keys.values()})
