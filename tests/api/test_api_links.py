"""Page links of API renders: one per render while it is valid, however often it is polled."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from fixture_api import ApiServer, api_fixture  # noqa: F401
from sqlalchemy import func, select

from renderer.api.links import render_page_token
from renderer.jobs.schema import RecipientLink
from renderer.jobs.store import open_store
from renderer.settings import load_settings


def _links_of(api: ApiServer, recipient_id: str) -> int:
    store = open_store(api.settings.database_url)
    try:
        query = select(func.count()).where(RecipientLink.recipient_id == recipient_id)
        with store.engine.connect() as connection:
            return int(connection.execute(query).scalar_one())
    finally:
        store.close()


def _sample(api: ApiServer, recipient_id: str) -> dict[str, Any]:
    sample: dict[str, Any] = api.client().get("/templates/bill-summary", params={"sample": "en-US"}).json()
    return {**sample["sample"], "customer_id": recipient_id}


def test_polling_a_render_hands_out_its_one_page_link(api: ApiServer) -> None:
    client = api.client()
    body = {"recipient": _sample(api, "C-POLL-1"), "outputs": ["microsite"]}
    made = client.post("/templates/bill-summary/renders", json=body)
    assert made.status_code == 200, made.text
    first = made.json()
    polls = [client.get(f"/renders/{first['id']}").json() for _ in range(25)]
    assert {poll["page_url"] for poll in polls} == {first["page_url"]}
    assert {poll["links"]["microsite"] for poll in polls} == {first["links"]["microsite"]}
    assert {poll["page_expires_at"] for poll in polls} == {first["page_expires_at"]}
    assert _links_of(api, "C-POLL-1") == 1
    page = client.get(first["page_url"], follow_redirects=True)
    assert page.status_code == 200 and "<html" in page.text


def test_another_key_sees_no_link_and_mints_none(api: ApiServer) -> None:
    from renderer.api.keys import create_key

    body = {"recipient": _sample(api, "C-POLL-2"), "outputs": ["microsite"]}
    made = api.client().post("/templates/bill-summary/renders", json=body).json()
    other = api.client(key=create_key(api.settings, "other"))
    assert other.get(f"/renders/{made['id']}").status_code == 404
    assert _links_of(api, "C-POLL-2") == 1


def test_a_render_link_is_renewed_when_a_tenth_of_its_life_is_left(tmp_path: Path) -> None:
    settings = load_settings(database_url=f"sqlite:///{tmp_path / 'jobs.db'}", recipient_link_ttl_s=1000)
    store = open_store(settings.database_url)
    try:
        created = datetime(2026, 1, 1, tzinfo=UTC)
        recipient, render = ("bill-summary", "api-k", "C-1"), ("tk_secret", "job-1", created)

        def at(seconds: float) -> Any:
            return render_page_token(store, settings, recipient, render, created + timedelta(seconds=seconds))

        first = at(0)
        assert first.expires_at == created + timedelta(seconds=1000)
        assert at(450) == first and at(899) == first  # 90% of the TTL: the same token
        renewed = at(900)
        assert renewed.token != first.token and renewed.expires_at == created + timedelta(seconds=1900)
        assert at(1500) == renewed
        assert store.links.resolve(renewed.token, now=created + timedelta(seconds=1500)) is not None
        other_key = render_page_token(store, settings, recipient, ("tk_other", "job-1", created), created)
        other_job = render_page_token(store, settings, recipient, ("tk_secret", "job-2", created), created)
        assert len({first.token, other_key.token, other_job.token}) == 3
        assert len(first.token) == 32  # 192 bits, like a random token
    finally:
        store.close()
