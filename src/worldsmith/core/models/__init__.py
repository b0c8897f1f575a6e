"""All ORM models; importing this module registers every table on `Base.metadata`."""

from worldsmith.core.models.account import Account, ApiKey, LedgerEntry
from worldsmith.core.models.asset import (
    Asset,
    AssetAiResult,
    AssetDerivative,
    SkillExecution,
    SkillStepResult,
    StorageProfile,
)
from worldsmith.core.models.base import Base
from worldsmith.core.models.job import Job, JobStatus
from worldsmith.core.models.world import MediaAsset, World, WorldTag

__all__ = [
    "Account",
    "ApiKey",
    "Asset",
    "AssetAiResult",
    "AssetDerivative",
    "Base",
    "Job",
    "JobStatus",
    "LedgerEntry",
    "MediaAsset",
    "SkillExecution",
    "SkillStepResult",
    "StorageProfile",
    "World",
    "WorldTag",
]
