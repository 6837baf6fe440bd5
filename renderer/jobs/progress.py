"""Where a campaign stands: counts by row status, the render rate and an ETA, read from the job store.

`campaign_progress` is what ``GET /campaigns/{id}``, the CLI progress bar and the campaign events
(`renderer.jobs.events.campaign_payload`) show.
"""

from __future__ import annotations

from dataclasses import dataclass

from renderer.jobs.store import JobStore


@dataclass(frozen=True)
class CampaignProgress:
    """What `GET /campaigns/{id}` and the CLI progress bar show."""

    id: str
    template: str
    status: str
    total: int | None
    rows: int
    done: int
    rejected: int
    failed: int
    quarantined: int
    pending: int
    rate_per_s: float
    eta_s: float | None
    error: str | None


def campaign_progress(store: JobStore, campaign_id: str) -> CampaignProgress | None:
    """Counts, rate (rows finished per second over the last minute, else since the first) and ETA;
    None for an unknown campaign."""
    campaign = store.campaigns.get(campaign_id)
    counts = store.campaigns.counts(campaign_id, recent_s=60.0)
    if campaign is None or counts is None:
        return None
    finished = counts["done"] + counts["failed"] + counts["quarantined"]
    rate = counts["finished_recent"] / 60.0
    first, last = counts["first_finished_at"], counts["last_finished_at"]
    if first is not None and last is not None and (last - first).total_seconds() < 60.0:
        span = max((last - first).total_seconds(), 1e-3)
        rate = finished / span if finished > 1 else rate
    eta = counts["pending"] / rate if rate > 0 and campaign.status == "running" else None
    return CampaignProgress(
        campaign.id,
        campaign.template,
        campaign.status,
        counts["total"],
        counts["rows"],
        counts["done"],
        counts["rejected"] or 0,
        counts["failed"],
        counts["quarantined"],
        counts["pending"],
        round(rate, 3),
        round(eta, 1) if eta is not None else None,
        campaign.error,
    )
