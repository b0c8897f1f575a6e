"""Running skills on assets: starting one (an execution and its job, in the caller's
transaction), the job task that runs its steps in order, and the idempotent writes of
derivatives and AI results (one per asset and kind, however many runs race)."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from worldsmith.assets.errors import AssetsError
from worldsmith.assets.skills import catalog, imaging, vision
from worldsmith.core.clock import utcnow
from worldsmith.core.container import Container
from worldsmith.core.ids import new_id, new_uuid
from worldsmith.core.jobs.context import JobContext, LeaseLost
from worldsmith.core.models import Job, JobStatus
from worldsmith.core.models.asset import (
    Asset,
    AssetAiResult,
    AssetDerivative,
    SkillExecution,
    SkillStepResult,
)
from worldsmith.core.storage.base import ObjectStore
from worldsmith.engines.base import EngineCancelled

log = logging.getLogger(__name__)

DEFAULT_UPLOAD_SKILL = "basic_image_enrich"
JOB_KIND = "asset.skill"
JOB_QUEUE = "cpu"
DUPLICATE_MAX_DISTANCE = 6
ALT_TEXT_MAX = 1000


# --- storage --------------------------------------------------------------------------------


async def asset_store(session: AsyncSession, container: Container, asset: Asset) -> ObjectStore:
    """The store holding this asset's files (its storage profile's, once profiles exist)."""
    try:
        from worldsmith.assets.storage_profiles import service as profiles
    except ImportError:
        return container.store
    store: ObjectStore = await profiles.store_for_asset(session, container, asset)
    return store


def derivative_key(asset_id: str, kind: str, extension: str) -> str:
    return f"assets/{asset_id}/derivatives/{kind}.{extension}"


# --- starting a skill -----------------------------------------------------------------------


async def start_skill(
    session: AsyncSession,
    container: Container,
    asset: Asset,
    skill_name: str,
    parameters: dict[str, Any] | None,
    trigger: str,
) -> SkillExecution:
    """Check the skill and its parameters, then add its execution and job to the caller's
    transaction; the job is dispatched once that transaction commits."""
    skill = catalog.get_skill(skill_name)
    params = catalog.validate_parameters(skill, parameters)
    execution = SkillExecution(
        id=new_uuid(),
        asset_id=asset.id,
        owner_id=asset.owner_id,
        skill_name=skill.name,
        trigger=trigger,
        parameters=params,
        created_at=utcnow(),
    )
    job = Job(
        id=new_id(),
        kind=JOB_KIND,
        queue=JOB_QUEUE,
        owner_id=asset.owner_id,
        subject_id=asset.id.replace("-", ""),  # jobs.subject_id holds 32 characters
        status=JobStatus.QUEUED,
        input={"execution_id": execution.id, "asset_id": asset.id},
        cost_micro_usd=0,
        progress=0.0,
        attempts=0,
        cancel_requested=False,
    )
    execution.job_id = job.id
    session.add(execution)
    session.add(job)
    await session.flush()
    await container.require_queue().enqueue(session, job)
    return execution


async def execution_finished(session: AsyncSession, execution_id: str) -> bool:
    completed = await session.scalar(
        select(SkillExecution.completed_at).where(SkillExecution.id == execution_id)
    )
    return completed is not None


async def wait_for_execution(container: Container, execution_id: str, wait_seconds: float) -> None:
    """Poll until the execution completes; AssetsError skill_timeout after `wait_seconds`."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait_seconds
    delay = 0.05
    while True:
        async with container.db.read() as session:
            if await execution_finished(session, execution_id):
                return
        if loop.time() >= deadline:
            raise AssetsError(
                "skill_timeout",
                f"the skill did not finish within {wait_seconds:g} s; it keeps running, and its "
                "results will appear on the asset",
            )
        await asyncio.sleep(min(delay, max(0.0, deadline - loop.time())))
        delay = min(delay * 1.5, 0.5)


async def step_results(session: AsyncSession, execution_id: str) -> list[SkillStepResult]:
    rows = await session.scalars(
        select(SkillStepResult)
        .where(SkillStepResult.execution_id == execution_id)
        .order_by(SkillStepResult.position)
    )
    return list(rows)


# --- idempotent writes ----------------------------------------------------------------------


def _insert_for(session: AsyncSession, model: Any) -> Any:
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        return postgresql.insert(model)
    if dialect == "sqlite":
        return sqlite.insert(model)
    raise RuntimeError(f"unsupported database dialect {dialect}")


