"""Studio fixtures: a copy of an example template in a throwaway templates folder, served by the
real studio app in a real uvicorn server on a free loopback port (its watcher on), talked to over
HTTP. Narration is the fake TTS engine (a tone as long as the words), so renders are quick."""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from fixture_api import bound_socket, uvicorn_on

from renderer.outputs.kind import RenderOptions
from renderer.preview.app import create_preview_app
from renderer.preview.draft_storage import DraftStorage
from renderer.preview.studio import Studio
from renderer.settings import PROJECT_ROOT, Settings, load_settings
from renderer.storage import open_storage


@dataclass
class StudioServer:
    """A running studio: its base URL, the template folder it previews, the studio itself."""

    url: str
    root: Path
    studio: Studio
    client: httpx.Client

    def edit(self, relative: str, old: str, new: str) -> None:
        """Replace `old` (which must occur) with `new` in one of the template's files, as a save."""
        path = self.root / relative
        text = path.read_text(encoding="utf-8")
        assert old in text, f"{old!r} is not in {relative}"
        path.write_text(text.replace(old, new, 1), encoding="utf-8")

    def wait_generation(self, above: int, timeout_s: float = 15.0) -> int:
        """Wait until the studio reloaded past generation `above`; the new generation."""
        deadline = time.monotonic() + timeout_s
        while self.studio.generation <= above:
            if time.monotonic() > deadline:
                raise AssertionError(f"no reload after generation {above} within {timeout_s} s")
            time.sleep(0.02)
        return self.studio.generation


def studio_settings(folder: Path) -> Settings:
    """Settings whose templates live in `folder` (shared assets and triggers of the repo), fake
    narration, outputs and caches in ``folder/out``."""
    return load_settings(
        templates_dir=str(folder),
        storage_url=str(folder / "out"),
        tts_engine="fake",
        assets_dir=str(PROJECT_ROOT / "assets"),
        triggers_dir=str(PROJECT_ROOT / "triggers"),
    )


@contextmanager
def run_studio(folder: Path, template: str, *, watch: bool = True) -> Iterator[StudioServer]:
    """The studio of `folder/<template>` served until the block ends (server and watcher stopped)."""
    settings = studio_settings(folder)
    storage = open_storage(settings.storage_url, settings)
    studio = Studio(template, settings, DraftStorage(storage))
    studio.reload()
    app = create_preview_app(studio, RenderOptions(tts_engine="fake", draft=True), watch=watch)
    with uvicorn_on(app, bound_socket(), graceful_s=1) as port:
        url = f"http://127.0.0.1:{port}"
        client = httpx.Client(base_url=url, timeout=120, trust_env=False)
        try:
            yield StudioServer(url, folder / template, studio, client)
        finally:
            client.close()
            storage.close()


def copy_template(folder: Path, name: str) -> Path:
    """A copy of the example template `name` under `folder`; its path."""
    target = folder / name
    shutil.copytree(PROJECT_ROOT / "templates" / name, target)
    return target


@pytest.fixture(name="make_studio")
def make_studio_fixture(tmp_path: Path) -> Iterator[Callable[..., StudioServer]]:
    """Start a studio on a fresh copy of an example template (``make_studio("bill-summary")``)."""
    stack: list[contextmanager[StudioServer]] = []  # type: ignore[valid-type]

    def make(name: str = "bill-summary", *, watch: bool = True) -> StudioServer:
        copy_template(tmp_path, name)
        context = run_studio(tmp_path, name, watch=watch)
        stack.append(context)
        return context.__enter__()

    yield make
    for context in reversed(stack):
        context.__exit__(None, None, None)
