"""Storage provider profiles: where an account's asset files go (`local`, `s3` or `git-repo`),
their validation, and choosing the store for an upload or for an existing asset.

A profile's `config` is stored as the API takes it (camelCase keys), validated per type:

- `local`: `path` (optional): a folder inside the data dir. A relative path is taken under
  `<data_dir>/objects`; an absolute one must lie inside the data dir. Default: the data dir's
  objects folder. Files in the folder the signed storage routes serve get download URLs;
  others are streamed through the API.
- `s3`: `bucket` (required), `prefix`, `endpointUrl`, `region`, `publicBaseUrl`, and
  `accessKeyId` + `secretAccessKey` (required: a profile never borrows the server's own S3
  credentials). Keys are masked in every response.
- `git-repo`: `repository` (required): a URL (https, http, ssh, git, file, or scp-like
  `user@host:path`) or a path on disk inside the data dir (relative: under
  `<data_dir>/git-repos`); `branch`, `pathPrefix`, `author` ("Name <email>").
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from sqlalchemy import exists, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from worldsmith.assets.errors import AssetsError
from worldsmith.core.container import Container
from worldsmith.core.ids import new_uuid
from worldsmith.core.models.asset import Asset, StorageProfile
from worldsmith.core.storage.base import InvalidKey, ObjectStore, StoreCapabilities, check_key
from worldsmith.core.storage.git_repo import (
    DEFAULT_AUTHOR_EMAIL,
    DEFAULT_AUTHOR_NAME,
    REMOTE_SCHEMES,
    GitRepoObjectStore,
    is_remote_repository,
)
from worldsmith.core.storage.local import LocalObjectStore

TYPES = ("local", "s3", "git-repo")
TYPE_CAPABILITIES: dict[str, StoreCapabilities] = {
    "local": StoreCapabilities(public_urls=True, versioning=False, write=True),
    "s3": StoreCapabilities(public_urls=True, versioning=False, write=True),
    "git-repo": GitRepoObjectStore.capabilities,
}
TYPE_DESCRIPTIONS = {
    "local": "A folder on this server's disk, inside its data directory.",
    "s3": "An S3-compatible bucket (AWS S3, MinIO, R2, ...), under an optional key prefix.",
    "git-repo": "A git repository (local or remote): every upload and delete is a commit.",
}
CONFIG_KEYS: dict[str, tuple[str, ...]] = {
    "local": ("path",),
    "s3": (
        "bucket",
        "prefix",
        "endpointUrl",
        "region",
        "publicBaseUrl",
        "accessKeyId",
        "secretAccessKey",
    ),
    "git-repo": ("repository", "branch", "pathPrefix", "author"),
}
SECRET_KEYS = ("accessKeyId", "secretAccessKey")
# Fields that say where files are: changing them would orphan the files of existing assets.
LOCATION_KEYS: dict[str, tuple[str, ...]] = {
    "local": ("path",),
    "s3": ("bucket", "prefix", "endpointUrl"),
    "git-repo": ("repository", "branch", "pathPrefix"),
}
MASK = "********"
MAX_NAME = 200
MAX_VALUE = 2000
STORE_CACHE = "storage_profile_stores"
STORE_CACHE_TTL = 3600.0

_BUCKET_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._\-]{1,254}$")
_REGION_RE = re.compile(r"^[A-Za-z0-9\-]{1,64}$")
_BRANCH_RE = re.compile(
    r"^(?!-)(?!/)(?!.*\.\.)(?!.*//)(?!.*@\{)(?!.*\.lock$)[A-Za-z0-9._/\-]+(?<!/)$"
)
_AUTHOR_RE = re.compile(r"^\s*([^<>\n]+?)\s*<([^<>\s@]+@[^<>\s]+)>\s*$")
_SCP_RE = re.compile(r"^[A-Za-z0-9._\-]+@[A-Za-z0-9.\-]+:[^\s]+$")


def _invalid(message: str) -> AssetsError:
    return AssetsError("storage_profile_invalid", message)


def _not_found(profile_id: str) -> AssetsError:
    return AssetsError("storage_profile_not_found", f"no storage profile {profile_id}")


# -- validation ------------------------------------------------------------------------------


def _string(config: dict[str, Any], key: str, *, required: bool = False) -> str | None:
    value = config.get(key)
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise _invalid(f"config.{key} is required")
        return None
    if not isinstance(value, str):
        raise _invalid(f"config.{key} must be a string")
    if len(value) > MAX_VALUE:
        raise _invalid(f"config.{key} is too long (at most {MAX_VALUE} characters)")
    return value.strip()


def _inside(path: Path, folder: Path) -> bool:
    return path == folder or path.is_relative_to(folder)


def _check_data_path(container: Container, path: Path, field: str) -> Path:
    """`path` resolved (symlinks too), refused unless it lies inside the data dir and outside
    the server's own files."""
    settings = container.settings
    data_dir = settings.data_dir.resolve()
    resolved = path.resolve()
    if not resolved.is_relative_to(data_dir) or resolved == data_dir:
        raise _invalid(f"config.{field} must be a folder inside the server's data directory")
    reserved = [settings.work_dir.resolve(), git_cache_dir(container).resolve()]
    if any(_inside(resolved, folder) for folder in reserved) or resolved.name.startswith(
        ("worldsmith.db", "secret.key")
    ):
        raise _invalid(f"config.{field} names a folder the server keeps for itself")
    return resolved