async def upsert_derivative(
    session: AsyncSession,
    asset_id: str,
    kind: str,
    rendered: imaging.RenderedFile,
    key: str,
    size: int,
) -> None:
    """One row per (asset, kind): INSERT … ON CONFLICT DO UPDATE, so racing runs converge."""
    values = {
        "content_type": rendered.content_type,
        "extension": rendered.extension,
        "size_bytes": size,
        "width": rendered.width,
        "height": rendered.height,
        "storage_key": key,
        "created_at": utcnow(),
    }
    stmt = _insert_for(session, AssetDerivative).values(
        id=new_uuid(), asset_id=asset_id, kind=kind, **values
    )
    await session.execute(
        stmt.on_conflict_do_update(index_elements=["asset_id", "kind"], set_=values)
    )


async def upsert_ai_result(
    session: AsyncSession, asset_id: str, kind: str, payload: dict[str, Any]
) -> None:
    values = {"payload_json": json.dumps(payload, ensure_ascii=False), "created_at": utcnow()}
    stmt = _insert_for(session, AssetAiResult).values(
        id=new_uuid(), asset_id=asset_id, kind=kind, **values
    )
    await session.execute(
        stmt.on_conflict_do_update(index_elements=["asset_id", "kind"], set_=values)
    )


# --- the steps ------------------------------------------------------------------------------


class StepFailed(Exception):
    """A step could not do its work; recorded with this message, the next step still runs."""


@dataclass
class RunState:
    container: Container
    ctx: JobContext
    store_or_none: ObjectStore | None
    asset_id: str
    owner_id: str
    storage_key: str
    params: dict[str, Any]
    work_dir: Path
    storage_error: str | None = None
    decoded: imaging.Decoded | None = None
    decode_error: str | None = None
    # Asset columns to set in the final transaction (alt_text only where it is empty).
    asset_updates: dict[str, Any] = field(default_factory=dict)

    @property
    def store(self) -> ObjectStore:
        if self.store_or_none is None:
            raise StepFailed(f"the asset's storage is unavailable: {self.storage_error}")
        return self.store_or_none

    def image(self) -> imaging.Decoded:
        if self.decoded is None:
            raise StepFailed(f"skipped: the image could not be decoded ({self.decode_error})")
        return self.decoded

    def scratch(self, name: str) -> Path:
        path = self.work_dir / name
        path.mkdir(parents=True, exist_ok=True)
        return path


# A step returns an optional note (kept as the step's message even when it succeeds, e.g.
# "the vision endpoint failed; used the builtin analyser") or raises to fail.
Step = Callable[[RunState], Awaitable[str | None]]


async def _decode(state: RunState) -> str | None:
    settings = state.container.settings
    if state.store_or_none is None:
        state.decode_error = f"the asset's storage is unavailable: {state.storage_error}"
        raise StepFailed(state.decode_error)
    try:
        path = await state.store.materialize(state.storage_key, state.scratch("source"))
        state.decoded = await asyncio.to_thread(imaging.decode, path, settings.assets_max_pixels)
    except FileNotFoundError as exc:
        state.decode_error = "the asset's file is missing from storage"
        raise StepFailed(state.decode_error) from exc
    except imaging.ImageDecodeError as exc:
        state.decode_error = str(exc)
        raise StepFailed(state.decode_error) from exc
    state.asset_updates.update(width=state.decoded.width, height=state.decoded.height)
    return None


async def _store_derivative(state: RunState, kind: str, rendered: imaging.RenderedFile) -> None:
    key = derivative_key(state.asset_id, kind, rendered.extension)
    size = rendered.path.stat().st_size
    await state.store.put_file(key, rendered.path, rendered.content_type)
    async with state.container.db.transaction() as session:
        previous = await session.scalar(
            select(AssetDerivative.storage_key).where(
                AssetDerivative.asset_id == state.asset_id, AssetDerivative.kind == kind
            )
        )
        await upsert_derivative(session, state.asset_id, kind, rendered, key, size)
    if previous and previous != key:  # the kind changed format: drop the old file
        try:
            await state.store.delete(previous)
        except Exception:
            log.warning("could not delete replaced derivative %s", previous, exc_info=True)


async def _store_ai_result(state: RunState, kind: str, payload: dict[str, Any]) -> None:
    async with state.container.db.transaction() as session:
        await upsert_ai_result(session, state.asset_id, kind, payload)


async def _thumbnail(state: RunState) -> str | None:
    decoded = state.image()
    rendered = await asyncio.to_thread(imaging.thumbnail, decoded.image, state.scratch("thumb"))
    await _store_derivative(state, "thumbnail", rendered)
    return None


