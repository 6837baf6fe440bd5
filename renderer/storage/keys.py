"""Pure storage keys: ``{template}/{campaign}/{recipient_id}/{output}`` with safe segments.

Recipient ids come from customer data, so they are percent-encoded into one path segment: no
``/``, no ``..``, no leading ``.`` or ``_`` (those prefixes are reserved for ``_static`` and
``_campaign``), and two different ids never map to the same key.
"""

from __future__ import annotations

import re
from urllib.parse import quote

from renderer.errors import StorageError

STATIC_DIR = "_static"
CAMPAIGN_DIR = "_campaign"
_SEGMENT = re.compile(r"^[A-Za-z0-9%~][A-Za-z0-9._~%@+-]{0,254}$")
_MAX_ID_LENGTH = 200
_MAX_SEGMENT = 240


def safe_segment(value: str) -> str:
    """Encode one untrusted value (a recipient id) as a single safe key segment; injective."""
    if not value or len(value) > _MAX_ID_LENGTH:
        raise StorageError(f"recipient id must have 1 to {_MAX_ID_LENGTH} characters")
    encoded = quote(value, safe="-.~@+")
    if encoded[0] in "._":
        encoded = f"%{ord(encoded[0]):02X}{encoded[1:]}"
    if len(encoded) > _MAX_SEGMENT:  # a file name holds 255 bytes; non-ASCII ids encode 3x longer
        raise StorageError(f"recipient id is longer than {_MAX_SEGMENT} characters once encoded for a key")
    return encoded


def _check(segment: str, what: str) -> str:
    if not _SEGMENT.match(segment) or segment in {".", ".."}:
        raise StorageError(f"{what} {segment!r} is not a safe key segment")
    return segment


def output_key(template: str, campaign: str, recipient_id: str, output: str) -> str:
    """The key of one recipient's output file, e.g. ``bill-summary/demo/C-1/index.html``."""
    parts = (_check(template, "template"), _check(campaign, "campaign"), safe_segment(recipient_id))
    return "/".join((*parts, _check(output, "output name")))


def static_key(template: str, hashed_name: str) -> str:
    """The key of a content-hashed static file shared by every recipient of a template."""
    return f"{_check(template, 'template')}/{STATIC_DIR}/{_check(hashed_name, 'static name')}"


def campaign_key(template: str, campaign: str, name: str) -> str:
    """The key of a campaign-level report such as ``manifest.jsonl`` or ``rejects.csv``."""
    prefix = f"{_check(template, 'template')}/{_check(campaign, 'campaign')}"
    return f"{prefix}/{CAMPAIGN_DIR}/{_check(name, 'report')}"


def static_href(hashed_name: str) -> str:
    """The link from a recipient's ``index.html`` to a shared static file (relative, offline)."""
    return f"../../{STATIC_DIR}/{hashed_name}"


def check_key(key: str) -> str:
    """Refuse keys that are empty, absolute, or contain empty, ``.`` or ``..`` segments."""
    if not key or key.startswith("/") or "\\" in key or "\x00" in key:
        raise StorageError("storage key must be a non-empty relative path")
    for segment in key.split("/"):
        if segment in {"", ".", ".."}:
            raise StorageError("storage key has an empty, '.' or '..' segment")
    return key


def check_prefix(prefix: str) -> str:
    """Normalise a folder prefix: ``""`` (everything) or whole segments ending in ``/``.

    ``"a/b"`` and ``"a/b/"`` both become ``"a/b/"``, which covers ``a/b/c`` but never ``a/bc``;
    erasing recipient ``C-1`` must not touch ``C-10``.
    """
    if not prefix:
        return ""
    return check_key(prefix.removesuffix("/")) + "/"


def describe_key(key: str) -> str:
    """A key as error messages show it: an output key's recipient segment (customer data) is
    masked, ``bill-summary/october/…/index.html``; other keys are shown as they are."""
    parts = key.split("/")
    if len(parts) == 4 and not parts[1].startswith(("_", ".")) and parts[0] != "cache":
        parts[2] = "…"
    return "/".join(parts)
