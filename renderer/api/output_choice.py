"""Which outputs a request gets: those it names, checked against what the template offers."""

from __future__ import annotations

from renderer.api.errors import ApiError
from renderer.errors import RenderError
from renderer.outputs.render import check_outputs, offered_outputs
from renderer.outputs.template import Template


def choose_outputs(template: Template, asked: list[str] | None) -> list[str]:
    """The outputs asked for (default: every offered one that answers now, not video); ApiError
    422 when the template does not offer one of them."""
    wanted = asked if asked is not None else offered_outputs(template, background=False)
    try:
        return check_outputs(template, wanted)
    except RenderError as exc:
        raise ApiError(422, "invalid_outputs", str(exc), field="outputs") from None