def _local_root(container: Container, path: str | None) -> Path:
    objects = container.settings.objects_dir
    if path is None:
        return objects.resolve()
    candidate = Path(path)
    if not candidate.is_absolute():
        if ".." in candidate.parts:
            raise _invalid("config.path must not contain '..'")
        candidate = objects / candidate
    return _check_data_path(container, candidate, "path")


def git_cache_dir(container: Container) -> Path:
    settings = container.settings
    return settings.assets_git_cache_dir or settings.data_dir / "git-cache"


def _git_local_path(container: Container, repository: str) -> Path:
    candidate = Path(repository).expanduser()
    if not candidate.is_absolute():
        if ".." in candidate.parts:
            raise _invalid("config.repository must not contain '..'")
        candidate = container.settings.data_dir / "git-repos" / candidate
    return _check_data_path(container, candidate, "repository")


def _normalize_prefix(config: dict[str, Any], key: str, what: str) -> None:
    """Strip slashes from an optional key prefix and check it is a valid object key."""
    prefix = config.get(key)
    if prefix is None:
        return
    config[key] = prefix = prefix.strip("/")
    try:
        check_key(prefix)
    except InvalidKey as exc:
        raise _invalid(f"config.{key} {prefix!r} is not a valid {what}") from exc


def _check_git_repository(container: Container, repository: str) -> None:
    if repository.startswith("-") or any(ch.isspace() for ch in repository):
        raise _invalid("config.repository is not a valid path or URL")
    if "://" in repository:
        parts = urlsplit(repository)
        scheme = parts.scheme.lower()
        if scheme not in REMOTE_SCHEMES:
            raise _invalid(
                f"config.repository: unsupported URL scheme {parts.scheme!r} "
                f"(use {', '.join(REMOTE_SCHEMES)})"
            )
        if scheme == "file":
            if parts.netloc not in ("", "localhost") or not parts.path:
                raise _invalid("config.repository: use file:///absolute/path")
            _check_data_path(container, Path(parts.path), "repository")
        elif not parts.hostname:
            raise _invalid("config.repository: the URL has no host")
    elif is_remote_repository(repository):
        if not _SCP_RE.match(repository):
            raise _invalid("config.repository is not a valid user@host:path address")
    else:
        _git_local_path(container, repository)


