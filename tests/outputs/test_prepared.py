"""Each output kind prepares once per loaded template and process, and what it prepared goes
with the template (a long-lived video process loads a template per job: none may pile up)."""

from __future__ import annotations

import gc
import weakref
from concurrent.futures import ThreadPoolExecutor

from renderer.outputs.load import load_template
from renderer.outputs.registry import OUTPUT_KINDS
from renderer.outputs.render import prepared_output
from renderer.settings import Settings


def test_every_kind_prepares_once_even_when_threads_ask_at_once(settings: Settings) -> None:
    template = load_template("bill-summary", settings)
    for kind in OUTPUT_KINDS.values():
        with ThreadPoolExecutor(4) as pool:
            got = list(pool.map(lambda _: prepared_output(template, kind), range(8)))  # noqa: B023
        assert all(item is got[0] for item in got), kind.name


def test_prepared_objects_are_freed_with_their_template(settings: Settings) -> None:
    refs = []
    for _ in range(3):
        template = load_template("bill-summary", settings)
        for kind in OUTPUT_KINDS.values():
            prepared_output(template, kind)
        refs.append(weakref.ref(template))
        del template
    gc.collect()
    assert [ref() for ref in refs] == [None, None, None]
