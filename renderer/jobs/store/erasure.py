"""Erasure: everything the store holds about one recipient id, deleted in one transaction."""

from __future__ import annotations

from sqlalchemy import delete, select

from renderer.jobs.schema import Campaign, CampaignRow, RecipientLink, RenderJob
from renderer.jobs.store.base import ConcernStore


class ErasureStore(ConcernStore):
    """Deletes a recipient's rows, render jobs and page links across campaigns and keys."""

    def erase_recipient(
        self, recipient_id: str, *, api_key_id: str | None = None, api_campaign: str | None = None
    ) -> list[str]:
        """Delete every campaign row, render job and page link of a recipient id, in one
        transaction; with `api_key_id`, only those of that key's campaigns and render jobs (and
        links into its campaigns or its `api_campaign` folder).

        Returns the storage keys those rows referenced, sorted, so the caller deletes the objects.
        """
        rows = CampaignRow.recipient_id == recipient_id
        jobs = RenderJob.recipient_id == recipient_id
        links = RecipientLink.recipient_id == recipient_id
        if api_key_id is not None:
            owned = select(Campaign.id).where(Campaign.api_key_id == api_key_id)
            rows = rows & CampaignRow.campaign_id.in_(owned)
            jobs = jobs & (RenderJob.api_key_id == api_key_id)
            links = links & (RecipientLink.campaign.in_(owned) | (RecipientLink.campaign == api_campaign))
        with self._write() as connection:
            found = [*connection.execute(select(CampaignRow.outputs).where(rows)).scalars()]
            found += connection.execute(select(RenderJob.result).where(jobs)).scalars()
            connection.execute(delete(CampaignRow).where(rows))
            connection.execute(delete(RenderJob).where(jobs))
            connection.execute(delete(RecipientLink).where(links))
        return sorted({key for keys in found if keys for key in keys.values()})
