"""API answers to render faults: the right status and code, and nothing of the server's layout."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from fixture_api import ApiServer, make_api_fixture  # noqa: F401

from renderer.errors import RenderTimeout
from renderer.outputs.document import time_limit


def _error(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    error: dict[str, Any] = response.json()["error"]
    assert error["code"] == code, error
    return error


def _sample(api: ApiServer, name: str = "en-US") -> dict[str, Any]:
    sample: dict[str, Any] = api.client().get("/templates/bill-summary", params={"sample": name}).json()
    return sample["sample"]


@pytest.mark.pdf
def test_a_pdf_past_its_time_limit_answers_504(make_api: Callable[..., ApiServer]) -> None:
    api = make_api(pdf_timeout_s=0.001)
    body = {"recipient": _sample(api), "outputs": ["microsite", "pdf"]}
    answer = api.client().post("/templates/bill-summary/renders", json=body)
    error = _error(answer, 504, "render_timeout")
    assert error["message"].startswith("pdf output: PDF of template 'bill-summary' took longer than")


def test_a_time_limit_holds_when_the_block_swallows_the_timeout() -> None:
    swallowed = 0
    started = time.monotonic()
    with pytest.raises(RenderTimeout, match=r"slow thing took longer than 0\.05 s"):  # noqa: SIM117
        with time_limit(0.05, "slow thing"):
            while time.monotonic() - started < 5:
                try:
                    time.sleep(0.01)
                except Exception:  # as WeasyPrint does around an image it cannot load
                    if swallowed:
                        raise
                    swallowed += 1
    assert swallowed == 1 and time.monotonic() - started < 1


def test_a_time_limit_raises_after_a_block_that_swallowed_every_timeout() -> None:
    with pytest.raises(RenderTimeout), time_limit(0.02, "quiet thing"):
        for _ in range(20):
            with contextlib.suppress(Exception):
                time.sleep(0.01)
