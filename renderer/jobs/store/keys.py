"""API keys: only a SHA-256 of each key is stored; the plaintext is shown once, at creation."""

from __future__ import annotations

import hmac
from secrets import token_hex, token_urlsafe

from sqlalchemy import select

from renderer.jobs.schema import ApiKey, ApiKeyRecord
from renderer.jobs.store.base import ConcernStore, columns_of, sha256_hex, to_record, utc_now

_KEY = columns_of(ApiKeyRecord, ApiKey)


class ApiKeyStore(ConcernStore):
    """Every read and write of API keys; each method is one short transaction."""

    def create(self, name: str) -> tuple[str, ApiKeyRecord]:
        """A new key: returns its plaintext (shown once, never stored) and its record."""
        plaintext = "tk_" + token_urlsafe(32)
        record = ApiKeyRecord(token_hex(16), name, utc_now(), None)
        values = {
            "id": record.id,
            "name": name,
            "key_hash": sha256_hex(plaintext),
            "created_at": record.created_at,
        }
        with self._write() as connection:
            connection.execute(self._insert(ApiKey).values(values))
        return plaintext, record

    def verify(self, plaintext: str) -> ApiKeyRecord | None:
        """The key's record when the plaintext matches a key that is not revoked, else None
        (the stored hash is compared in constant time)."""
        digest = sha256_hex(plaintext)
        query = select(ApiKey.key_hash, *_KEY).where(ApiKey.key_hash == digest, ApiKey.revoked_at.is_(None))
        with self._read() as connection:
            row = connection.execute(query).first()
        if row is None or not hmac.compare_digest(row[0], digest):
            return None
        return ApiKeyRecord(*row[1:])

    def all(self) -> list[ApiKeyRecord]:
        """Every API key, revoked ones included, oldest first (never a secret or its hash)."""
        with self._read() as connection:
            rows = connection.execute(select(*_KEY).order_by(ApiKey.created_at, ApiKey.id)).all()
        return [to_record(ApiKeyRecord, row) for row in rows]

    def revoke(self, key_id: str) -> bool:
        """Revoke a key for good; True when it was active."""
        active = (ApiKey.id == key_id) & ApiKey.revoked_at.is_(None)
        return self._update(ApiKey, {"revoked_at": utc_now()}, active) == 1
