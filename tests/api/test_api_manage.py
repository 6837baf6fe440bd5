"""Managing what a key registered: list and delete webhooks over real HTTP, each key its own."""

from __future__ import annotations

from collections.abc import Callable

from fixture_api import ApiServer, make_api_fixture  # noqa: F401
from sqlalchemy import func, select

from renderer.api.keys import create_key
from renderer.jobs.events import emit
from renderer.jobs.schema import WebhookDelivery
from renderer.jobs.store import JobStore, open_store


def _outbox(store: JobStore, webhook_id: str) -> int:
    """Deliveries of a webhook in the outbox, whatever their status."""
    query = select(func.count()).where(WebhookDelivery.webhook_id == webhook_id)
    with store.engine.connect() as connection:
        return int(connection.execute(query).scalar_one())


def test_webhooks_are_listed_and_deleted_by_their_own_key(make_api: Callable[..., ApiServer]) -> None:
    api = make_api(webhook_allow_private=True)
    mine, theirs = api.client(), api.client(key=create_key(api.settings, "other tenant"))
    first = mine.post("/webhooks", json={"url": "http://127.0.0.1:9/a", "events": ["render.failed"]}).json()
    second = mine.post("/webhooks", json={"url": "http://127.0.0.1:9/b"}).json()
    other = theirs.post("/webhooks", json={"url": "http://127.0.0.1:9/c"}).json()

    listed = mine.get("/webhooks")
    assert listed.status_code == 200
    assert [(h["id"], h["url"], h["events"]) for h in listed.json()] == [
        (first["id"], "http://127.0.0.1:9/a", ["render.failed"]),
        (second["id"], "http://127.0.0.1:9/b", second["events"]),
    ]
    assert all("secret" not in hook for hook in listed.json()) and first["secret"] not in listed.text
    assert [h["id"] for h in theirs.get("/webhooks").json()] == [other["id"]]

    refused = theirs.delete(f"/webhooks/{first['id']}")  # another key's: as if it did not exist
    assert refused.status_code == 404 and refused.json()["error"]["code"] == "webhook_not_found"
    assert mine.delete("/webhooks/" + "0" * 32).status_code == 404

    store = open_store(api.settings.database_url)
    try:
        record = store.keys.verify(api.key)
        assert record is not None
        assert emit(store, "render.failed", {"render_id": "r1"}, api_key_id=record.id) == 2
        assert _outbox(store, first["id"]) == 1
        gone = mine.delete(f"/webhooks/{first['id']}")
        assert gone.status_code == 204 and gone.content == b""
        assert _outbox(store, first["id"]) == 0 and _outbox(store, second["id"]) == 1
        assert [h.id for h in store.webhooks.subscribed_to("render.failed")] == [second["id"], other["id"]]
    finally:
        store.close()
    assert [h["id"] for h in mine.get("/webhooks").json()] == [second["id"]]
    assert mine.delete(f"/webhooks/{first['id']}").status_code == 404
    assert api.client(key=None).get("/webhooks").status_code == 401
