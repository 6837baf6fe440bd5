"""Shared fixtures: settings pointing at the repo's templates, loaded templates, rendered samples."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from fixture_db import job_store, job_store_url, postgres_cluster  # noqa: F401
from fixture_redis import redis_server, redis_url  # noqa: F401
from fixture_s3 import (  # noqa: F401
    aws_credentials,
    flaky_proxy,
    make_s3_storage,
    moto_endpoint,
    s3_admin,
    s3_bucket,
    s3_storage,
)

from renderer.outputs.load import load_template
from renderer.outputs.template import Template
from renderer.settings import PROJECT_ROOT, Settings, load_settings
from renderer.storage import LocalStorage

SAMPLE_LOCALES = ["de-DE", "en-US", "fa-IR", "id-ID", "it-IT", "tr-TR"]
ARTIFACTS = PROJECT_ROOT / "test-artifacts"
CHROMIUM = Path("/usr/bin/chromium")  # Debian's package; a browser is never downloaded
# Headless, offline flags: without the background-networking ones Chromium keeps dialling out.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@contextmanager
def launch_chromium(*extra_args: str) -> Iterator[Any]:
    """Debian's headless Chromium through Playwright (a browser is never downloaded), closed
    afterwards; a clear failure when the package is missing."""
    if not CHROMIUM.is_file():
        pytest.fail(
            f"{CHROMIUM} is missing: the browser tests need Debian's chromium package "
            "(apt-get install chromium); Playwright's own browsers are never downloaded.",
            pytrace=False,
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=[*CHROMIUM_ARGS, *extra_args]
        )
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture(scope="session")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """Settings with the repo's templates/assets and a throwaway output folder."""
    out = tmp_path_factory.mktemp("out")
    return load_settings(storage_url=str(out), workers=2, database_url=f"sqlite:///{out / 'jobs.db'}")


@pytest.fixture(scope="session")
def bill(settings: Settings) -> Template:
    """The sample bill-summary template, loaded once."""
    return load_template("bill-summary", settings)


@pytest.fixture(scope="session")
def rendered_samples(bill: Template, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Every bill-summary sample rendered (microsite + PDF) into one local storage root.

    Returns sample name -> the recipient's output folder (holding index.html and bill.pdf).
    """
    from renderer.outputs.render import render_recipient

    root = tmp_path_factory.mktemp("samples")
    storage = LocalStorage(root)
    folders = {}
    for name, raw in bill.samples.items():
        recipient = bill.validator.validate(raw)
        keys = render_recipient(bill, recipient, ["microsite", "pdf"], storage, "samples").to_record()
        folders[name] = storage.path(keys["microsite"]).parent
    return folders


@pytest.fixture(scope="session")
def artifacts() -> Path:
    """A folder (git-ignored) where tests leave screenshots and pages for people to look at."""
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS
