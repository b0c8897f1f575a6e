"""The long-lived objects one process needs, built once from settings and shared by the HTTP
layer and the workers."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from worldsmith.config import Settings
from worldsmith.core.db import Database
from worldsmith.core.security import UrlSigner
from worldsmith.core.storage.local import LocalObjectStore
from worldsmith.core.storage.uploads import UploadHooks

if TYPE_CHECKING:
    from worldsmith.core.jobs.queue import JobQueue


@dataclass
class Container:
    settings: Settings
    db: Database
    store: LocalObjectStore
    signer: UrlSigner
    upload_hooks: UploadHooks = field(default_factory=UploadHooks)
    queue: JobQueue | None = None

    @classmethod
    def build(cls, settings: Settings) -> Container:
        signer = UrlSigner(settings.resolved_secret_key())
        store = LocalObjectStore(settings.objects_dir, signer, settings.public_base())
        return cls(
            settings=settings, db=Database.from_settings(settings), store=store, signer=signer
        )

    def require_queue(self) -> JobQueue:
        if self.queue is None:
            raise RuntimeError("no job queue configured")
        return self.queue
