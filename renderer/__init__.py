"""Tailor's public API: what scripts, notebooks and tests import from ``renderer``.

    from renderer import load_settings, load_template, render_recipient, MemoryStorage

    settings = load_settings()
    bill = load_template("bill-summary", settings)
    recipient = bill.validator.validate(bill.samples["de-DE"])
    stored = render_recipient(bill, recipient, ["microsite", "pdf"], MemoryStorage(), "demo")
    stored.file_keys()  # {"microsite": "bill-summary/demo/DE-2002/index.html", "pdf": ...}

Names resolve on first use (PEP 562), so ``import renderer`` stays cheap: a worker that only
renders never imports FastAPI, and one that only serves pages never imports WeasyPrint. The
error tree is drawn in `renderer.errors`.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

# public name -> the module that defines it
_EXPORTS = {
    "AssetError": "renderer.errors",
    "CampaignSpec": "renderer.jobs.local",
    "CampaignStats": "renderer.jobs.local",
    "DataError": "renderer.errors",
    "EventError": "renderer.errors",
    "FakeTTS": "renderer.outputs.video.tts",
    "LocalStorage": "renderer.storage.local",
    "MemoryStorage": "renderer.storage.memory",
    "RecipientOutputs": "renderer.outputs.render",
    "RenderError": "renderer.errors",
    "RenderOptions": "renderer.outputs.kind",
    "RenderTimeout": "renderer.errors",
    "RowError": "renderer.errors",
    "ServiceUnavailable": "renderer.errors",
    "Settings": "renderer.settings",
    "SourceError": "renderer.errors",
    "Storage": "renderer.storage.base",
    "StorageError": "renderer.errors",
    "TailorError": "renderer.errors",
    "Template": "renderer.outputs.template",
    "TemplateError": "renderer.errors",
    "create_app": "renderer.api.app",
    "load_settings": "renderer.settings",
    "load_template": "renderer.outputs.load",
    "open_storage": "renderer.storage",
    "render_recipient": "renderer.outputs.render",
    "run_campaign": "renderer.jobs.local",
}

__all__ = [
    "AssetError",
    "CampaignSpec",
    "CampaignStats",
    "DataError",
    "EventError",
    "FakeTTS",
    "LocalStorage",
    "MemoryStorage",
    "RecipientOutputs",
    "RenderError",
    "RenderOptions",
    "RenderTimeout",
    "RowError",
    "ServiceUnavailable",
    "Settings",
    "SourceError",
    "Storage",
    "StorageError",
    "TailorError",
    "Template",
    "TemplateError",
    "create_app",
    "load_settings",
    "load_template",
    "open_storage",
    "render_recipient",
    "run_campaign",
]


def __getattr__(name: str) -> Any:
    """The public name `name`, imported from its module on first use."""
    try:
        module = _EXPORTS[name]
    except KeyError:
        raise AttributeError(f"module 'renderer' has no attribute {name!r}") from None
    value = getattr(import_module(module), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])


if TYPE_CHECKING:  # what type checkers and editors see
    from renderer.api.app import create_app
    from renderer.errors import (
        AssetError,
        DataError,
        EventError,
        RenderError,
        RenderTimeout,
        RowError,
        ServiceUnavailable,
        SourceError,
        StorageError,
        TailorError,
        TemplateError,
    )
    from renderer.jobs.local import CampaignSpec, CampaignStats, run_campaign
    from renderer.outputs.kind import RenderOptions
    from renderer.outputs.load import load_template
    from renderer.outputs.render import RecipientOutputs, render_recipient
    from renderer.outputs.template import Template
    from renderer.outputs.video.tts import FakeTTS
    from renderer.settings import Settings, load_settings
    from renderer.storage import open_storage
    from renderer.storage.base import Storage
    from renderer.storage.local import LocalStorage
    from renderer.storage.memory import MemoryStorage
