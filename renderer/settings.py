"""Every option of Tailor, defined once.

The CLI, the API and the job executors read the same frozen `Settings` object; environment
variables use the ``TAILOR_`` prefix (``TAILOR_STORAGE_URL``, ``TAILOR_WORKERS`` ...).
"""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def _default_workers() -> int:
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 1)


class Settings(BaseSettings):
    """Resolved configuration. Frozen: build a new one with `model_copy(update=...)` to change it."""

    model_config = SettingsConfigDict(env_prefix="TAILOR_", frozen=True, extra="forbid")

    templates_dir: Path = Field(default=PROJECT_ROOT / "templates", description="Template folders")
    assets_dir: Path = Field(default=PROJECT_ROOT / "assets", description="Shared fonts and images")
    storage_url: str = Field(default="out", description="A folder path or file:// URL for outputs")
    workers: int = Field(default_factory=_default_workers, ge=1, le=256)
    pdf_timeout_s: float = Field(default=60.0, gt=0, description="Time limit for one PDF render")
    max_image_pixels: int = Field(default=40_000_000, ge=1, description="Pillow decompression limit")
    chunk_size: int = Field(default=64, ge=1, le=10_000, description="Rows per worker task")
    video_timeout_s: float = Field(default=300.0, gt=0, description="Time limit for one ffmpeg run")
    tts_engine: str = Field(default="espeak", pattern="^(espeak|polly)$", description="espeak or polly")
    video_preset: str = Field(default="veryfast", description="x264 preset of video segments")


def load_settings(**overrides: object) -> Settings:
    """Read settings from the environment, with explicit overrides (e.g. CLI options) on top."""
    values = {key: value for key, value in overrides.items() if value is not None}
    return Settings(**values)  # type: ignore[arg-type]
