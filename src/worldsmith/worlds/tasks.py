"""The world-generation job: run the world engine off the event loop, store its files, and
record the finished World in the same transaction as the job's outcome."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from worldsmith.billing import service as billing
from worldsmith.core.clock import utcnow
from worldsmith.core.jobs.context import JobContext
from worldsmith.core.models import Job, JobStatus, World
from worldsmith.engines.base import EngineResult
from worldsmith.engines.world.types import PlacedImage, WorldEngineInput
from worldsmith.worlds.service import JOB_KIND

ENGINE = "worldsmith.engines.world.pipeline:run_world"


class WorldTask:
    kind = JOB_KIND
    engine: str | None = ENGINE

    def __init__(self, queue: str = "cpu") -> None:
        self.queue = queue

    async def _engine_input(self, job: Job, ctx: JobContext) -> WorldEngineInput:
        data = job.input
        store = ctx.container.store
        images: list[PlacedImage] = []
        video: Path | None = None
        for item in data["inputs"]:
            path = await store.materialize(item["key"], ctx.work_dir)
            if item["kind"] == "video":
                video = path
            else:
                images.append(PlacedImage(path=path, azimuth_deg=item.get("azimuth")))
        return WorldEngineInput(
            prompt_type=data["prompt_type"],
            model=data["model"],
            seed=int(data["seed"]),
            text_prompt=data.get("text_prompt"),
            images=images,
            is_pano=bool(data.get("is_pano")),
            video_path=video,
            disable_recaption=bool(data.get("disable_recaption")),
        )

    async def run(self, job: Job, ctx: JobContext) -> dict[str, Any]:
        ctx.progress(0.0, "starting", "preparing inputs")
        engine_input = await self._engine_input(job, ctx)
        result: EngineResult = await ctx.run_engine(ENGINE, engine_input)
        ctx.progress(1.0, "storing", "storing the world's files")
        world_id = job.input["world_id"]
        keys: dict[str, str] = {}
        for name, output in result.files.items():
            path = ctx.work_dir / output.path  # engines name files relative to their work dir
            key = f"worlds/{world_id}/{path.name}"
            await ctx.container.store.put_file(key, path, output.content_type)
            keys[name] = key
        return {"files": keys, "metadata": result.metadata}

    async def on_finished(
        self,
        session: AsyncSession,
        job: Job,
        status: str,
        outputs: dict[str, Any] | None,
        platform_fault: bool,
    ) -> None:
        world = await session.get(World, job.input["world_id"])
        if world is not None:
            if status == JobStatus.SUCCEEDED and outputs is not None:
                metadata = outputs.get("metadata", {})
                world.asset_keys = outputs["files"]
                world.caption = metadata.get("caption")
                world.asset_metadata = {
                    key: metadata[key]
                    for key in ("semantics_metadata", "coordinate_system", "splat_counts", "engine")
                    if key in metadata
                }
                prompt = dict(world.world_prompt)
                if not prompt.get("text_prompt") and not job.input.get("disable_recaption"):
                    prompt["text_prompt"] = world.caption  # recaptioned, as the hosted API does
                    world.world_prompt = prompt
            world.updated_at = utcnow()
        if platform_fault:
            await billing.refund_job(session, job.id, f"refund: world job {job.id} {status}")
