"""Annotated dependencies shared by the routers: the app state, the job store, storage, API keys.

``Authorization: Bearer <key>`` is checked against the store's hashed keys on every request of a
protected router; a missing or unknown key answers ``401`` with ``WWW-Authenticate: Bearer``.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from renderer.api.errors import ApiError
from renderer.api.state import ApiState
from renderer.jobs.schema import ApiKeyRecord
from renderer.jobs.store import JobStore
from renderer.settings import Settings
from renderer.storage.base import Storage

_bearer = HTTPBearer(auto_error=False, description="An API key: `tailor api-key create NAME`")
_MAX_KEY_LENGTH = 200


def get_state(request: Request) -> ApiState:
    """The state of the app serving this request."""
    state: ApiState = request.app.state.tailor
    return state


State = Annotated[ApiState, Depends(get_state)]


def get_settings(state: State) -> Settings:
    """The app's settings."""
    return state.settings


def get_store(state: State) -> JobStore:
    """The job store; ServiceUnavailable (503) while it cannot be reached."""
    return state.store()


def get_storage(state: State) -> Storage:
    """The output storage."""
    return state.storage()


SettingsDep = Annotated[Settings, Depends(get_settings)]
Store = Annotated[JobStore, Depends(get_store)]
StorageDep = Annotated[Storage, Depends(get_storage)]


def require_api_key(
    store: Store,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> ApiKeyRecord:
    """The caller's API key record; ApiError 401 when the key is missing, unknown or revoked."""
    challenge = {"WWW-Authenticate": "Bearer"}
    if credentials is None or not credentials.credentials:
        raise ApiError(
            401, "unauthorized", "an API key is required (Authorization: Bearer <key>)", headers=challenge
        )
    plaintext = credentials.credentials
    record = store.keys.verify(plaintext) if len(plaintext) <= _MAX_KEY_LENGTH else None
    if record is None:
        raise ApiError(401, "unauthorized", "the API key is not valid", headers=challenge)
    return record


ApiKey = Annotated[ApiKeyRecord, Depends(require_api_key)]


def api_key_secret(
    key: ApiKey, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> str:
    """The caller's API key in plaintext, once `require_api_key` accepted it (it keys the page
    tokens of the caller's renders; never stored, never logged)."""
    assert credentials is not None  # require_api_key answered 401 otherwise
    return credentials.credentials


ApiKeySecret = Annotated[str, Depends(api_key_secret)]


def owned(owner: str | None, key: ApiKeyRecord) -> bool:
    """Whether `key` may see a resource created by `owner`. A campaign or job created outside the
    API (CLI, `owner` None) belongs to no key: no key can read, cancel or mint links for it."""
    return owner is not None and owner == key.id
