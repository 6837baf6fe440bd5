"""Links handed out for a recipient's outputs: unguessable, expiring, and never a storage path.

A page link is ``{public_url}/r/{token}``: the token (192 bits) is stored only as a hash and
expires after ``recipient_link_ttl_s``. Direct links to each output are presigned URLs on S3
(expiring after ``link_expiry_s``), except for files that load others by relative URL: pages
(their static files) and HLS playlists (their segments; a presigned playlist's relative segment
URIs would carry no signature). Those, and every output on a local folder, use the token route
``/r/{token}/{key}``, which serves nothing outside that recipient's folder and its template's
static files.

The page link of an API render is the same on every ``GET /renders/{id}`` while it is valid:
its token is derived (`render_page_token`) from the caller's API key, which only its holder
knows, and the render's id, so a poll loop hands out one link instead of minting one per call.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

from renderer.jobs.store import JobStore
from renderer.outputs.render import output_entries
from renderer.settings import Settings
from renderer.storage import LocalStorage, MemoryStorage
from renderer.storage.base import Storage
from renderer.storage.keys import STATIC_DIR, safe_segment


@dataclass(frozen=True)
class RecipientLinks:
    """A fresh page link and direct output links, with when each expires."""

    page_url: str
    links: dict[str, str]
    page_expires_at: datetime
    links_expire_at: datetime


@dataclass(frozen=True)
class PageToken:
    """A stored page token and when it expires."""

    token: str
    expires_at: datetime


# a page token is renewed once less than this share of its lifetime is left
_RENEW_SHARE = 0.1


def render_page_token(
    store: JobStore,
    settings: Settings,
    recipient: tuple[str, str, str],
    render: tuple[str, str, datetime],
    now: datetime | None = None,
) -> PageToken:
    """The page token of an API render (`render`: the caller's API key in plaintext, the render
    id, when the render was created), stored if it is not yet. Every call in one period (90% of
    ``recipient_link_ttl_s``, counted from the render's creation) gets the same token, which has
    at least 10% of its lifetime left; the next period gets a new one. The token is 192 bits of
    HMAC-SHA256 keyed by the API key: the store keeps only its hash, as for random tokens."""
    api_key, render_id, created_at = render
    now = now or datetime.now(UTC)
    ttl_s = settings.recipient_link_ttl_s
    period = max(0, int((now - created_at).total_seconds() // (ttl_s * (1 - _RENEW_SHARE))))
    message = f"tailor-page-link\0{render_id}\0{period}".encode()
    digest = hmac.new(api_key.encode(), message, hashlib.sha256).digest()[:24]
    token = base64.urlsafe_b64encode(digest).decode()
    expires_at = store.links.keep(token, recipient, ttl_s, now)
    if expires_at <= now + timedelta(seconds=ttl_s * _RENEW_SHARE / 2):  # kept under a longer TTL
        token = store.links.create(*recipient, ttl_s, now)
        expires_at = now + timedelta(seconds=ttl_s)
    return PageToken(token, expires_at)


def public_base(settings: Settings) -> str:
    """The public URL of the API without a trailing slash."""
    return settings.public_url.rstrip("/")


def recipient_folder(template: str, campaign: str, recipient_id: str) -> str:
    """The storage folder (ending in ``/``) that holds one recipient's outputs of one campaign."""
    return f"{template}/{campaign}/{safe_segment(recipient_id)}/"


def static_folder(template: str) -> str:
    """The storage folder of a template's shared static files."""
    return f"{template}/{STATIC_DIR}/"


def token_path(token: str, key: str = "") -> str:
    """The path of the token route for `key` (percent-encoded: recipient segments hold ``%``)."""
    return f"/r/{token}/{quote(key, safe='/')}" if key else f"/r/{token}"


# Files whose relative references must resolve under the token route, never beside a presigned URL.
RELATIVE_LOADERS = (".html", ".m3u8")


def is_remote(storage: Storage) -> bool:
    """Whether the storage hands out its own (presigned) URLs, as S3 does."""
    return not isinstance(storage, LocalStorage | MemoryStorage)


def mint_links(
    store: JobStore,
    storage: Storage,
    settings: Settings,
    recipient: tuple[str, str, str],
    keys: Mapping[str, str],
    page: PageToken | None = None,
) -> RecipientLinks:
    """Link every output key of (template, campaign, recipient id) with the page token `page`, or
    with a new one when None (never the ``cache:`` entries of `keys`, which are shared cache
    objects, not the recipient's files)."""
    keys = output_entries(keys)
    now = datetime.now(UTC)
    if page is None:
        ttl_s = settings.recipient_link_ttl_s
        page = PageToken(store.links.create(*recipient, ttl_s), now + timedelta(seconds=ttl_s))
    token, page_expires = page.token, page.expires_at
    base = public_base(settings)
    if is_remote(storage):
        # a page loads its static files, a playlist its segments, relatively: the API serves them
        links = {
            name: base + token_path(token, key) if key.endswith(RELATIVE_LOADERS) else storage.url(key)
            for name, key in keys.items()
        }
        links_expire = min(page_expires, now + timedelta(seconds=settings.link_expiry_s))
    else:
        links = {name: base + token_path(token, key) for name, key in keys.items()}
        links_expire = page_expires
    return RecipientLinks(base + token_path(token), links, page_expires, links_expire)
