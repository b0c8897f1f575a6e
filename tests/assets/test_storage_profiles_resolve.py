"""Choosing a store: an explicit profile, else the account's default, else the configured
store; and finding the store an existing asset's file lives in."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import TestAccount
from tests.s3_server import ACCESS_KEY_ID, REGION, SECRET_ACCESS_KEY, S3Bucket, s3_bucket, s3_server  # noqa: F401
from worldsmith.assets.errors import AssetsError
from worldsmith.assets.storage_profiles.service import (
    ResolvedStore,
    resolve_store,
    store_for_asset,
)
from worldsmith.core.container import Container
from worldsmith.core.ids import new_uuid
from worldsmith.core.models.asset import Asset
from worldsmith.core.storage.git_repo import GitRepoObjectStore
from worldsmith.core.storage.local import LocalObjectStore
from worldsmith.core.storage.s3 import S3ObjectStore

API = "/api/v1/storage-profiles"


async def create(client: httpx.AsyncClient, who: TestAccount, body: dict[str, Any]) -> str:
    response = await client.post(API, json=body, headers=who.headers)
    assert response.status_code == 201, response.text
    pid: str = response.json()["data"]["id"]
    return pid


async def resolve(container: Container, owner_id: str, profile_id: str | None) -> ResolvedStore:
    async with container.db.read() as session:
        return await resolve_store(session, container, owner_id, profile_id)


def git(*args: str) -> str:
    done = subprocess.run(["git", *args], capture_output=True, text=True, check=True)
    return done.stdout


def s3_config(bucket: S3Bucket, prefix: str) -> dict[str, str]:
    return {
        "bucket": bucket.name,
        "prefix": prefix,
        "endpointUrl": bucket.endpoint_url,
        "region": REGION,
        "accessKeyId": ACCESS_KEY_ID,
        "secretAccessKey": SECRET_ACCESS_KEY,
    }


async def test_precedence(
    client: httpx.AsyncClient,
    account: TestAccount,
    other_account: TestAccount,
    container: Container,
    s3_bucket: S3Bucket,  # noqa: F811
    tmp_path: Path,
) -> None:
    owner = account.account_id
    # nothing configured: the server's store
    configured = await resolve(container, owner, None)
    assert configured.store is container.store
    assert configured.profile_id is None and configured.provider == "local"

    s3_id = await create(
        client, account, {"name": "Bucket", "type": "s3", "config": s3_config(s3_bucket, "p")}
    )
    local_id = await create(
        client,
        account,
        {"name": "Disk", "type": "local", "config": {"path": "team-a"}, "isDefault": True},
    )

    # the default profile
    default = await resolve(container, owner, None)
    assert default.profile_id == local_id and default.provider == "local"
    assert isinstance(default.store, LocalObjectStore)
    assert default.store.root == (container.settings.objects_dir / "team-a").resolve()
    src = tmp_path / "a.png"
    src.write_bytes(b"local bytes")
    await default.store.put_file("assets/a.png", src, "image/png")
    assert (container.settings.objects_dir / "team-a/assets/a.png").read_bytes() == b"local bytes"
    # served by the signed storage routes under the container's store
    url = default.store.download_url("assets/a.png", expires_in=60)
    fetched = await client.get(url)
    assert fetched.status_code == 200 and fetched.content == b"local bytes"

    # an explicit profile wins over the default
    explicit = await resolve(container, owner, s3_id)
    assert explicit.profile_id == s3_id and explicit.provider == "s3"
    assert isinstance(explicit.store, S3ObjectStore)
    src.write_bytes(b"bucket bytes")
    stored = await explicit.store.put_file("assets/b.png", src, "image/png")
    assert stored.size == len(b"bucket bytes")
    assert s3_bucket.keys() == ["p/assets/b.png"]
    assert s3_bucket.read("p/assets/b.png") == b"bucket bytes"
    # built once per profile version
    assert (await resolve(container, owner, s3_id)).store is explicit.store

    # someone else's profile is not found; so is an unknown id
    for pid in (s3_id, new_uuid()):
        with pytest.raises(AssetsError) as caught:
            await resolve(container, other_account.account_id, pid)
        assert caught.value.code == "storage_profile_not_found"
    # and another account's default does not apply to them
    assert (await resolve(container, other_account.account_id, None)).store is container.store

    # a changed profile gets a new store
    await client.patch(f"{API}/{s3_id}", json={"config": {"prefix": "q"}}, headers=account.headers)
    changed = await resolve(container, owner, s3_id)
    assert changed.store is not explicit.store
    assert isinstance(changed.store, S3ObjectStore) and changed.store.prefix == "q"


async def test_git_repo_profile(
    client: httpx.AsyncClient, account: TestAccount, container: Container, tmp_path: Path
) -> None:
    bare = container.settings.data_dir / "remotes" / "media.git"
    git("init", "-q", "--bare", str(bare))
    pid = await create(
        client,
        account,
        {
            "name": "Repo",
            "type": "git-repo",
            "config": {"repository": bare.as_uri(), "branch": "main", "author": "Bot <b@x.io>"},
            "isDefault": True,
        },
    )
    resolved = await resolve(container, account.account_id, None)
    assert resolved.provider == "git-repo" and resolved.profile_id == pid
    assert isinstance(resolved.store, GitRepoObjectStore)
    assert not resolved.store.capabilities.public_urls
    src = tmp_path / "x.png"
    src.write_bytes(b"xx")
    await resolved.store.put_file("assets/x.png", src, "image/png", commit_message="Upload x")
    log = git("--git-dir", str(bare), "log", "--format=%an <%ae>|%s", "main").splitlines()
    assert log == ["Bot <b@x.io>|Upload x"]
    cache = container.settings.data_dir / "git-cache"
    assert resolved.store.worktree.is_relative_to(cache.resolve())


async def test_store_for_asset(
    client: httpx.AsyncClient, account: TestAccount, container: Container
) -> None:
    pid = await create(client, account, {"name": "D", "type": "local", "config": {"path": "d"}})

    def asset(provider: str, profile_id: str | None) -> Asset:
        return Asset(
            id=new_uuid(),
            owner_id=account.account_id,
            storage_provider=provider,
            storage_profile_id=profile_id,
            storage_key="assets/k.png",
        )

    async with container.db.read() as session:
        store = await store_for_asset(session, container, asset("local", pid))
        assert isinstance(store, LocalObjectStore) and store.root.name == "d"
        # no profile: the configured store, when it is the same kind
        assert await store_for_asset(session, container, asset("local", None)) is container.store
        # the profile is gone: the configured store if the provider matches...
        gone = new_uuid()
        assert await store_for_asset(session, container, asset("local", gone)) is container.store
        # ...else the file cannot be reached
        for provider, profile_id in (("s3", gone), ("git-repo", None)):
            with pytest.raises(AssetsError) as caught:
                await store_for_asset(session, container, asset(provider, profile_id))
            assert caught.value.code == "storage_unavailable"
