"""API keys without the CLI: create the first one from Python (``tailor api-key create`` wraps it)."""

from __future__ import annotations

from renderer.jobs.store import open_store
from renderer.settings import Settings


def create_key(settings: Settings, name: str) -> str:
    """Create an API key named `name` in the job store; returns its plaintext, shown only now
    (the store keeps a SHA-256 hash)."""
    store = open_store(settings.database_url)
    try:
        plaintext, _record = store.keys.create(name)
    finally:
        store.close()
    return plaintext


def revoke_key(settings: Settings, key_id: str) -> bool:
    """Revoke a key by id for good; True when it was active."""
    store = open_store(settings.database_url)
    try:
        return store.keys.revoke(key_id)
    finally:
        store.close()
