"""The real-Redis fixture: it answers, stops (connections refused) and comes back on the same port."""

from __future__ import annotations

import socket

import pytest
import redis
from fixture_redis import RedisServer, connect


def test_redis_stops_and_starts_again_on_the_same_port(redis_server: RedisServer, redis_url: str) -> None:
    assert redis_url == redis_server.url == f"redis://127.0.0.1:{redis_server.port}/0"
    with connect(redis_url) as client:
        assert client.ping()
        client.set("left-over", "1")  # the next test checks that redis_url empties the database

    redis_server.stop()
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", redis_server.port), timeout=1).close()
    with connect(redis_url) as client, pytest.raises(redis.ConnectionError):
        client.ping()

    redis_server.start()
    with connect(redis_url) as client:
        assert client.ping()


def test_redis_url_starts_from_an_empty_database(redis_url: str) -> None:
    with connect(redis_url) as client:
        assert client.dbsize() == 0
