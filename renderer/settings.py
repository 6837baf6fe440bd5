"""Every option of Tailor, defined once.

The CLI, the API and the job executors read the same frozen `Settings` object; environment
variables use the ``TAILOR_`` prefix (``TAILOR_STORAGE_URL``, ``TAILOR_WORKERS`` ...), read from
the environment first, then from a ``.env`` file in the working directory (only its ``TAILOR_*``
lines; other lines, such as ``AWS_*``, are left to their own readers).
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from urllib.parse import urlsplit

from pydantic import Field, model_validator
from pydantic_settings import (
    BaseSettings,
    DotEnvSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def _default_workers() -> int:
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 1)


class Settings(BaseSettings):
    """Resolved configuration. Frozen: build a new one with `model_copy(update=...)` to change it."""

    model_config = SettingsConfigDict(
        env_prefix="TAILOR_", frozen=True, extra="forbid", env_file=".env", env_file_encoding="utf-8"
    )

    templates_dir: Path = Field(default=PROJECT_ROOT / "templates", description="Template folders")
    assets_dir: Path = Field(default=PROJECT_ROOT / "assets", description="Shared fonts and images")
    triggers_dir: Path = Field(default=PROJECT_ROOT / "triggers", description="The shared trigger library")
    storage_url: str = Field(default="out", description="A folder path or file:// URL for outputs")
    workers: int = Field(default_factory=_default_workers, ge=1, le=256)
    pdf_timeout_s: float = Field(default=60.0, gt=0, description="Time limit for one PDF render")
    max_image_pixels: int = Field(default=40_000_000, ge=1, description="Pillow decompression limit")
    chunk_size: int = Field(default=64, ge=1, le=10_000, description="Rows per worker task")
    video_timeout_s: float = Field(default=300.0, gt=0, description="Time limit for one ffmpeg run")
    tts_engine: str = Field(
        default="espeak",
        pattern="^(espeak|polly|fake)$",
        description="espeak, polly, or fake (a tone as long as the words, for tests and previews)",
    )
    video_preset: str = Field(default="veryfast", description="x264 preset of video segments")
    on_play_deadline_s: float = Field(
        default=4.0,
        gt=0,
        description="Seconds a player waits for a personal segment rendered on play before its scene's "
        "fallback is served (scenes without a fallback wait for the render)",
    )
    campaign_nice: int = Field(
        default=10,
        ge=0,
        le=19,
        description="Niceness of a local campaign's render processes: on one machine, the segments a "
        "player waits for (rendered at niceness 0) get the CPU first",
    )
    stream_workers: int = Field(
        default=2, ge=1, le=64, description="API processes rendering on-play segments without a broker"
    )

    # ---- the service: job store, broker, object storage, links --------------------------------
    database_url: str = Field(
        default="",
        description="Job store (SQLAlchemy URL): SQLite or PostgreSQL; default: SQLite beside local "
        "outputs (STORAGE/_tailor/jobs.db), else in the per-user state folder "
        "($XDG_STATE_HOME/tailor/jobs-<hash of the storage URL>.db)",
    )
    broker_url: str | None = Field(
        default=None, description="Celery broker (redis://...); unset = local pool"
    )
    broker_visibility_timeout_s: int = Field(
        default=21_600,
        ge=10,
        description="Seconds before an unacknowledged task is redelivered (> longest render)",
    )
    s3_endpoint_url: str | None = Field(default=None, description="S3-compatible endpoint (MinIO, R2, moto)")
    s3_public_endpoint_url: str | None = Field(
        default=None,
        description="Endpoint presigned links name, when readers reach S3 by another address than Tailor",
    )
    s3_region: str | None = Field(default=None, description="S3 region name")
    s3_sse: str | None = Field(
        default=None, pattern="^(AES256|aws:kms)$", description="Server-side encryption of stored objects"
    )
    request_deadline_s: float = Field(
        default=25.0,
        gt=0,
        description="Seconds a synchronous API request may spend on storage retries, so it answers "
        "(503 + Retry-After when storage keeps failing) before clients time out (often 30 s)",
    )
    link_expiry_s: int = Field(
        default=86_400, ge=60, le=7 * 86_400, description="Lifetime of presigned output URLs (<= 7 days)"
    )
    recipient_link_ttl_s: int = Field(
        default=30 * 86_400, ge=60, description="Lifetime of a recipient's /r/{token} page link"
    )
    max_upload_bytes: int = Field(default=1 << 30, ge=1, description="Largest campaign upload accepted")
    task_max_attempts: int = Field(
        default=3, ge=1, le=20, description="Render attempts before a row is quarantined"
    )
    webhook_max_attempts: int = Field(default=6, ge=1, le=20, description="Deliveries tried per event")
    webhook_timeout_s: float = Field(default=10.0, gt=0, description="Time limit of one webhook call")
    webhook_allow_private: bool = Field(
        default=False,
        description="Let webhooks reach loopback, private, link-local and metadata addresses "
        "(on-premise receivers, tests); off: only public addresses, checked on registration and "
        "on every connection",
    )
    public_url: str = Field(
        default="http://localhost:8000",
        description="Base URL of links handed out; unset, `tailor serve` uses the host and port it binds",
    )

    # ---- engagement events (POST /events): limits a real page never reaches and a flood does ------
    # A page view sends a dozen events or so (page_view, video_play, four quartiles, a pause or
    # two, each CTA shown once, a click), in batches of at most `event_batch_max`; a 50-event
    # batch is ~6 KiB of JSON, so 16 KiB leaves room while a body can never cost much to parse.
    event_body_limit: int = Field(
        default=16 * 1024, ge=1024, le=1 << 20, description="Largest POST /events body (bytes)"
    )
    event_batch_max: int = Field(default=50, ge=1, le=500, description="Most events in one batch")
    # Per token (one recipient's page, on every device it is open on): 300 events at once and 5/s
    # after; people click and pause at well under one event per second.
    event_token_rate: float = Field(default=5.0, gt=0, description="Events/s one page token may send")
    event_token_burst: int = Field(default=300, ge=1, description="Events one page token may send at once")
    # Per client address: many recipients can share one (an office, carrier-grade NAT), so it is
    # generous: 100/s sustained is thousands of page views an hour from one address.
    event_address_rate: float = Field(default=100.0, gt=0, description="Events/s one client address may send")
    event_address_burst: int = Field(
        default=2000, ge=1, description="Events one client address may send at once"
    )
    event_retention_days: int = Field(
        default=395, ge=1, le=36_500, description="Days engagement events are kept (by when they arrived)"
    )
    # Frequency caps count a recipient's trigger exposures across campaigns: keep them longer than
    # the longest cap's `days`, or that cap forgets older showings.
    exposure_retention_days: int = Field(
        default=400, ge=1, le=36_500, description="Days trigger exposures are kept (for frequency caps)"
    )

    allowed_hosts: str = Field(
        default="",
        description="Comma-separated Host header values the API answers (``*.example.com`` for "
        "subdomains, ``*`` for any); default: the public URL's host, localhost, 127.0.0.1 and ::1",
    )

    def host_allowlist(self) -> tuple[str, ...]:
        """The lower-case host names the API answers: `allowed_hosts`, or its default."""
        listed = [host.strip().lower() for host in self.allowed_hosts.split(",") if host.strip()]
        if listed:
            return tuple(listed)
        public = (urlsplit(self.public_url).hostname or "localhost").lower()
        return tuple(dict.fromkeys([public, "localhost", "127.0.0.1", "::1"]))

    log_format: str = Field(default="text", pattern="^(text|json)$", description="text or json log lines")
    log_level: str = Field(
        default="INFO", pattern="^(DEBUG|INFO|WARNING|ERROR)$", description="Lowest level logged"
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Explicit values, then the environment, then ``.env`` (its TAILOR_* lines only)."""
        return init_settings, env_settings, _TailorDotEnv(settings_cls), file_secret_settings

    @model_validator(mode="after")
    def _default_job_store(self) -> Settings:
        """Without TAILOR_DATABASE_URL the job store lives beside local outputs, so a campaign's
        state travels with its files; for S3 (or memory) storage it lives in the per-user state
        folder, one file per storage URL. Never in whatever folder a command ran from."""
        if not self.database_url:
            url = self.storage_url.removeprefix("file://")
            local = "://" not in url
            place = (Path(url) / "_tailor" / "jobs.db").resolve() if local else state_job_store(url)
            object.__setattr__(self, "database_url", f"sqlite:///{place}")
        return self


