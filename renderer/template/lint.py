"""Static checks of a template's entry files, run by `load_template` (so `tailor validate`, a
campaign and the API all refuse a faulty template before rendering anyone).

Each check takes source text and returns `Finding`s (line, message); `lint_entries` reads the
files and raises the first finding as a `TemplateError` naming the file and line.

* CSS lengths out of range in the PDF's stylesheet and ``<style>`` / ``style=""`` of its entry:
  WeasyPrint (Pango) cannot lay out ``font-size: 1e9px`` and fails with a ZeroDivisionError.
* `check_video_assets`: the video's music, background media and image layers that data does
  not choose (no Jinja) exist, named by their ``template.yaml`` line.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import tinycss2

from renderer.errors import AssetError, TemplateError
from renderer.template.models import Manifest
from renderer.template.paths import resolve_asset

MAX_CSS_PX = 1_000_000  # Pango sizes are 32-bit integers of 1/1024 px: about 2,097,151 px at most
_PX_PER_UNIT = {
    "px": 1.0,
    "pt": 4 / 3,
    "pc": 16.0,
    "in": 96.0,
    "cm": 96 / 2.54,
    "mm": 96 / 25.4,
    "q": 96 / 101.6,
    "em": 16.0,
    "rem": 16.0,
    "ex": 8.0,
    "ch": 8.0,
    "vw": 10.0,
    "vh": 10.0,
    "vmin": 10.0,
    "vmax": 10.0,
}
_STYLE_BLOCK = re.compile(r"<style\b[^>]*>(.*?)</style>", re.S | re.I)
_STYLE_ATTR = re.compile(r"""\sstyle\s*=\s*(?:"([^"]*)"|'([^']*)')""", re.I)


@dataclass(frozen=True)
class Finding:
    """One problem in one file: the 1-based line and what is wrong (no recipient value)."""

    line: int
    message: str


def _walk(tokens: Iterable[Any]) -> Iterator[Any]:
    for token in tokens:
        yield token
        for attr in ("content", "arguments", "prelude"):
            nested = getattr(token, attr, None)
            if isinstance(nested, list):
                yield from _walk(nested)


def css_range_findings(css: str, first_line: int = 1) -> list[Finding]:
    """Lengths in `css` whose size exceeds what a PDF can lay out (`MAX_CSS_PX`, in px)."""
    findings = []
    for token in _walk(tinycss2.parse_component_value_list(css)):
        if token.type != "dimension":
            continue
        px = abs(float(token.value)) * _PX_PER_UNIT.get(token.lower_unit, 1.0)
        if px > MAX_CSS_PX:
            findings.append(
                Finding(
                    first_line + token.source_line - 1,
                    f"CSS length {token.representation}{token.unit} is out of range "
                    f"(at most {MAX_CSS_PX:,} px)",
                )
            )
    return findings


def html_css_findings(html: str) -> list[Finding]:
    """`css_range_findings` for every ``<style>`` block and ``style=""`` attribute of `html`."""
    findings = []
    for match in [*_STYLE_BLOCK.finditer(html), *_STYLE_ATTR.finditer(html)]:
        group = 1 if match.group(1) is not None else 2
        first_line = html.count("\n", 0, match.start(group)) + 1
        findings += css_range_findings(match.group(group), first_line)
    return findings


def _raise_first(findings: list[Finding], file: str) -> None:
    if findings:
        first = min(findings, key=lambda finding: finding.line)
        more = f" (and {len(findings) - 1} more)" if len(findings) > 1 else ""
        raise TemplateError(first.message + more, file=file, line=first.line)


def lint_entries(manifest: Manifest, root: Path) -> None:
    """Run every check on the entry files; TemplateError naming the file and line of the first
    problem. Entries are known to exist inside `root` (checked by the loader first)."""
    pdf = manifest.outputs.pdf
    if pdf is not None:
        path = root / pdf.entry
        _raise_first(html_css_findings(path.read_text(encoding="utf-8")), str(path))
        if pdf.stylesheet:
            path = root / pdf.stylesheet
            _raise_first(css_range_findings(path.read_text(encoding="utf-8")), str(path))


def _literal_video_refs(manifest: Manifest) -> Iterator[tuple[str, str]]:
    """(line key, asset reference) of every video asset written without Jinja."""
    video = manifest.outputs.video
    if video is None:
        return
    if video.music:
        yield "outputs.video.music", video.music
    for scene in video.scenes:
        media = scene.background.image or scene.background.video
        if media:
            yield f"scene.{scene.id}.background", media
        for index, layer in enumerate(scene.layers):
            src = getattr(layer, "src", None)
            if layer.type == "image" and src and "{" not in src:
                yield f"scene.{scene.id}.layers.{index}", src


def check_video_assets(
    manifest: Manifest, root: Path, assets_dir: Path, lines: dict[str, int], file: str
) -> None:
    """Every literal video asset exists inside the template or ``assets/``; AssetError naming
    ``template.yaml`` and the line of the music key, scene background or layer otherwise."""
    for key, ref in _literal_video_refs(manifest):
        try:
            resolve_asset(ref, root, assets_dir)
        except AssetError as exc:
            raise AssetError(f"{key}: {exc.detail}", file=file, line=lines.get(key)) from None
