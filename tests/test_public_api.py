"""`renderer`'s public API: a sorted `__all__` whose every name resolves to the real object,
an import that pulls in no heavy engine, and a script written against it alone."""

from __future__ import annotations

import json
import subprocess
import sys

import renderer
from renderer import errors
from renderer.settings import PROJECT_ROOT


def test_all_is_sorted_and_every_name_is_the_object_it_names() -> None:
    assert renderer.__all__ == sorted(renderer.__all__) == sorted(renderer._EXPORTS)
    for name in renderer.__all__:
        value = getattr(renderer, name)
        assert getattr(value, "__name__", name) == name, name
        assert name in dir(renderer)


def test_the_error_tree_is_public() -> None:
    exported = {name for name in renderer.__all__ if name.endswith(("Error", "Timeout", "Unavailable"))}
    defined = {
        name
        for name, value in vars(errors).items()
        if isinstance(value, type) and issubclass(value, Exception)
    }
    assert exported == defined
    assert all(issubclass(getattr(renderer, name), renderer.TailorError) for name in exported)


def test_importing_renderer_loads_no_engine() -> None:
    probe = "import json, sys, renderer; print(json.dumps(sorted(sys.modules)))"
    loaded = set(
        json.loads(subprocess.run([sys.executable, "-c", probe], capture_output=True, check=True).stdout)
    )
    assert not loaded & {"fastapi", "weasyprint", "sqlalchemy", "celery", "boto3", "PIL"}


def test_a_script_written_against_the_public_api_renders_a_sample() -> None:
    script = """
import renderer
settings = renderer.load_settings()
bill = renderer.load_template("bill-summary", settings)
storage = renderer.MemoryStorage()
recipient = bill.validator.validate(bill.samples["de-DE"])
stored = renderer.render_recipient(bill, recipient, ["microsite", "pdf"], storage, "script")
print(storage.get(stored.outputs["pdf"].main)[:5].decode(), sorted(stored.file_keys()))
try:
    renderer.load_template("no-such-template", settings)
except renderer.TemplateError as exc:
    print(type(exc).__name__)
"""
    done = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        check=True,
        cwd=PROJECT_ROOT,
        timeout=120,
    )
    assert done.stdout.split() == ["%PDF-", "['microsite',", "'pdf']", "TemplateError"]
