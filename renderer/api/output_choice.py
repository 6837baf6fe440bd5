"""Which outputs a request gets: those it names, checked against what the template offers; and
its video mode (``eager`` or ``on-play``), checked against those outputs."""

from __future__ import annotations

from renderer.api.errors import ApiError
from renderer.errors import RenderError
from renderer.jobs.video_mode import stored_video_mode
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


def choose_video_mode(asked: str | None, outputs: list[str]) -> str | None:
    """The video mode as the job store keeps it (``"on-play"``, None for eager or absent);
    ApiError 422 ``invalid_video`` naming the ``video`` field when the mode is unknown or on-play
    is asked without the video output."""
    try:
        return stored_video_mode(asked or None, outputs)
    except RenderError as exc:
        raise ApiError(422, "invalid_video", str(exc), field="video") from None
