"""All settings in one place: environment variables with the `WORLDSMITH_` prefix."""

from __future__ import annotations

import secrets
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

MB = 1_000_000


class WorldPrice(BaseSettings):
    """Credits for one world: the panorama step (0 when the input already is a panorama) and the
    world step. Defaults follow Marble's public pricing ($1 = 1,250 credits)."""

    pano_credits_single: int = 80  # text and image input
    pano_credits_multi: int = 100  # multi-image and video input
    world_credits: int = 1500


def _default_world_prices() -> dict[str, WorldPrice]:
    return {
        "Marble 0.1-plus": WorldPrice(world_credits=1500),
        "Marble 0.1-mini": WorldPrice(world_credits=150),
    }


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="WORLDSMITH_", env_nested_delimiter="__")

    data_dir: Path = Path("./data")
    public_url: str = "http://127.0.0.1:8000"
    database_url: str | None = None  # default: sqlite in data_dir
    secret_key: str | None = None  # default: generated once and kept in data_dir/secret.key

    # Object storage: a local folder (default) or `s3://bucket/prefix` on any S3-compatible
    # server. Credentials and region fall back to the standard AWS variables and files.
    storage_url: str | None = None
    s3_endpoint_url: str | None = None
    s3_region: str | None = None
    s3_access_key_id: str | None = None
    s3_secret_access_key: str | None = None
    s3_public_base_url: str | None = None  # e.g. a CDN in front of the bucket, for public objects

    # Jobs in scale-out mode: "auto" uses Procrastinate on PostgreSQL, the embedded queue on
    # SQLite; "embedded" forces the in-process queue.
    queue: Literal["auto", "embedded", "procrastinate"] = "auto"
    # The queue world jobs are sent to: "cpu" for the builtin engine; a GPU model adapter
    # would be routed to a "gpu" worker pool.
    world_queue: str = "cpu"

    # Jobs
    embedded_workers: int = 1
    job_lease_seconds: float = 60.0
    job_heartbeat_seconds: float = 10.0
    job_poll_seconds: float = 2.0
    job_max_attempts: int = 3
    engine_processes: int = 1  # size of the process pool CPU-heavy engine work runs in
    # 0 keeps worlds' files for good; N deletes them N days after the world was submitted.
    artifact_ttl_days: int = 0

    # Money
    usd_per_credit_micro: int = 800  # $1 = 1,250 credits
    world_prices: dict[str, WorldPrice] = Field(default_factory=_default_world_prices)

    # Limits (bytes)
    max_text_prompt_chars: int = 2000
    max_inline_bytes: int = 10 * MB
    max_uri_bytes: int = 20 * MB
    max_image_bytes: int = 20 * MB
    max_video_bytes: int = 100 * MB
    max_video_seconds: float = 30.0
    fetch_timeout_seconds: float = 30.0
    fetch_allow_private: bool = False  # only for local testing: lets `uri` sources reach 127.0.0.1

    # Signed URLs
    upload_url_ttl_seconds: int = 3600
    download_url_ttl_seconds: int = 24 * 3600

    server: Literal["granian", "uvicorn"] = "granian"

    # JWT bearer tokens (Assets API and later surfaces), besides API keys. `sub` is the
    # account id. HS256 with a shared secret and/or RS256 with a PEM public key.
    jwt_hs256_secret: str | None = None
    jwt_rs256_public_key: str | None = None
    jwt_issuer: str | None = None
    jwt_audience: str | None = None

    # Assets API
    assets_max_upload_bytes: int = 25 * MB
    assets_allowed_content_types: list[str] = Field(
        default_factory=lambda: [
            "image/png",
            "image/jpeg",
            "image/gif",
            "image/webp",
            "image/avif",
            "image/bmp",
            "image/tiff",
        ]
    )
    assets_max_pixels: int = 50_000_000  # larger images are refused (decompression bombs)
    assets_default_page_size: int = 20
    assets_max_page_size: int = 100
    assets_skill_wait_seconds: float = 60.0  # how long "run a skill" waits for its job
    assets_git_cache_dir: Path | None = None  # clones of remote git-repo profiles
    # Optional OpenAI-compatible vision endpoint for captions and alt text.
    vision_api_base_url: str | None = None
    vision_api_key: str | None = None
    vision_model: str = "gpt-4o-mini"

    @property
    def sqlite_path(self) -> Path:
        return self.data_dir / "worldsmith.db"

    @property
    def objects_dir(self) -> Path:
        return self.data_dir / "objects"

    @property
    def work_dir(self) -> Path:
        return self.data_dir / "work"

    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{self.sqlite_path.resolve()}"

    def resolved_secret_key(self) -> bytes:
        """The HMAC key for signed URLs. Embedded installs get one generated on first use and
        kept beside the data, so URLs stay valid across restarts."""
        if self.secret_key:
            return self.secret_key.encode()
        path = self.data_dir / "secret.key"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(".tmp")
            tmp.write_text(secrets.token_urlsafe(48))
            tmp.chmod(0o600)
            tmp.replace(path)
        return path.read_text().strip().encode()

    def public_base(self) -> str:
        return self.public_url.rstrip("/")


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