def validate_config(container: Container, kind: str, raw: Any) -> dict[str, Any]:
    """The profile's config, cleaned (unknown keys refused, blanks dropped), or
    storage_profile_invalid with what is wrong."""
    if kind not in TYPES:
        raise _invalid(f"type must be one of {', '.join(TYPES)}")
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise _invalid("config must be an object")
    unknown = sorted(set(raw) - set(CONFIG_KEYS[kind]))
    if unknown:
        raise _invalid(
            f"config for type {kind} does not take {', '.join(unknown)} "
            f"(it takes {', '.join(CONFIG_KEYS[kind])})"
        )
    config: dict[str, Any] = {}
    for key in CONFIG_KEYS[kind]:
        value = _string(raw, key)
        if value is not None:
            config[key] = value

    if kind == "local":
        _local_root(container, config.get("path"))
    elif kind == "s3":
        _string(config, "bucket", required=True)
        if not _BUCKET_RE.match(config["bucket"]):
            raise _invalid("config.bucket is not a valid bucket name")
        _normalize_prefix(config, "prefix", "key prefix")
        for key in ("endpointUrl", "publicBaseUrl"):
            url = config.get(key)
            if url is not None:
                parts = urlsplit(url)
                if parts.scheme not in ("http", "https") or not parts.netloc:
                    raise _invalid(f"config.{key} must be an http(s) URL")
        region = config.get("region")
        if region is not None and not _REGION_RE.match(region):
            raise _invalid("config.region is not a valid region name")
        if "accessKeyId" not in config or "secretAccessKey" not in config:
            raise _invalid("config.accessKeyId and config.secretAccessKey are required")
    else:
        repository = _string(config, "repository", required=True)
        assert repository is not None
        _check_git_repository(container, repository)
        branch = config.get("branch")
        if branch is not None and not _BRANCH_RE.match(branch):
            raise _invalid("config.branch is not a valid branch name")
        _normalize_prefix(config, "pathPrefix", "folder")
        author = config.get("author")
        if author is not None and not _AUTHOR_RE.match(author):
            raise _invalid('config.author must look like "Name <email@example.com>"')
    return config


def _validate_name(raw: Any) -> str:
    if not isinstance(raw, str) or not raw.strip():
        raise _invalid("name is required")
    name = raw.strip()
    if len(name) > MAX_NAME:
        raise _invalid(f"name is too long (at most {MAX_NAME} characters)")
    return name


def _validate_bool(raw: Any, field: str) -> bool:
    if not isinstance(raw, bool):
        raise _invalid(f"{field} must be true or false")
    return raw


# -- rendering -------------------------------------------------------------------------------


