"""Request bodies of the Assets API (responses are built in `render.py`)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, StrictBool


class AssetPatch(BaseModel):
    """Only the fields present in the body change (`model_fields_set`); an explicit null clears
    description and altText. Lengths are checked by the service, to answer with the spec's
    codes (asset_description_too_long, ...)."""

    model_config = ConfigDict(extra="ignore")

    description: str | None = None
    alt_text: str | None = Field(default=None, alias="altText")
    original_file_name: str | None = Field(default=None, alias="originalFileName")
    is_public: StrictBool | None = Field(default=None, alias="isPublic")


class DeleteBody(BaseModel):
    model_config = ConfigDict(extra="ignore")

    commit_message: str | None = Field(default=None, alias="commitMessage", max_length=1000)


class BatchDeleteBody(BaseModel):
    model_config = ConfigDict(extra="ignore")

    ids: list[str] | None = None
    commit_message: str | None = Field(default=None, alias="commitMessage", max_length=1000)
