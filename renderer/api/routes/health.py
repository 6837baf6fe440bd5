"""``/healthz`` (the process answers), ``/readyz`` (its dependencies answer), ``/metrics``.

Readiness runs its checks at once, each within a few seconds: the job store (``SELECT 1``,
opening and migrating it on first use), the broker when one is configured (a connection), and
storage (``exists`` of a probe key). Any check down answers ``503`` naming which, by error type
only: URLs and credentials never appear.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import anyio
from fastapi import APIRouter
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST
from sqlalchemy import text

from renderer.api.deps import State
from renderer.api.state import ApiState
from renderer.errors import ServiceUnavailable

router = APIRouter(tags=["health"])
CHECK_TIMEOUT_S = 3.0
PROBE_KEY = "_health/probe"


def _database(state: ApiState) -> None:
    with state.store().engine.connect() as connection:
        connection.execute(text("SELECT 1"))


def _broker(state: ApiState) -> None:
    import kombu

    with kombu.Connection(state.settings.broker_url, connect_timeout=2) as connection:  # type: ignore[attr-defined,no-untyped-call]
        connection.ensure_connection(max_retries=1, interval_start=0, interval_step=0, timeout=2)


def _storage(state: ApiState) -> None:
    state.storage().exists(PROBE_KEY)


async def _check(probe: Callable[[], None]) -> dict[str, str]:
    try:
        with anyio.fail_after(CHECK_TIMEOUT_S):
            await anyio.to_thread.run_sync(probe, abandon_on_cancel=True)
    except TimeoutError:
        return {"status": "down", "error": f"no answer within {CHECK_TIMEOUT_S:g} s"}
    except ServiceUnavailable as exc:
        return {"status": "down", "error": str(exc)}
    except Exception as exc:  # the type says enough; messages may hold hosts or credentials
        return {"status": "down", "error": type(exc).__name__}
    return {"status": "ok"}


@router.get("/healthz")
def healthz() -> dict[str, str]:
    """The process is up."""
    return {"status": "ok"}


@router.get("/readyz", responses={503: {"description": "A dependency is down"}})
async def readyz(state: State) -> JSONResponse:
    """Whether the database, the broker (when configured) and storage answer."""
    probes: dict[str, Callable[[], None]] = {
        "database": lambda: _database(state),
        "storage": lambda: _storage(state),
    }
    if state.settings.broker_url:
        probes["broker"] = lambda: _broker(state)
    results = await asyncio.gather(*(_check(probe) for probe in probes.values()))
    checks: dict[str, Any] = dict(zip(probes, results, strict=True))
    ready = all(check["status"] == "ok" for check in results)
    body = {"status": "ready" if ready else "not_ready", "checks": checks}
    return JSONResponse(body, status_code=200 if ready else 503, headers={"Cache-Control": "no-store"})


@router.get("/metrics", response_class=Response)
def metrics(state: State) -> Response:
    """Prometheus text exposition: requests, renders, campaign rows by status."""
    return Response(state.metrics.exposition(), media_type=CONTENT_TYPE_LATEST)
