"""The studio's state: the template as last loaded without a problem, the problems of the files
as they are now, a generation counter, and the change events subscribers receive.

`Studio.reload` is the one place a template is (re)loaded: a broken save keeps the last good
template (and so the last good render in the page) and lists the problem with its file and line.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from renderer.errors import TailorError, TemplateError
from renderer.outputs.load import load_template
from renderer.outputs.registry import OUTPUT_KINDS
from renderer.outputs.render import offered_outputs
from renderer.outputs.template import Template
from renderer.preview.draft_storage import DraftStorage
from renderer.preview.problems import problem, shown_file
from renderer.settings import Settings

QUEUE_SIZE = 16


@dataclass(frozen=True)
class Change:
    """One reload: its generation, the files saved (relative to their folder), the outputs they
    affect, and the problems the files have now (empty: the reload succeeded)."""

    generation: int
    files: tuple[str, ...]
    affects: tuple[str, ...]
    problems: tuple[dict[str, Any], ...] = ()

    def to_json(self) -> dict[str, Any]:
        """The event's data as the page reads it."""
        return {
            "generation": self.generation,
            "files": list(self.files),
            "affects": list(self.affects),
            "problems": list(self.problems),
            "ok": not self.problems,
        }


def affected_outputs(template: Template, files: Iterable[Path]) -> tuple[str, ...]:
    """The outputs a save of `files` can change: a file of an output's entries or linted files
    (its HTML, its CSS) affects that output; another HTML/CSS/JS file of the template (an include, a partial)
    the page outputs; anything else (the manifest, samples, texts, triggers, assets) every output."""
    offered = offered_outputs(template)
    page_outputs = [name for name in offered if not OUTPUT_KINDS[name].background]
    owners: dict[Path, set[str]] = {}
    for name in offered:
        section = getattr(template.manifest.outputs, name)
        kind = OUTPUT_KINDS[name]
        for entry in [*kind.entries(section), *(file for file, _ in kind.lint_files(section))]:
            owners.setdefault((template.root / entry).resolve(), set()).add(name)
    hit: set[str] = set()
    for path in files:
        resolved = path.resolve()
        if resolved in owners:
            hit |= owners[resolved]
        elif resolved.is_relative_to(template.root) and resolved.suffix in {".html", ".css", ".js"}:
            hit |= set(page_outputs)
        else:
            return tuple(offered)
    return tuple(name for name in offered if name in hit)


@dataclass
class Studio:
    """One template being previewed: `template` is the last good load (None until one loads)."""

    ref: str
    settings: Settings
    storage: DraftStorage  # drafts write here: personal content stays in memory
    template: Template | None = None
    problems: tuple[dict[str, Any], ...] = ()
    generation: int = 0
    _subscribers: set[asyncio.Queue[Change]] = field(default_factory=set)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _loop: asyncio.AbstractEventLoop | None = None
    _unrendered: tuple[Path, ...] = ()  # files saved while the template did not load

    def reload(self, files: Iterable[Path] = ()) -> Change:
        """Load the template again; on success it replaces the last good one. Either way the
        generation moves on and subscribers get the change (thread-safe). A successful reload's
        change names every file saved since the last good load (saves made while the template
        was broken included) and the outputs they affect; a reload of no files or the first good
        load, every output."""
        asked = tuple(files)
        loaded, problems = self._load()
        with self._lock:
            saved = tuple(dict.fromkeys((*self._unrendered, *asked)))
            self._unrendered = () if loaded is not None else saved
            everything = not asked or self.template is None
            if loaded is not None:
                self.template = loaded
            self.problems = problems
            self.generation += 1
            base = self.template
            affects = affected_outputs(base, saved) if base is not None and saved else ()
            if base is not None and everything:
                affects = tuple(offered_outputs(base))
            change = Change(self.generation, tuple(self._relative(p) for p in saved), affects, problems)
        self._publish(change)
        return change

    def _load(self) -> tuple[Template | None, tuple[dict[str, Any], ...]]:
        """The template as its files are now, or its problem: a file that cannot be read (not
        UTF-8, gone between an editor's write and rename) is one too, never the end of reloads."""
        try:
            return load_template(self.ref, self.settings), ()
        except TailorError as exc:
            return None, (problem(None, exc, self._roots()),)
        except UnicodeDecodeError:
            unreadable = TemplateError("a file of the template is not UTF-8 text")
        except OSError as exc:
            unreadable = TemplateError(f"cannot read ({exc.strerror})", file=exc.filename)
        return None, (problem(None, unreadable, self._roots()),)

    def _roots(self) -> dict[str, Path]:
        """The watched folders by the label files in them are shown with (the template's: none)."""
        return {
            "": self._template_root(),
            "assets": self.settings.assets_dir,
            "triggers": self.settings.triggers_dir,
        }

    def _template_root(self) -> Path:
        """The template's folder: the loaded one's, else the one its name or path points at."""
        if self.template is not None:
            return self.template.root
        candidate = Path(self.ref)
        return candidate if candidate.is_dir() else self.settings.templates_dir / self.ref

    def _relative(self, path: Path) -> str:
        return shown_file(str(path), self._roots()) or path.name

    def watched(self) -> list[Path]:
        """The folders whose files a preview reads: the template's, the shared assets, the
        shared trigger library (those that exist)."""
        roots = [self._template_root(), self.settings.assets_dir, self.settings.triggers_dir]
        return list(dict.fromkeys(p.resolve() for p in roots if p.is_dir()))

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        """Publish changes on `loop` (the server's), from whichever thread reloads."""
        with self._lock:
            self._loop = loop

    def subscribe(self, loop: asyncio.AbstractEventLoop) -> asyncio.Queue[Change]:
        """A queue receiving every later change (the oldest dropped when a slow page lags)."""
        queue: asyncio.Queue[Change] = asyncio.Queue(QUEUE_SIZE)
        with self._lock:
            self._loop = loop
            self._subscribers.add(queue)
        return queue

    def unsubscribe(self, queue: asyncio.Queue[Change]) -> None:
        """Stop sending changes to `queue`."""
        with self._lock:
            self._subscribers.discard(queue)

    def _publish(self, change: Change) -> None:
        with self._lock:
            loop, queues = self._loop, list(self._subscribers)
        if loop is None or loop.is_closed():
            return
        for queue in queues:
            loop.call_soon_threadsafe(_put_latest, queue, change)


def _put_latest(queue: asyncio.Queue[Change], change: Change) -> None:
    if queue.full():
        queue.get_nowait()
    queue.put_nowait(change)
