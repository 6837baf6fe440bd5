"""The OUTPUT registry: every output kind, and the manifest's ``outputs`` section built from them.

`OUTPUT_KINDS` is the one list of output kinds: the API's and CLI's choices, the loader's checks,
the page's links and the manifest model (`Outputs`: one optional field per kind, its section
model) all read it. A new output kind is one module plus its entry here.
"""

from __future__ import annotations

from typing import Any

from pydantic import model_validator

from renderer.outputs.kind import OutputKind
from renderer.outputs.microsite import MICROSITE, MicrositeOutput
from renderer.outputs.pdf import PDF, PdfOutput
from renderer.outputs.video.kind import VIDEO
from renderer.outputs.video.spec import VideoOutput
from renderer.template.models import Manifest, Strict

OUTPUT_KINDS: dict[str, OutputKind[Any, Any]] = {kind.name: kind for kind in (MICROSITE, PDF, VIDEO)}


class Outputs(Strict):
    """The outputs a template offers (``outputs.<kind name>``, each its kind's section); at least one."""

    microsite: MicrositeOutput | None = None
    pdf: PdfOutput | None = None
    video: VideoOutput | None = None

    @model_validator(mode="after")
    def _at_least_one(self) -> Outputs:
        if not any(getattr(self, name) is not None for name in OUTPUT_KINDS):
            raise ValueError("a template must offer at least one output")
        return self

    def offered(self) -> list[str]:
        """The names of the outputs this template offers, in registry order."""
        return [name for name in OUTPUT_KINDS if getattr(self, name) is not None]


if set(Outputs.model_fields) != set(OUTPUT_KINDS) or any(
    Outputs.model_fields[name].annotation != kind.section | None for name, kind in OUTPUT_KINDS.items()
):  # pragma: no cover - a registry edit that forgot one half fails at import, not at render
    raise RuntimeError("Outputs must have one optional field per output kind, typed by its section")

TemplateManifest = Manifest[Outputs]


def output_kind(name: str) -> OutputKind[Any, Any]:
    """The registered kind called `name` (KeyError for an unknown one: check names first)."""
    return OUTPUT_KINDS[name]
