"""A campaign's or API render's video mode: ``eager`` (the MP4 and HLS stream rendered with the
page) or ``on-play`` (the page, PDF, poster, thumbnail, tracks and stream plan now; the video's
segments only when it is played).

The job store keeps ``"on-play"`` or NULL (eager) in ``video_mode``; `render_options` turns that
into the options a worker renders the campaign's rows with, so a resume renders the same way.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

from renderer.errors import RenderError
from renderer.outputs.kind import RenderOptions

EAGER = "eager"
ON_PLAY = "on-play"
VIDEO_MODES = (EAGER, ON_PLAY)


def stored_video_mode(mode: str | None, outputs: Iterable[str]) -> str | None:
    """What the job store keeps for `mode` (``"on-play"``, or None for eager or no mode given);
    RenderError naming the option when the mode is unknown or on-play is asked without the video
    output among `outputs`."""
    if mode is None or mode == EAGER:
        return None
    if mode != ON_PLAY:
        raise RenderError(f"video mode {mode!r} is not one of {', '.join(VIDEO_MODES)}")
    if "video" not in outputs:
        raise RenderError("video on-play needs the video output among the outputs")
    return ON_PLAY


def shown_video_mode(stored: str | None) -> str:
    """The mode as the front doors show it: ``"on-play"`` or ``"eager"`` (NULL in the store)."""
    return ON_PLAY if stored == ON_PLAY else EAGER


def render_options(options: RenderOptions, stored: str | None) -> RenderOptions:
    """`options` (a worker's, per process) for a campaign or job with this stored mode: the same
    options with `video_on_play` set when it is on-play, unchanged otherwise."""
    on_play = stored == ON_PLAY
    return options if options.video_on_play == on_play else replace(options, video_on_play=on_play)
