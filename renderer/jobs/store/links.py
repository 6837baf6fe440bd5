"""Recipient page links: unguessable tokens naming one recipient's page, of which only a
SHA-256 is stored, each with an expiry."""

from __future__ import annotations

from datetime import datetime, timedelta
from secrets import token_urlsafe

from sqlalchemy import delete, select

from renderer.jobs.schema import RecipientLink, RecipientLinkRecord
from renderer.jobs.store.base import BATCH_SIZE, ConcernStore, columns_of, sha256_hex, utc_now

_LINK = columns_of(RecipientLinkRecord, RecipientLink)


class LinkStore(ConcernStore):
    """Every read and write of recipient page links; each method is one short transaction
    (`purge_expired`: one per batch)."""

    def create(
        self, template: str, campaign: str, recipient_id: str, ttl_s: float, now: datetime | None = None
    ) -> str:
        """A new 192-bit page token for one recipient, expiring `ttl_s` from `now`; only its
        SHA-256 is stored."""
        token = token_urlsafe(24)
        self.keep(token, (template, campaign, recipient_id), ttl_s, now)
        return token

    def keep(
        self, token: str, recipient: tuple[str, str, str], ttl_s: float, now: datetime | None = None
    ) -> datetime:
        """Store the page token `token` (chosen by the caller) for (template, campaign, recipient
        id), expiring `ttl_s` from `now`, unless it is stored already: returns when the stored
        token expires (a token kept earlier keeps its expiry). Only its SHA-256 is stored; callers
        that choose tokens make them unguessable (192 bits or more)."""
        template, campaign, recipient_id = recipient
        now = now or utc_now()
        digest = sha256_hex(token)
        values = {
            "token_hash": digest,
            "template": template,
            "campaign": campaign,
            "recipient_id": recipient_id,
            "expires_at": now + timedelta(seconds=ttl_s),
            "created_at": now,
        }
        insert = self._insert(RecipientLink).values(values)
        with self._write() as connection:
            connection.execute(insert.on_conflict_do_nothing(index_elements=[RecipientLink.token_hash]))
            found = select(RecipientLink.expires_at).where(RecipientLink.token_hash == digest)
            expires: datetime = connection.execute(found).scalar_one()
        return expires

    def resolve(self, token: str, now: datetime | None = None) -> RecipientLinkRecord | None:
        """What the token points at, or None when it is unknown or expired."""
        live = (RecipientLink.token_hash == sha256_hex(token)) & (
            RecipientLink.expires_at > (now or utc_now())
        )
        return self._one(RecipientLinkRecord, _LINK, live)

    def exists(self, token: str) -> bool:
        """Whether a page token was ever issued, expired or not (`resolve` says None for both,
        and the API answers 410 rather than 404 for an expired link)."""
        with self._read() as connection:
            found = connection.execute(
                select(RecipientLink.expires_at).where(RecipientLink.token_hash == sha256_hex(token))
            )
            return found.first() is not None

    def purge_expired(
        self,
        grace_s: float = 86_400,
        now: datetime | None = None,
        batch_size: int = BATCH_SIZE,
        max_batches: int = 10,
    ) -> int:
        """Delete page links that expired more than `grace_s` ago (until then an expired token is
        still told apart from an unknown one), `batch_size` per transaction and at most
        `max_batches` transactions, so no call holds the write lock long; returns how many went.
        Call it again while it returns ``batch_size * max_batches``."""
        cutoff = (now or utc_now()) - timedelta(seconds=grace_s)
        expired = select(RecipientLink.token_hash).where(RecipientLink.expires_at < cutoff)
        deleted = 0
        for _ in range(max_batches):
            batch = expired.order_by(RecipientLink.expires_at).limit(batch_size)
            with self._write() as connection:
                hashes = list(connection.execute(batch).scalars())
                if hashes:  # another process purging at once may have taken some: count ours
                    gone = delete(RecipientLink).where(RecipientLink.token_hash.in_(hashes))
                    deleted += connection.execute(gone).rowcount
            if len(hashes) < batch_size:
                break
        return deleted
