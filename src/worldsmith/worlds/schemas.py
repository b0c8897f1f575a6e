"""World API request and response bodies, field for field as the published OpenAPI document.

Requests use the `public_api.schemas.prompts` shapes (media by reference); the `world_prompt`
of a World in responses uses the `schema.api_schema` shapes (media inline as Content).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

ModelName = Literal["Marble 0.1-mini", "Marble 0.1-plus"]
MediaAssetKind = Literal["image", "video"]


# ---- media assets -----------------------------------------------------------------------


class MediaAssetPrepareUploadRequest(BaseModel):
    file_name: str
    kind: MediaAssetKind
    extension: str | None = None
    metadata: dict[str, Any] | None = None


class MediaAsset(BaseModel):
    media_asset_id: str
    file_name: str
    kind: MediaAssetKind
    extension: str | None = None
    metadata: dict[str, Any] | None = None
    created_at: datetime
    updated_at: datetime | None = None


class UploadUrlInfo(BaseModel):
    upload_url: str
    upload_method: str
    required_headers: dict[str, str] | None = None
    curl_example: str | None = None


class MediaAssetPrepareUploadResponse(BaseModel):
    media_asset: MediaAsset
    upload_info: UploadUrlInfo


# ---- prompts (requests) -------------------------------------------------------------------


class MediaAssetReference(BaseModel):
    source: Literal["media_asset"] = "media_asset"
    media_asset_id: str


class UriReference(BaseModel):
    source: Literal["uri"] = "uri"
    uri: str


class DataBase64Reference(BaseModel):
    source: Literal["data_base64"] = "data_base64"
    data_base64: str
    extension: str | None = None


ContentReference = Annotated[
    MediaAssetReference | UriReference | DataBase64Reference, Field(discriminator="source")
]


class WorldTextPromptIn(BaseModel):
    type: Literal["text"] = "text"
    text_prompt: str | None = None
    disable_recaption: bool | None = None


class ImagePromptIn(BaseModel):
    type: Literal["image"] = "image"
    image_prompt: ContentReference
    is_pano: bool | None = None
    text_prompt: str | None = None
    disable_recaption: bool | None = None


class SphericallyLocatedContentIn(BaseModel):
    content: ContentReference
    azimuth: float | None = None


class MultiImagePromptIn(BaseModel):
    type: Literal["multi-image"] = "multi-image"
    multi_image_prompt: list[SphericallyLocatedContentIn]
    reconstruct_images: bool = False
    text_prompt: str | None = None
    disable_recaption: bool | None = None


class VideoPromptIn(BaseModel):
    type: Literal["video"] = "video"
    video_prompt: ContentReference
    text_prompt: str | None = None
    disable_recaption: bool | None = None


WorldPromptIn = Annotated[
    WorldTextPromptIn | ImagePromptIn | MultiImagePromptIn | VideoPromptIn,
    Field(discriminator="type"),
]


class Permission(BaseModel):
    allowed_readers: list[str] = Field(default_factory=list)
    allowed_writers: list[str] = Field(default_factory=list)
    public: bool = False


class WorldsGenerateRequest(BaseModel):
    world_prompt: WorldPromptIn
    display_name: str | None = None
    model: ModelName = "Marble 0.1-plus"
    seed: Annotated[int, Field(ge=0)] | None = None
    tags: list[str] | None = None
    permission: Permission = Field(default_factory=Permission)


# ---- worlds (responses) -------------------------------------------------------------------


class ImageryAssets(BaseModel):
    pano_url: str | None = None


class MeshAssets(BaseModel):
    collider_mesh_url: str | None = None


class SplatAssets(BaseModel):
    spz_urls: dict[str, str] | None = None
    # As newer Marble worlds carry: metric = raw * metric_scale_factor, then y - offset.
    semantics_metadata: dict[str, Any] | None = None


class WorldAssets(BaseModel):
    caption: str | None = None
    imagery: ImageryAssets | None = None
    mesh: MeshAssets | None = None
    splats: SplatAssets | None = None
    thumbnail_url: str | None = None


class World(BaseModel):
    world_id: str
    display_name: str
    world_marble_url: str
    assets: WorldAssets | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    model: str | None = None
    permission: Permission | None = None
    tags: list[str] | None = None
    # Rendered from storage by the service in the response shape (Content with a uri).
    world_prompt: dict[str, Any] | None = None


class OperationError(BaseModel):
    code: int | None = None
    message: str | None = None


class Operation(BaseModel):
    """Both GenerateWorldResponse and GetOperationResponse[World]."""

    operation_id: str
    done: bool
    created_at: datetime | None = None
    updated_at: datetime | None = None
    expires_at: datetime | None = None
    error: OperationError | None = None
    metadata: dict[str, Any] | None = None
    response: World | None = None


class ListWorldsRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")

    page_size: Annotated[int, Field(ge=1, le=100)] = 20
    page_token: str | None = None
    status: Literal["SUCCEEDED", "PENDING", "FAILED", "RUNNING"] | None = None
    model: ModelName | None = None
    tags: list[str] | None = None
    is_public: bool | None = None
    created_after: datetime | None = None
    created_before: datetime | None = None
    sort_by: Literal["created_at", "updated_at"] = "created_at"

    @field_validator("created_after", "created_before")
    @classmethod
    def _assume_utc(cls, value: datetime | None) -> datetime | None:
        """A timestamp without an offset is taken as UTC."""
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value


class ListWorldsResponse(BaseModel):
    worlds: list[World]
    next_page_token: str | None = None
