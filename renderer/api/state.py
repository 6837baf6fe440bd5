"""What one app holds for its lifetime: settings, the job store and storage (opened lazily, so the
app starts and ``/readyz`` reports an unreachable database instead of crashing), loaded
templates, the render processes and the webhook dispatcher.
"""

from __future__ import annotations

import logging
import re
import threading

from renderer.api.errors import ApiError
from renderer.api.metrics import Metrics
from renderer.api.render_pool import RenderPool
from renderer.api.webhooks import Dispatcher
from renderer.engagement.ingest import EventIngest
from renderer.errors import ServiceUnavailable, TemplateError, template_message
from renderer.jobs.retention import RetentionTask
from renderer.jobs.service import stop_background
from renderer.jobs.store import JobStore, open_store
from renderer.outputs.load import load_template
from renderer.outputs.template import Template
from renderer.settings import Settings
from renderer.storage import open_storage
from renderer.storage.base import Storage
from renderer.template.models import SLUG
from renderer.template.paths import MANIFEST

log = logging.getLogger("tailor.api")


class ApiState:
    """Shared by every request of one app; every method is thread-safe."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.metrics = Metrics()
        self.pages = RenderPool(settings.workers, "pages")  # one-off microsites and PDFs
        self.videos = RenderPool(min(2, settings.workers), "video")  # video jobs without a broker
        self._store: JobStore | None = None
        self._storage: Storage | None = None
        self._templates: dict[str, Template] = {}
        self._lock = threading.Lock()
        self.metrics.watch_store(self.store)
        self.metrics.watch_pool("pages", lambda: self.pages.pending)
        self.metrics.watch_pool("video", lambda: self.videos.pending)
        self.dispatcher = Dispatcher(self.store, settings, on_attempt=self.metrics.count_delivery)
        self.dispatcher.tasks.append(
            RetentionTask(
                self.storage,
                self.retention_policy,
                event_retention_days=settings.event_retention_days,
                exposure_retention_days=settings.exposure_retention_days,
            )
        )
        self.events = EventIngest.from_settings(settings, self.store)  # POST /events: limits, writer
        from renderer.api.streams import StreamService  # it reads this state

        self.streams = StreamService(self)
        self.metrics.watch_pool("stream", lambda: self.streams.pool.pending)

    def store(self) -> JobStore:
        """The job store, opened (and migrated) on first use; ServiceUnavailable while unreachable."""
        with self._lock:
            if self._store is None:
                try:
                    self._store = open_store(self.settings.database_url)
                except ValueError as exc:  # an unsupported URL: a configuration error
                    raise ServiceUnavailable(str(exc), service="database", retry_after_s=30) from None
                except Exception as exc:  # the driver's connection errors vary by backend
                    log.warning("job store unavailable: %s", type(exc).__name__)
                    message = f"the job store cannot be reached ({type(exc).__name__})"
                    raise ServiceUnavailable(message, service="database") from None
            return self._store

    def storage(self) -> Storage:
        """The output storage, opened on first use."""
        with self._lock:
            if self._storage is None:
                self._storage = open_storage(self.settings.storage_url, self.settings)
            return self._storage

    def template_names(self) -> list[str]:
        """Names of the folders under templates_dir that hold a manifest, sorted."""
        root = self.settings.templates_dir
        if not root.is_dir():
            return []
        return sorted(p.name for p in root.iterdir() if re.match(SLUG, p.name) and (p / MANIFEST).is_file())

    def template(self, name: str) -> Template:
        """A loaded template (cached for the app's life); ApiError 404 when there is none by that name."""
        cached = self._templates.get(name)
        if cached is not None:
            return cached
        if not re.match(SLUG, name) or not (self.settings.templates_dir / name / MANIFEST).is_file():
            raise ApiError(404, "template_not_found", f"no template named {name!r}")
        try:
            template = load_template(name, self.settings)
        except TemplateError as exc:
            message = template_message(exc, self.settings.templates_dir)
            raise ApiError(422, "template_error", f"template {name!r} is broken: {message}") from None
        self._templates[name] = template
        return template

    def retention_policy(self) -> dict[str, int]:
        """Template name -> ``retention_days`` of every installed template that sets it (a broken
        template is skipped: its outputs are kept)."""
        policy = {}
        for name in self.template_names():
            try:
                days = self.template(name).manifest.retention_days
            except ApiError:
                continue
            if days:
                policy[name] = days
        return policy

    def close(self) -> None:
        """Stop the dispatcher and the render processes (queued video jobs stay ``queued`` in the
        store) and close connections."""
        stop_background(self.settings)  # campaigns of a broker-less server stop within a batch, resumable
        self.dispatcher.stop()
        self.events.close()  # batches handed over are stored before the store closes
        self.pages.close()  # a page renders in well under a second: let it finish
        self.videos.close(wait=False)
        self.streams.close()
        with self._lock:
            store, self._store = self._store, None
            storage, self._storage = self._storage, None
        if store is not None:
            store.close()
        if storage is not None:
            storage.close()
