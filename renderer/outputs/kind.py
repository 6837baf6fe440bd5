"""What every output kind implements, and the typed values that pass between them and their callers.

An `OutputKind` owns one kind of output end to end (the shape of MoviePy 2's `Effect`: one class,
one `render`): the model of its ``outputs.<name>`` manifest section, the entry files it reads, its
load-time checks (`check`, cheap: no heavy imports), `prepare` once per template and process (a
typed prepared object: compiled entries, stylesheets, a TTS engine), and `render` per recipient
(pure but for the shared caches `RenderContext.storage` holds), returning a typed `Rendered`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar, Generic, TypeVar

from renderer.outputs.template import Template
from renderer.settings import Settings
from renderer.storage.base import Storage
from renderer.template.load import JinjaSources, Loc
from renderer.template.models import Strict
from renderer.template.resolve import ResolvedSpec

LineOf = Callable[[Loc], int | None]  # a manifest location -> its line in template.yaml
SectionT = TypeVar("SectionT", bound=Strict)
PreparedT = TypeVar("PreparedT")


@dataclass(frozen=True)
class RenderedFile:
    """One rendered output file for one recipient."""

    name: str
    data: bytes
    content_type: str


@dataclass(frozen=True)
class Rendered:
    """One output for one recipient: its files (the main one first) and, by entry name
    (``segment:<scene id>``), the storage keys of shared cache objects holding its personal
    content (erasing the recipient deletes those too)."""

    files: tuple[RenderedFile, ...]
    cache_objects: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class RenderOptions:
    """Per-render limits and engines, taken from `Settings` once per process."""

    pdf_timeout_s: float = 60.0
    video_timeout_s: float = 300.0
    tts_engine: str = "espeak"
    video_preset: str = "veryfast"
    draft: bool = False
    encoder_threads: int = 0
    # the video is rendered when played: page tracks, poster and plan now, segments on request
    video_on_play: bool = False

    @classmethod
    def from_settings(
        cls, settings: Settings, *, draft: bool = False, encoder_threads: int = 0, video_on_play: bool = False
    ) -> RenderOptions:
        """The options a worker or CLI process renders with."""
        return cls(
            settings.pdf_timeout_s,
            settings.video_timeout_s,
            settings.tts_engine,
            settings.video_preset,
            draft,
            encoder_threads,
            video_on_play,
        )


@dataclass(frozen=True)
class RenderContext:
    """What a render may use besides the template and the recipient: the storage holding shared
    caches (video segments, narrations), the options, the links to the recipient's other outputs
    rendered with this one (link name -> relative href, None when not rendered), and how the page
    links a static file stored once per template (`static_href(hashed name)`)."""

    storage: Storage
    options: RenderOptions = RenderOptions()
    links: Mapping[str, str | None] = field(default_factory=dict)
    static_href: Callable[[str], str] = str


class OutputKind(ABC, Generic[SectionT, PreparedT]):
    """One kind of output. Subclasses set `name` (the ``outputs.<name>`` key) and `section` (its
    manifest model) and implement `prepare` and `render`."""

    name: ClassVar[str]
    section: ClassVar[type[Strict]]
    # renders too slowly to answer a request: the API queues it unless asked, previews draft it
    background: ClassVar[bool] = False
    # the links this output offers a page beside it (``pdf``: the page reads ``pdf_href``)
    link_names: ClassVar[tuple[str, ...]] = ()
    # whether its HTML entries read the ``<link>_href`` of every output (the page does)
    shows_links: ClassVar[bool] = False
    # the most recipients one campaign chunk of this output holds (None: the chunk_size setting):
    # a slow output's chunks are short, so a campaign's last ones end together on every worker
    chunk_rows: ClassVar[int | None] = None

    def is_private(self, file_name: str) -> bool:
        """Whether a companion file is internal (stored for the output's own routes, never
        linked, listed or served as a page file); none are by default."""
        return False

    def entries(self, section: SectionT) -> list[str]:
        """The template's files this output reads (an HTML entry, a stylesheet): each must exist
        inside the template folder; the HTML ones (not ``.css``) are compiled, their names and
        their metadata checked when the template loads."""
        return []

    def entry_names(self, section: SectionT) -> frozenset[str]:
        """Context names this output's HTML entries may read besides the recipient's."""
        return frozenset()

    def lint_files(self, section: SectionT) -> list[tuple[str, bool]]:
        """(file, strict) of every HTML/CSS file whose URLs are linted; `strict` adds the PDF's
        CSS range checks (WeasyPrint cannot lay out ``font-size: 1e9px``)."""
        return []

    def anchors(self, section: SectionT) -> list[str]:
        """The named moments of this output that ``interactions:`` may refer to (scene ids)."""
        return []

    def jinja(self, section: SectionT) -> JinjaSources:
        """The manifest Jinja this output's section holds (compiled and name-checked at load)."""
        return JinjaSources()

    def links(self, template: Template, section: SectionT, options: RenderOptions) -> Mapping[str, str]:
        """`link_names` -> the file each names, beside the page (``pdf`` -> ``bill.pdf``); a
        name left out is a file this template's output does not have (or not with `options`)."""
        return {}

    def html_entries(self, section: SectionT) -> list[str]:
        """The HTML entries among `entries`: their names and metadata are checked at load."""
        return [entry for entry in self.entries(section) if not entry.endswith(".css")]

    def check_files(self, root: Path, assets_dir: Path, section: SectionT, line_of: LineOf) -> None:
        """Load-time checks of other files the section lists, right after the entries (before any
        Jinja compiles); `line_of` gives a manifest location's line. AssetError naming it."""

    def check(self, template: Template, section: SectionT) -> None:
        """Load-time checks that need the compiled template, run after every name check
        (TemplateError/AssetError naming the file and line); cheap, importing no engine."""

    @abstractmethod
    def prepare(self, template: Template, section: SectionT) -> PreparedT:
        """What every recipient's render reuses, built once per template and process."""

    @abstractmethod
    def render(self, prepared: PreparedT, spec: ResolvedSpec, ctx: RenderContext) -> Rendered:
        """One recipient's output. Raises whatever fails; `renderer.outputs.render` names the
        output and the template's file and line."""
