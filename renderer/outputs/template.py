"""`Template`: a loaded, fully checked template, as every output kind, job and front door sees it.

It is what the template stage read (`TemplateSource`: the manifest, compiled Jinja, lines,
samples) plus what rendering for a recipient needs besides: the contract's validating model and
the HTML environment of the template's entry files. `renderer.outputs.load.load_template` builds
it; nothing here imports an output kind, so every kind can name it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from jinja2.sandbox import ImmutableSandboxedEnvironment

from renderer.data.contract import RecipientValidator
from renderer.decisions.book import DecisionBook
from renderer.template.load import TemplateSource


@dataclass(eq=False, kw_only=True)
class Template(TemplateSource):
    """A loaded, fully checked template, ready to resolve and render for any recipient
    (``manifest.outputs`` holds one section per output kind it offers)."""

    validator: RecipientValidator
    html_env: ImmutableSandboxedEnvironment
    # its triggers, slots and experiments, checked against the trigger library
    decisions: DecisionBook
    # each output kind's prepared object, by kind name: read and filled only through
    # `renderer.outputs.render.prepared_output` (typed by the kind); it lives as long as the template
    prepared: dict[str, Any] = field(default_factory=dict, init=False, repr=False)
