"""The pre-flight check: render a template for its samples (and synthetic recipients) the way a
campaign would, and report what would go wrong, before a campaign spends hours on it.

For every recipient, resolved with the production resolver (`resolve_decided`, default decision
inputs) and rendered with `render_recipient` into the given storage:

- ``render`` (error): the recipient fails to validate or an output fails to render; the finding
  names the field or the template file and line from the TailorError, and the others go on.
- ``link`` (error): an unsafe link in the rendered microsite or a video QR code (`preflight_links`).
- ``text-fit``, ``glyphs``, ``contrast``, ``narration``: the video's frames (`preflight_video`),
  measured without encoding; run whether or not the video is rendered.

And what it costs (`RenderCost`): each output's seconds for the first recipient (cold caches) and
the median of the others (warm); the campaign estimate is
``cold total + (campaign_size - 1) * warm total / workers`` (workers default to the CPU count).
With ``video=False`` the video is not rendered (nor timed); its frames are still checked.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from renderer.data.synthetic import sample_locales, synthetic_rows
from renderer.errors import DataError, TailorError, TemplateError
from renderer.outputs.decided import default_inputs, resolve_decided
from renderer.outputs.kind import RenderOptions
from renderer.outputs.render import offered_outputs, render_recipient
from renderer.outputs.template import Template
from renderer.preview.findings import Finding, PreflightReport, RenderCost, estimate_cost
from renderer.preview.preflight_links import page_link_findings
from renderer.preview.preflight_video import video_findings
from renderer.storage.base import Storage

__all__ = ["Finding", "PreflightReport", "RenderCost", "preflight", "preflight_recipients"]
CAMPAIGN = "preflight"


def preflight_recipients(
    template: Template, synthetic: int, seed: int = 1
) -> list[tuple[str, dict[str, Any]]]:
    """(label, raw data) of every sample (labelled by its name, in name order), then `synthetic`
    deterministic synthetic recipients (``synthetic #1``...; `synthetic_rows`, cycling through the
    sample locales as ``tailor sample-data`` does)."""
    samples = [(name, dict(template.samples[name])) for name in sorted(template.samples)]
    if synthetic <= 0:
        return samples
    contract = template.manifest.contract
    locales = sample_locales(template.samples, contract.default_locale)
    rows = synthetic_rows(contract, locales, synthetic, seed)
    return samples + [(f"synthetic #{index}", row) for index, row in enumerate(rows, start=1)]


def _relative(template: Template, file: str | None) -> str | None:
    """`file` relative to the template folder (an error names it absolute or under its name)."""
    if file is None:
        return None
    path = Path(file)
    if path.is_absolute():
        try:
            return path.resolve().relative_to(template.root.resolve()).as_posix()
        except ValueError:
            return path.name
    return file.removeprefix(f"{template.name}/")


def failure(template: Template, recipient: str, where: str, exc: TailorError) -> Finding:
    """A ``render`` error for `exc` (its message names field, file and line, never a value)."""
    if isinstance(exc, TemplateError):
        file = _relative(template, exc.file)
        return Finding("render", "error", recipient, where, exc.detail, file, exc.line)
    if isinstance(exc, DataError):
        return Finding("render", "error", recipient, "data", f"the data does not validate: {exc}")
    return Finding("render", "error", recipient, where, str(exc))


def _page_findings(template: Template, storage: Storage, key: str, recipient: str) -> list[Finding]:
    section = template.manifest.outputs.microsite
    html = storage.get(key).decode("utf-8", errors="replace")
    return page_link_findings(html, "microsite", recipient, section.entry if section else None)


def check_recipient(
    template: Template,
    label: str,
    raw: Mapping[str, Any],
    storage: Storage,
    options: RenderOptions,
    outputs: list[str],
) -> tuple[list[Finding], dict[str, float] | None]:
    """The findings for one recipient and the seconds each output took (None when it failed)."""
    try:
        recipient = template.validator.validate(dict(raw))
    except TailorError as exc:
        return [failure(template, label, "data", exc)], None
    found: list[Finding] = []
    timing: dict[str, float] | None = {}
    try:
        if not outputs:  # a video-only template checked with video=False: nothing to render
            return found + _video_checks(template, label, recipient, storage, options), None
        stored = render_recipient(template, recipient, outputs, storage, CAMPAIGN, options, durations=timing)
        if "microsite" in stored.outputs:
            found += _page_findings(template, storage, stored.outputs["microsite"].main, label)
    except TailorError as exc:
        found.append(failure(template, label, "render", exc))
        timing = None
    for finding in _video_checks(template, label, recipient, storage, options):
        if finding.check != "render" or all(f.message != finding.message for f in found):
            found.append(finding)  # a video failure the render reported already is not repeated
    return found, timing


def _video_checks(
    template: Template, label: str, recipient: Mapping[str, Any], storage: Storage, options: RenderOptions
) -> list[Finding]:
    if template.manifest.outputs.video is None:
        return []
    try:
        spec, _ = resolve_decided(template, recipient, default_inputs(CAMPAIGN))
        return video_findings(template, spec, storage, options, label)
    except TailorError as exc:
        return [failure(template, label, "video", exc)]


def preflight(
    template: Template,
    recipients: list[tuple[str, dict[str, Any]]],
    storage: Storage,
    options: RenderOptions,
    *,
    campaign_size: int = 10000,
    workers: int | None = None,
    video: bool = True,
) -> PreflightReport:
    """Check and time every recipient (see the module docstring): the findings, errors first and
    otherwise in recipient order, and the cost of the ones that rendered (None when none did).
    Never raises for a recipient's failure: it becomes a finding."""
    outputs = offered_outputs(template, background=video)
    durations: list[dict[str, float]] = []
    findings: list[Finding] = []
    for label, raw in recipients:
        found, timing = check_recipient(template, label, raw, storage, options, outputs)
        findings += found
        if timing is not None:
            durations.append(timing)
    cost = estimate_cost(durations, campaign_size, workers or os.cpu_count() or 1)
    ordered = sorted(findings, key=lambda f: f.severity != "error")
    return PreflightReport(ordered, cost, len(recipients))
