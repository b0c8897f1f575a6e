"""The collaborators the asset service calls: storage profiles (which store a new file goes
to, which store holds an existing asset's file) and skills (enrichment jobs)."""

from __future__ import annotations

from pathlib import Path

from worldsmith.assets.skills.service import DEFAULT_UPLOAD_SKILL, start_skill
from worldsmith.assets.storage_profiles.service import resolve_store, store_for_asset
from worldsmith.core.storage.base import ObjectStore, StoredObject

__all__ = [
    "DEFAULT_UPLOAD_SKILL",
    "delete_object",
    "put_object",
    "resolve_store",
    "start_skill",
    "store_for_asset",
]


async def put_object(
    store: ObjectStore, key: str, src: Path, content_type: str, commit_message: str | None
) -> StoredObject:
    return await store.put_file(key, src, content_type, commit_message=commit_message)


async def delete_object(store: ObjectStore, key: str, commit_message: str | None) -> None:
    await store.delete(key, commit_message=commit_message)