def _mask_url(url: str) -> str:
    """A URL with any user info (a token, a password) masked."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    host = parts.netloc.rpartition("@")[2]
    userinfo = f"{parts.username}:{MASK}" if parts.password is not None else MASK
    return urlunsplit((parts.scheme, f"{userinfo}@{host}", parts.path, parts.query, ""))


def masked_config(profile: StorageProfile) -> dict[str, Any]:
    """The config as responses show it: credentials replaced by a mask."""
    config = dict(profile.config or {})
    for key in SECRET_KEYS:
        if config.get(key):
            value = str(config[key])
            config[key] = MASK + value[-4:] if key == "accessKeyId" and len(value) > 8 else MASK
    repository = config.get("repository")
    if isinstance(repository, str) and "://" in repository:
        config["repository"] = _mask_url(repository)
    return config


def capabilities_of(container: Container, profile: StorageProfile) -> StoreCapabilities:
    if profile.type == "local":
        served = _served_prefix(container, _local_root(container, profile.config.get("path")))
        return StoreCapabilities(public_urls=served is not None, versioning=False, write=True)
    return TYPE_CAPABILITIES[profile.type]


def capabilities_json(capabilities: StoreCapabilities) -> dict[str, bool]:
    return {
        "publicUrls": capabilities.public_urls,
        "versioning": capabilities.versioning,
        "write": capabilities.write,
    }


def render_profile(container: Container, profile: StorageProfile) -> dict[str, Any]:
    return {
        "id": profile.id,
        "name": profile.name,
        "type": profile.type,
        "config": masked_config(profile),
        "isDefault": profile.is_default,
        "capabilities": capabilities_json(capabilities_of(container, profile)),
        "createdAtUtc": profile.created_at.isoformat().replace("+00:00", "Z"),
        "updatedAtUtc": profile.updated_at.isoformat().replace("+00:00", "Z"),
    }


def render_types() -> list[dict[str, Any]]:
    return [
        {
            "type": kind,
            "description": TYPE_DESCRIPTIONS[kind],
            "configKeys": list(CONFIG_KEYS[kind]),
            "capabilities": capabilities_json(TYPE_CAPABILITIES[kind]),
        }
        for kind in TYPES
    ]


# -- CRUD ------------------------------------------------------------------------------------


async def list_profiles(session: AsyncSession, owner_id: str) -> list[StorageProfile]:
    rows = await session.scalars(
        select(StorageProfile)
        .where(StorageProfile.owner_id == owner_id)
        .order_by(StorageProfile.created_at, StorageProfile.id)
    )
    return list(rows)


async def get_profile(session: AsyncSession, owner_id: str, profile_id: str) -> StorageProfile:
    profile = await session.get(StorageProfile, profile_id) if len(profile_id) <= 36 else None
    if profile is None or profile.owner_id != owner_id:
        raise _not_found(profile_id)
    return profile


async def _unset_other_defaults(session: AsyncSession, owner_id: str, keep_id: str) -> None:
    await session.execute(
        update(StorageProfile)
        .where(
            StorageProfile.owner_id == owner_id,
            StorageProfile.id != keep_id,
            StorageProfile.is_default.is_(True),
        )
        .values(is_default=False)
        .execution_options(synchronize_session=False)
    )


async def create_profile(
    session: AsyncSession, container: Container, owner_id: str, body: Any
) -> StorageProfile:
    if not isinstance(body, dict):
        raise _invalid("the body must be a JSON object")
    name = _validate_name(body.get("name"))
    kind = body.get("type")
    if not isinstance(kind, str) or kind not in TYPES:
        raise _invalid(f"type must be one of {', '.join(TYPES)}")
    config = validate_config(container, kind, body.get("config"))
    is_default = _validate_bool(body.get("isDefault", False), "isDefault")
    profile = StorageProfile(
        id=new_uuid(),
        owner_id=owner_id,
        name=name,
        type=kind,
        config=config,
        is_default=is_default,
    )
    session.add(profile)
    await session.flush()
    if is_default:
        await _unset_other_defaults(session, owner_id, profile.id)
    await session.refresh(profile)
    return profile


async def profile_in_use(session: AsyncSession, profile_id: str) -> bool:
    found = await session.scalar(select(exists().where(Asset.storage_profile_id == profile_id)))
    return bool(found)


async def update_profile(
    session: AsyncSession, container: Container, owner_id: str, profile_id: str, body: Any
) -> StorageProfile:
    """Patch semantics: only the fields present change. `config` is merged key by key: a key
    set to null is removed, and a masked secret sent back unchanged keeps the stored one."""
    if not isinstance(body, dict):
        raise _invalid("the body must be a JSON object")
    profile = await get_profile(session, owner_id, profile_id)
    unknown = sorted(set(body) - {"name", "type", "config", "isDefault"})
    if unknown:
        raise _invalid(f"unknown fields: {', '.join(unknown)}")
    if "type" in body and body["type"] != profile.type:
        raise _invalid("type cannot be changed: create a new profile")
    if "name" in body:
        profile.name = _validate_name(body["name"])
    if "config" in body:
        patch = body["config"]
        if not isinstance(patch, dict):
            raise _invalid("config must be an object")
        merged = dict(profile.config or {})
        for key, value in patch.items():
            if value is None:
                merged.pop(key, None)
            elif key in SECRET_KEYS and isinstance(value, str) and value.startswith(MASK):
                continue  # the masked value a GET showed: keep the secret
            else:
                merged[key] = value
        config = validate_config(container, profile.type, merged)
        old = profile.config or {}
        moved = [k for k in LOCATION_KEYS[profile.type] if old.get(k) != config.get(k)]
        if moved and await profile_in_use(session, profile.id):
            raise AssetsError(
                "storage_profile_in_use",
                f"{', '.join(moved)} cannot change while assets are stored with this profile",
            )
        profile.config = config
    if "isDefault" in body:
        profile.is_default = _validate_bool(body["isDefault"], "isDefault")
    await session.flush()
    if profile.is_default:
        await _unset_other_defaults(session, owner_id, profile.id)
    await session.refresh(profile)
    return profile


async def delete_profile(
    session: AsyncSession, container: Container, owner_id: str, profile_id: str
) -> StorageProfile:
    profile = await get_profile(session, owner_id, profile_id)
    if await profile_in_use(session, profile.id):
        raise AssetsError(
            "storage_profile_in_use",
            "assets are stored with this profile: delete them first",
        )
    await session.delete(profile)
    await session.flush()
    return profile


# -- choosing a store ------------------------------------------------------------------------


@dataclass
class ResolvedStore:
    store: ObjectStore
    profile_id: str | None
    provider: str  # local | s3 | git-repo


def provider_of(store: ObjectStore) -> str:
    if isinstance(store, LocalObjectStore):
        return "local"
    if isinstance(store, GitRepoObjectStore):
        return "git-repo"
    return "s3"


def _served_prefix(container: Container, root: Path) -> str | None:
    """Where `root` lies inside the folder the signed storage routes serve, or None."""
    served = container.store
    if not isinstance(served, LocalObjectStore):
        return None
    if root == served.root:
        return ""
    if root.is_relative_to(served.root):
        prefix = root.relative_to(served.root).as_posix()
        try:
            check_key(prefix)
        except InvalidKey:
            return None
        return prefix
    return None


def build_profile_store(container: Container, profile: StorageProfile) -> ObjectStore:
    """A store for the profile's config (raises ValueError when it cannot be built)."""
    config = profile.config or {}
    if profile.type == "local":
        root = _local_root(container, config.get("path"))
        served = container.store
        if isinstance(served, LocalObjectStore) and root == served.root:
            return served
        return LocalObjectStore(
            root,
            container.signer,
            container.settings.public_base(),
            url_key_prefix=_served_prefix(container, root),
        )
    if profile.type == "s3":
        from worldsmith.core.storage.s3 import S3ObjectStore, make_s3_client_for

        client = make_s3_client_for(
            endpoint_url=config.get("endpointUrl"),
            region=config.get("region"),
            access_key_id=config.get("accessKeyId"),
            secret_access_key=config.get("secretAccessKey"),
        )
        return S3ObjectStore(
            client,
            config["bucket"],
            config.get("prefix", ""),
            public_base_url=config.get("publicBaseUrl"),
        )
    if profile.type == "git-repo":
        repository = config["repository"]
        if not is_remote_repository(repository):
            repository = str(_git_local_path(container, repository))
        author_name, author_email = DEFAULT_AUTHOR_NAME, DEFAULT_AUTHOR_EMAIL
        match = _AUTHOR_RE.match(config.get("author") or "")
        if match:
            author_name, author_email = match.group(1), match.group(2)
        return GitRepoObjectStore(
            repository,
            cache_dir=git_cache_dir(container),
            branch=config.get("branch"),
            path_prefix=config.get("pathPrefix", ""),
            author_name=author_name,
            author_email=author_email,
        )
    raise ValueError(f"unknown storage profile type {profile.type!r}")


