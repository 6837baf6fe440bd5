"""`store.keys` on SQLite and PostgreSQL: only a hash of each API key is stored."""

from __future__ import annotations

import hashlib

from sqlalchemy import select, text

from renderer.jobs.schema import ApiKey
from renderer.jobs.store import JobStore


def test_api_keys_store_only_a_hash(job_store: JobStore) -> None:
    plaintext, record = job_store.keys.create("ci")
    assert plaintext.startswith("tk_") and len(plaintext) > 40
    with job_store.engine.connect() as connection:
        raw = connection.execute(text("SELECT * FROM api_keys")).all()
        stored_hash = connection.execute(select(ApiKey.key_hash)).scalar_one()
    assert len(raw) == 1 and all(plaintext not in str(value) for value in raw[0])
    assert stored_hash == hashlib.sha256(plaintext.encode()).hexdigest()
    assert job_store.keys.verify(plaintext) == record
    assert job_store.keys.verify(plaintext + "x") is None
    assert job_store.keys.revoke(record.id)
    assert not job_store.keys.revoke(record.id)
    assert job_store.keys.verify(plaintext) is None
