"""The long-lived objects one process needs, built once from settings and shared by the HTTP
layer and the workers."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from worldsmith.config import Settings
from worldsmith.core.db import Database
from worldsmith.core.security import UrlSigner
from worldsmith.core.storage.base import ObjectStore
from worldsmith.core.storage.factory import build_store
from worldsmith.core.storage.uploads import UploadHooks
from worldsmith.core.ttl_cache import TTLCache

if TYPE_CHECKING:
    from worldsmith.core.jobs.queue import JobQueue


@dataclass
class Container:
    settings: Settings
    db: Database
    store: ObjectStore
    signer: UrlSigner
    upload_hooks: UploadHooks = field(default_factory=UploadHooks)
    queue: JobQueue | None = None
    caches: dict[str, TTLCache[Any]] = field(default_factory=dict)

    def cache(self, name: str, ttl_seconds: float) -> TTLCache[Any]:
        """A per-process TTL cache shared by every request of this process."""
        found = self.caches.get(name)
        if found is None:
            found = self.caches[name] = TTLCache(ttl_seconds)
        return found

    @classmethod
    def build(cls, settings: Settings) -> Container:
        signer = UrlSigner(settings.resolved_secret_key())
        store = build_store(settings, signer)
        return cls(
            settings=settings, db=Database.from_settings(settings), store=store, signer=signer
        )

    def require_queue(self) -> JobQueue:
        if self.queue is None:
            raise RuntimeError("no job queue configured")
        return self.queue
