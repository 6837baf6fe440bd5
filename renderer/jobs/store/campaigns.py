"""Campaigns: creation (idempotent), status, totals, progress counts.

Campaigns rank ``pending < running < {cancelled, done, failed}``; `CampaignStore.set_status`
only moves forward and terminal states stick. Only `CampaignStore.reopen` (resume) moves a
cancelled or failed campaign back to running.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from secrets import token_hex
from typing import Any, TypedDict

from sqlalchemy import case, delete, func, select

from renderer.jobs.schema import Campaign, CampaignRecord, CampaignRow, Reject
from renderer.jobs.store.base import ConcernStore, columns_of, to_record, utc_now
from renderer.jobs.store.rows import OPEN_ROW, TERMINAL_ROW

_CAMPAIGN = columns_of(CampaignRecord, Campaign)
_CAMPAIGN_FROM: dict[str, tuple[str, ...]] = {
    "running": ("pending",),
    "cancelled": ("pending", "running"),
    "done": ("pending", "running"),
    "failed": ("pending", "running"),
}


class CampaignCounts(TypedDict):
    """Progress of a campaign: row counts by state plus what a rate and an ETA need."""

    total: int | None  # rows in the data file, once validation has streamed it
    rejected: int | None  # rows refused by validation
    rows: int  # validated rows added so far
    done: int
    failed: int
    quarantined: int
    pending: int  # rows not yet in a terminal state
    finished_recent: int  # rows that reached a terminal state in the last `recent_s` seconds
    first_finished_at: datetime | None
    last_finished_at: datetime | None


class CampaignStore(ConcernStore):
    """Every read and write of campaign records; each method is one short transaction."""

    def create(
        self,
        template: str,
        outputs: Iterable[str],
        source_key: str,
        idempotency_key: str | None = None,
        api_key_id: str | None = None,
        campaign_id: str | None = None,
        source_format: Mapping[str, str] | None = None,
        video_mode: str | None = None,
    ) -> tuple[CampaignRecord, bool]:
        """Create a pending campaign; with a known idempotency key return that one and False.

        `campaign_id` names it (the CLI's ``--campaign``); the default is 128 random bits.
        `source_format` is how its data file is written (delimiter, encoding; None: defaults).
        `video_mode` ``"on-play"`` renders its videos when played (None: eager); a resume keeps it.
        Race-safe: the unique key decides (insert ... on conflict do nothing, then read).
        """
        now = utc_now()
        values = {
            "id": campaign_id or token_hex(16),
            "template": template,
            "outputs": list(outputs),
            "source_key": source_key,
            "status": "pending",
            "idempotency_key": idempotency_key,
            "api_key_id": api_key_id,
            "source_format": dict(source_format) if source_format else None,
            "video_mode": video_mode,
            "created_at": now,
            "updated_at": now,
        }
        unless_known = self._insert(Campaign).on_conflict_do_nothing(index_elements=["idempotency_key"])
        insert = unless_known.values(values).returning(Campaign.id)
        with self._write() as connection:
            created = connection.execute(insert).scalar() is not None
            which = Campaign.id == values["id"] if created else Campaign.idempotency_key == idempotency_key
            row = connection.execute(select(*_CAMPAIGN).where(which)).one()
        return to_record(CampaignRecord, row), created

    def get(self, campaign_id: str) -> CampaignRecord | None:
        """The campaign, or None when unknown."""
        return self._one(CampaignRecord, _CAMPAIGN, Campaign.id == campaign_id)

    def status(self, campaign_id: str) -> str | None:
        """Just the campaign's status (workers check it before each row), None when unknown."""
        with self._read() as connection:
            status = connection.execute(select(Campaign.status).where(Campaign.id == campaign_id)).scalar()
        return None if status is None else str(status)

    def delete(self, campaign_id: str) -> bool:
        """Forget a campaign with its rows and rejects (CLI ``--overwrite``), in one transaction;
        True when it existed."""
        with self._write() as connection:
            connection.execute(delete(CampaignRow).where(CampaignRow.campaign_id == campaign_id))
            connection.execute(delete(Reject).where(Reject.campaign_id == campaign_id))
            return connection.execute(delete(Campaign).where(Campaign.id == campaign_id)).rowcount == 1

    def set_status(self, campaign_id: str, status: str, error: str | None = None) -> bool:
        """Move a campaign forward (terminal states stick); True when it changed."""
        if status not in _CAMPAIGN_FROM:
            raise ValueError(f"a campaign cannot be set to status {status!r}")
        now = utc_now()
        values: dict[str, Any] = {"status": status, "updated_at": now}
        if error is not None:
            values["error"] = error
        if status != "running":
            values["finished_at"] = now
        allowed = Campaign.status.in_(_CAMPAIGN_FROM[status])
        return self._update(Campaign, values, Campaign.id == campaign_id, allowed) == 1

    def reopen(self, campaign_id: str, *, from_done: bool = False) -> bool:
        """Resume: a cancelled or failed campaign goes back to running; a done one only with
        `from_done` (it had failed rows that were just requeued). True for the one caller that
        reopened it, so two concurrent resumes start one ingest."""
        values = {"status": "running", "error": None, "finished_at": None, "updated_at": utc_now()}
        allowed = Campaign.status.in_(
            ("cancelled", "failed", "done") if from_done else ("cancelled", "failed")
        )
        return self._update(Campaign, values, Campaign.id == campaign_id, allowed) == 1

    def set_source_format(self, campaign_id: str, source_format: Mapping[str, str]) -> bool:
        """Record how the campaign's data file is written (a CLI rerun with --delimiter or
        --encoding after the file was refused); True when the campaign exists."""
        values = {"source_format": dict(source_format) or None, "updated_at": utc_now()}
        return self._update(Campaign, values, Campaign.id == campaign_id) == 1

    def set_totals(self, campaign_id: str, total: int, rejected: int) -> bool:
        """Record how many rows the data file held and how many validation refused; True when
        the campaign exists."""
        values = {"total": total, "rejected": rejected, "updated_at": utc_now()}
        return self._update(Campaign, values, Campaign.id == campaign_id) == 1

    def counts(
        self, campaign_id: str, recent_s: float = 60.0, now: datetime | None = None
    ) -> CampaignCounts | None:
        """Row counts by state, and rows finished in the last `recent_s` seconds; None if unknown."""
        campaign = self.get(campaign_id)
        if campaign is None:
            return None
        cutoff = (now or utc_now()) - timedelta(seconds=recent_s)
        recent = func.sum(case((CampaignRow.updated_at >= cutoff, 1), else_=0))
        stamp = CampaignRow.updated_at
        query = (
            select(CampaignRow.status, func.count(), func.min(stamp), func.max(stamp), recent)
            .where(CampaignRow.campaign_id == campaign_id)
            .group_by(CampaignRow.status)
        )
        with self._read() as connection:
            groups = {row[0]: row[1:] for row in connection.execute(query)}
        finished = [groups[status] for status in TERMINAL_ROW if status in groups]
        return CampaignCounts(
            total=campaign.total,
            rejected=campaign.rejected,
            rows=sum(group[0] for group in groups.values()),
            done=groups["done"][0] if "done" in groups else 0,
            failed=groups["failed"][0] if "failed" in groups else 0,
            quarantined=groups["quarantined"][0] if "quarantined" in groups else 0,
            pending=sum(groups[status][0] for status in OPEN_ROW if status in groups),
            finished_recent=sum(int(group[3] or 0) for group in finished),
            first_finished_at=min((group[1] for group in finished), default=None),
            last_finished_at=max((group[2] for group in finished), default=None),
        )

    def count_by_status(self) -> dict[str, int]:
        """Campaigns by status over the whole store (for /metrics); statuses with none are absent."""
        return self._count_by(Campaign.status)
