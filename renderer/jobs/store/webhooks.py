"""Webhooks and their delivery outbox.

A delivery is ``pending`` until it is ``delivered`` or ``dead``. Each attempt is claimed first
(`WebhookStore.claim_delivery`: a lease, and the attempt counted), so of any number of senders
exactly one attempts it; a sender that dies mid-attempt has spent that attempt.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict
from datetime import datetime, timedelta
from secrets import token_hex
from typing import Any

from sqlalchemy import ColumnElement, delete, select

from renderer.jobs.schema import DeliveryRecord, RenderJobRecord, Webhook, WebhookDelivery, WebhookRecord
from renderer.jobs.store.base import ConcernStore, columns_of, to_record, utc_now

_HOOK = columns_of(WebhookRecord, Webhook)
_DELIVERY = columns_of(DeliveryRecord, WebhookDelivery)


def _pending(delivery_id: str) -> ColumnElement[bool]:
    return (WebhookDelivery.id == delivery_id) & (WebhookDelivery.status == "pending")


class WebhookStore(ConcernStore):
    """Every read and write of webhooks and deliveries; each method is one short transaction."""

    def add(
        self, url: str, secret: str, events: Iterable[str], api_key_id: str | None = None
    ) -> WebhookRecord:
        """Subscribe `url` to `events`; `secret` signs each delivery."""
        hook = WebhookRecord(token_hex(16), url, secret, tuple(events), utc_now(), api_key_id)
        with self._write() as connection:
            connection.execute(self._insert(Webhook).values(asdict(hook)))
        return hook

    def get(self, webhook_id: str) -> WebhookRecord | None:
        """One webhook by id, or None when unknown."""
        return self._one(WebhookRecord, _HOOK, Webhook.id == webhook_id)

    def subscribed_to(self, event: str) -> list[WebhookRecord]:
        """Webhooks subscribed to `event`, oldest first (webhooks are few: filtered here, not in SQL)."""
        with self._read() as connection:
            rows = connection.execute(select(*_HOOK).order_by(Webhook.created_at)).all()
        return [hook for hook in (to_record(WebhookRecord, row) for row in rows) if event in hook.events]

    def of_key(self, api_key_id: str) -> list[WebhookRecord]:
        """The webhooks an API key registered, oldest first."""
        query = (
            select(*_HOOK).where(Webhook.api_key_id == api_key_id).order_by(Webhook.created_at, Webhook.id)
        )
        with self._read() as connection:
            return [to_record(WebhookRecord, row) for row in connection.execute(query)]

    def render_hook_ids(self, job: RenderJobRecord) -> tuple[str, ...]:
        """The webhook registered with `job`'s own webhook_url: render jobs do not record its id yet,
        so the newest hook of the same key, URL and no broadcast events created up to the job."""
        if not job.webhook_url:
            return ()
        same_key = (
            Webhook.api_key_id.is_(None) if job.api_key_id is None else Webhook.api_key_id == job.api_key_id
        )
        query = (
            select(Webhook.id, Webhook.events)
            .where(Webhook.url == job.webhook_url, Webhook.created_at <= job.created_at, same_key)
            .order_by(Webhook.created_at.desc())
        )
        with self._read() as connection:
            for webhook_id, events in connection.execute(query):
                if not events:
                    return (str(webhook_id),)
        return ()

    def delete(self, webhook_id: str, api_key_id: str) -> bool:
        """Delete a webhook of `api_key_id` and its outbox in one transaction (nothing more is
        sent to it); False when the key has no webhook by that id."""
        owned = (Webhook.id == webhook_id) & (Webhook.api_key_id == api_key_id)
        with self._write() as connection:
            if connection.execute(select(Webhook.id).where(owned)).first() is None:
                return False
            connection.execute(delete(WebhookDelivery).where(WebhookDelivery.webhook_id == webhook_id))
            connection.execute(delete(Webhook).where(owned))
        return True

    def enqueue_delivery(
        self, webhook_id: str, event: str, payload: Mapping[str, Any], now: datetime | None = None
    ) -> DeliveryRecord:
        """Put one event for one webhook in the outbox, due now."""
        now = now or utc_now()
        delivery = DeliveryRecord(
            token_hex(16), webhook_id, event, dict(payload), "pending", 0, now, None, now
        )
        with self._write() as connection:
            connection.execute(self._insert(WebhookDelivery).values(asdict(delivery)))
        return delivery

    def due_deliveries(self, now: datetime | None = None, limit: int = 100) -> list[DeliveryRecord]:
        """Pending deliveries whose next attempt is due, oldest first, at most `limit`."""
        due = (WebhookDelivery.status == "pending") & (WebhookDelivery.next_attempt_at <= (now or utc_now()))
        order = (WebhookDelivery.next_attempt_at, WebhookDelivery.created_at)
        with self._read() as connection:
            rows = connection.execute(select(*_DELIVERY).where(due).order_by(*order).limit(limit)).all()
        return [to_record(DeliveryRecord, row) for row in rows]

    def claim_delivery(
        self, delivery_id: str, lease_s: float, now: datetime | None = None, max_attempts: int | None = None
    ) -> bool:
        """Take a pending, due delivery for an attempt, and count that attempt: one conditional
        UPDATE adds 1 to ``attempts`` and moves ``next_attempt_at`` to `now` + `lease_s`, so of any
        number of concurrent claimers (threads, API processes) exactly one gets True and the others
        see it not due. A claimer that dies before `finish_delivery` / `fail_delivery` has spent
        the attempt; the delivery is due again once the lease ends. With `max_attempts`, a
        delivery that has used them all is not claimed (`give_up_delivery` ends it)."""
        now = now or utc_now()
        claimable = _pending(delivery_id) & (WebhookDelivery.next_attempt_at <= now)
        if max_attempts is not None:
            claimable = claimable & (WebhookDelivery.attempts < max_attempts)
        lease = {
            "next_attempt_at": now + timedelta(seconds=lease_s),
            "attempts": WebhookDelivery.attempts + 1,
        }
        return self._update(WebhookDelivery, lease, claimable) == 1

    def finish_delivery(self, delivery_id: str) -> bool:
        """pending -> delivered (its attempt was counted when claimed); False when not pending."""
        return self._update(WebhookDelivery, {"status": "delivered"}, _pending(delivery_id)) == 1

    def fail_delivery(self, delivery_id: str, error: str, next_attempt_at: datetime, dead: bool) -> bool:
        """A claimed attempt failed: retry at `next_attempt_at`, or give up (``dead``); False when
        the delivery is not pending."""
        values = {
            "status": "dead" if dead else "pending",
            "last_error": error,
            "next_attempt_at": next_attempt_at,
        }
        return self._update(WebhookDelivery, values, _pending(delivery_id)) == 1

    def give_up_delivery(
        self, delivery_id: str, error: str, max_attempts: int, now: datetime | None = None
    ) -> bool:
        """pending -> dead for a due delivery that has used `max_attempts` (its last claimer died
        mid-attempt); False otherwise (it is leased, retried or finished)."""
        spent = (
            _pending(delivery_id)
            & (WebhookDelivery.next_attempt_at <= (now or utc_now()))
            & (WebhookDelivery.attempts >= max_attempts)
        )
        return self._update(WebhookDelivery, {"status": "dead", "last_error": error}, spent) == 1

    def count_deliveries_by_status(self) -> dict[str, int]:
        """Deliveries by status over the whole store (for /metrics: ``pending`` ones are waiting)."""
        return self._count_by(WebhookDelivery.status)