def served_url(host: str, port: int) -> str:
    """The base URL clients reach a server bound to `host`:`port` on: a wildcard interface
    (``0.0.0.0``, ``::``) is named ``localhost``, an IPv6 address is bracketed."""
    if host in ("", "0.0.0.0", "::"):
        host = "localhost"
    elif ":" in host:
        host = f"[{host.strip('[]')}]"
    return f"http://{host}:{port}"


class _TailorDotEnv(DotEnvSettingsSource):
    """The ``.env`` source without the lines that are not Tailor's (which ``extra="forbid"``
    would otherwise refuse)."""

    def __call__(self) -> dict[str, object]:
        return {k: v for k, v in super().__call__().items() if k in self.settings_cls.model_fields}


def state_dir() -> Path:
    """Tailor's per-user state folder: ``$XDG_STATE_HOME/tailor``, else ``~/.local/state/tailor``."""
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base).resolve() / "tailor"


def state_job_store(storage_url: str) -> Path:
    """The default job store of a non-local storage URL: ``jobs-<12 hex of its SHA-256>.db`` in
    `state_dir`, so the CLI, ``tailor serve`` and ``tailor api-key`` on the same storage share it
    and two buckets never share campaign ids."""
    digest = hashlib.sha256(storage_url.rstrip("/").encode()).hexdigest()[:12]
    return state_dir() / f"jobs-{digest}.db"


def load_settings(**overrides: object) -> Settings:
    """Read settings from the environment, with explicit overrides (e.g. CLI options) on top."""
    values = {key: value for key, value in overrides.items() if value is not None}
    return Settings(**values)  # type: ignore[arg-type]
