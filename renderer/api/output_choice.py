"""Which outputs a request gets: those it names, checked against what the template offers."""

from __future__ import annotations

from renderer.api.errors import ApiError
from renderer.errors import RenderError
from renderer.outputs.load import Template
from renderer.outputs.render import check_outputs


def offered_outputs(template: Template) -> list[str]:
    """The outputs a template offers, in the registry's order."""
    return template.manifest.outputs.offered()


def choose_outputs(template: Template, asked: list[str] | None) -> list[str]:
    """The outputs asked for (default: every offered one except video); ApiError 422 when the
    template does not offer one of them."""
    wanted = asked if asked is not None else [o for o in offered_outputs(template) if o != "video"]
    try:
        return check_outputs(template, wanted)
    except RenderError as exc:
        raise ApiError(422, "invalid_outputs", str(exc), field="outputs") from None