def store_for_profile(container: Container, profile: StorageProfile) -> ObjectStore:
    """The profile's store, built once per process per version of the profile."""
    cache = container.cache(STORE_CACHE, STORE_CACHE_TTL)
    key = f"{profile.id}@{profile.updated_at.isoformat()}"
    store: ObjectStore | None = cache.get(key)
    if store is None:
        try:
            store = build_profile_store(container, profile)
        except (ValueError, AssetsError) as exc:
            message = exc.message if isinstance(exc, AssetsError) else str(exc)
            raise AssetsError(
                "storage_unavailable", f"storage profile {profile.id} cannot be used: {message}"
            ) from exc
        cache.put(key, store)
    return store


async def resolve_store(
    session: AsyncSession, container: Container, owner_id: str, profile_id: str | None
) -> ResolvedStore:
    """The store a new upload goes to: the given profile (the owner's, else
    storage_profile_not_found), else the account's default profile, else the configured
    store."""
    if profile_id is not None:
        profile: StorageProfile | None = await get_profile(session, owner_id, profile_id)
    else:
        profile = await session.scalar(
            select(StorageProfile)
            .where(StorageProfile.owner_id == owner_id, StorageProfile.is_default.is_(True))
            .order_by(StorageProfile.updated_at.desc())
            .limit(1)
        )
    if profile is None:
        return ResolvedStore(container.store, None, provider_of(container.store))
    return ResolvedStore(store_for_profile(container, profile), profile.id, profile.type)


async def store_for_asset(session: AsyncSession, container: Container, asset: Asset) -> ObjectStore:
    """The store an existing asset's file lives in."""
    if asset.storage_profile_id is not None:
        profile = await session.get(StorageProfile, asset.storage_profile_id)
        if profile is not None and profile.owner_id == asset.owner_id:
            return store_for_profile(container, profile)
    if asset.storage_provider == provider_of(container.store):
        return container.store
    raise AssetsError(
        "storage_unavailable",
        f"the {asset.storage_provider} storage that holds this asset's file is not available",
    )