async def _describe(state: RunState, purpose: str) -> tuple[str, str, dict[str, Any], str | None]:
    """(text, source, analysis, note): the vision endpoint's answer when one is configured
    and answers, otherwise the builtin analyser's."""
    decoded = state.image()
    analysis = await asyncio.to_thread(imaging.analyse, decoded.image)
    note = None
    settings = state.container.settings
    if vision.configured(settings):
        jpeg = await asyncio.to_thread(imaging.vision_jpeg, decoded.image)
        try:
            text = await vision.describe(settings, jpeg, purpose)
            return text, "vision", analysis, None
        except vision.VisionError as exc:
            note = f"{exc}; used the builtin analyser instead"
    if purpose == "caption":
        text = imaging.caption_from(analysis)
    else:
        text = imaging.alt_text_from(analysis)
    return text, "builtin", analysis, note


async def _caption(state: RunState) -> str | None:
    text, source, analysis, note = await _describe(state, "caption")
    await _store_ai_result(state, "caption", {"text": text, "source": source, "analysis": analysis})
    return note


async def _alt_text(state: RunState) -> str | None:
    text, source, analysis, note = await _describe(state, "alt-text")
    text = text[:ALT_TEXT_MAX]
    await _store_ai_result(
        state, "alt-text", {"text": text, "source": source, "analysis": analysis}
    )
    state.asset_updates["alt_text_if_empty"] = text
    return note


async def _exif_strip(state: RunState) -> str | None:
    decoded = state.image()
    try:
        rendered = await asyncio.to_thread(imaging.strip_metadata, decoded, state.scratch("strip"))
    except ValueError as exc:
        raise StepFailed(str(exc)) from exc
    digest, size = await asyncio.to_thread(_sha256_and_size, rendered.path)
    await state.store.put_file(state.storage_key, rendered.path, rendered.content_type)
    state.asset_updates.update(
        sha256=digest,
        size_bytes=size,
        content_type=rendered.content_type,
        width=rendered.width,
        height=rendered.height,
    )
    return None


def _sha256_and_size(path: Path) -> tuple[str, int]:
    import hashlib

    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


async def _format_convert(state: RunState) -> str | None:
    decoded = state.image()
    fmt = state.params.get("format", "webp")
    rendered = await asyncio.to_thread(
        imaging.convert, decoded.image, fmt, state.scratch("convert")
    )
    await _store_derivative(state, f"format-{fmt}", rendered)
    return None


async def _watermark(state: RunState) -> str | None:
    decoded = state.image()
    params = state.params
    try:
        rendered = await asyncio.to_thread(
            lambda: imaging.watermark(
                decoded,
                state.scratch("watermark"),
                text=params.get("text"),
                image_b64=params.get("image"),
                position=params.get("position", "bottom-right"),
                opacity=float(params.get("opacity", 0.5)),
            )
        )
    except ValueError as exc:
        raise StepFailed(str(exc)) from exc
    await _store_derivative(state, "watermarked", rendered)
    return None


async def _dominant_colors(state: RunState) -> str | None:
    decoded = state.image()
    count = int(state.params.get("count", 5))
    colors = await asyncio.to_thread(imaging.dominant_colors, decoded.image, count)
    await _store_ai_result(state, "dominant-colors", {"colors": colors})
    return None


async def _perceptual_hash(state: RunState) -> str | None:
    decoded = state.image()
    value = await asyncio.to_thread(imaging.dhash, decoded.image)
    async with state.container.db.read() as session:
        rows = await session.execute(
            select(Asset.id, Asset.perceptual_hash).where(
                Asset.owner_id == state.owner_id,
                Asset.id != state.asset_id,
                Asset.perceptual_hash.is_not(None),
            )
        )
        candidates = [(row.id, row.perceptual_hash) for row in rows]
    duplicates = []
    for asset_id, other in candidates:
        try:
            distance = imaging.hamming(value, other)
        except ValueError:
            continue
        if distance <= DUPLICATE_MAX_DISTANCE:
            duplicates.append({"assetId": asset_id, "distance": distance})
    duplicates.sort(key=lambda item: (item["distance"], item["assetId"]))
    await _store_ai_result(
        state,
        "perceptual-hash",
        {
            "hash": value,
            "algorithm": "dhash-64",
            "maxDistance": DUPLICATE_MAX_DISTANCE,
            "duplicates": duplicates,
        },
    )
    state.asset_updates["perceptual_hash"] = value
    return None


