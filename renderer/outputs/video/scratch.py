"""The video renderer's scratch space: the temporary directory (``TMPDIR``) where stills, segments
and the assembled MP4 are written before they are stored.

`scratch_space()` turns a full (or over-quota) temporary disk into one clear `RenderError`,
``no space left in TMPDIR (/the/dir)``, whether Python or ffmpeg hit it; it names the directory,
never a file of a recipient. The renderer's temporary folders are removed as the error passes
(they are `tempfile.TemporaryDirectory` blocks), and nothing is stored for the failed output.
"""

from __future__ import annotations

import contextlib
import errno
import tempfile
from collections.abc import Iterator

from renderer.errors import RenderError, RenderTimeout

_FULL = (errno.ENOSPC, errno.EDQUOT)
_FFMPEG_FULL = "No space left on device"  # strerror(ENOSPC), as ffmpeg reports it


def no_space_message() -> str:
    """The message for a full temporary disk, naming the directory in use."""
    return (
        f"no space left in TMPDIR ({tempfile.gettempdir()}): free space there or set TMPDIR "
        "to a folder on a larger disk"
    )


@contextlib.contextmanager
def scratch_space() -> Iterator[None]:
    """Run a render block; a full temporary disk raises RenderError(`no_space_message()`)."""
    try:
        yield
    except OSError as exc:
        if exc.errno not in _FULL:
            raise
        raise RenderError(no_space_message()) from None
    except RenderError as exc:
        if isinstance(exc, RenderTimeout) or _FFMPEG_FULL not in str(exc):
            raise
        raise RenderError(no_space_message()) from None