STEPS: dict[str, Step] = {
    "decode": _decode,
    "thumbnail": _thumbnail,
    "caption": _caption,
    "alt-text": _alt_text,
    "exif-strip": _exif_strip,
    "format-convert": _format_convert,
    "watermark": _watermark,
    "dominant-colors": _dominant_colors,
    "perceptual-hash": _perceptual_hash,
}


# --- the job task ---------------------------------------------------------------------------


class AssetSkillTask:
    """Runs one skill execution: its steps in order, each recorded as it finishes. Image work
    runs in threads (`asyncio.to_thread`), never on the event loop."""

    kind = JOB_KIND
    engine: str | None = None

    def __init__(self, queue: str = JOB_QUEUE) -> None:
        self.queue = queue

    async def run(self, job: Job, ctx: JobContext) -> dict[str, Any]:
        container = ctx.container
        execution_id = job.input["execution_id"]
        async with container.db.transaction() as session:
            execution = await session.get(SkillExecution, execution_id)
            asset = await session.get(Asset, job.input["asset_id"])
            if execution is None or asset is None:
                return {"succeeded": False, "steps": [], "missing": True}
            # A retried job starts over: the previous attempt's step records go.
            await session.execute(
                delete(SkillStepResult).where(SkillStepResult.execution_id == execution_id)
            )
            execution.started_at = utcnow()
            asset.status = "processing"
            asset.updated_at = utcnow()
            store: ObjectStore | None
            try:
                store = await asset_store(session, container, asset)
                unavailable = None
            except AssetsError as exc:  # e.g. its storage profile's backend is gone
                store, unavailable = None, exc.message
            state = RunState(
                container=container,
                ctx=ctx,
                store_or_none=store,
                asset_id=asset.id,
                owner_id=asset.owner_id,
                storage_key=asset.storage_key,
                params=dict(execution.parameters or {}),
                work_dir=ctx.work_dir,
                storage_error=unavailable,
            )
            skill_name = execution.skill_name
        skill = catalog.get_skill(skill_name)
        results: list[dict[str, Any]] = []
        for position, step_name in enumerate(skill.steps):
            if ctx.lease_lost:
                raise LeaseLost(job.id)
            if ctx.cancelled:
                raise EngineCancelled()
            ctx.progress(position / len(skill.steps), step_name)
            started = utcnow()
            message: str | None
            try:
                message = await STEPS[step_name](state)
                succeeded = True
            except StepFailed as exc:
                succeeded, message = False, str(exc)
            except Exception as exc:  # a bug or an outage in one step: record, go on
                log.exception("skill %s step %s failed", skill_name, step_name)
                succeeded, message = False, f"internal error in this step ({type(exc).__name__})"
            async with container.db.transaction() as session:
                session.add(
                    SkillStepResult(
                        id=new_uuid(),
                        execution_id=execution_id,
                        position=position,
                        step_name=step_name,
                        succeeded=succeeded,
                        error_message=(message or None) and message[:2000],
                        started_at=started,
                        completed_at=utcnow(),
                    )
                )
            results.append({"stepName": step_name, "succeeded": succeeded, "message": message})
        await self._finish_asset(state)
        return {"succeeded": all(r["succeeded"] for r in results), "steps": results}

    async def _finish_asset(self, state: RunState) -> None:
        async with state.container.db.transaction() as session:
            asset = await session.get(Asset, state.asset_id)
            if asset is None:
                return
            updates = dict(state.asset_updates)
            alt_text = updates.pop("alt_text_if_empty", None)
            for name, value in updates.items():
                setattr(asset, name, value)
            if alt_text and not (asset.alt_text or "").strip():
                asset.alt_text = alt_text
            asset.status = "ready" if state.decoded is not None else "failed"
            asset.updated_at = utcnow()

    async def on_finished(
        self,
        session: AsyncSession,
        job: Job,
        status: str,
        outputs: dict[str, Any] | None,
        platform_fault: bool,
    ) -> None:
        execution = await session.get(SkillExecution, job.input["execution_id"])
        if execution is not None:
            execution.completed_at = utcnow()
            execution.succeeded = bool(
                status == JobStatus.SUCCEEDED and outputs and outputs.get("succeeded")
            )
        if status != JobStatus.SUCCEEDED:
            asset = await session.get(Asset, job.input["asset_id"])
            if asset is not None and asset.status == "processing":
                asset.status = "ready" if asset.width else "failed"
                asset.updated_at = utcnow()
