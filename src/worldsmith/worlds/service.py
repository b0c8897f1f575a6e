"""World generation rules: validation, pricing, the job and its charge in one transaction."""

from __future__ import annotations

import secrets
from datetime import timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from worldsmith.accounts.service import Principal
from worldsmith.billing import service as billing
from worldsmith.core.clock import utcnow
from worldsmith.core.container import Container
from worldsmith.core.errors import BadRequest, NotFound
from worldsmith.core.ids import new_id
from worldsmith.core.models import Job, JobStatus, World, WorldTag
from worldsmith.worlds import repository, schemas
from worldsmith.worlds.inputs import InputResolver, StoredInput
from worldsmith.worlds.pricing import world_price_micro
from worldsmith.worlds.render import Renderer, stored_media

JOB_KIND = "world.generate"
MAX_IMAGES = 4
MAX_IMAGES_RECONSTRUCT = 8
MAX_TAGS = 50


def _check_text(settings_limit: int, text: str | None, field: str) -> None:
    if text is not None and len(text) > settings_limit:
        raise BadRequest(f"{field} is {len(text)} characters; the limit is {settings_limit}")


def _validate(req: schemas.WorldsGenerateRequest, text_limit: int) -> None:
    prompt = req.world_prompt
    _check_text(text_limit, prompt.text_prompt, "world_prompt.text_prompt")
    if isinstance(prompt, schemas.WorldTextPromptIn) and not (prompt.text_prompt or "").strip():
        raise BadRequest("world_prompt.text_prompt is required for a text prompt")
    if isinstance(prompt, schemas.MultiImagePromptIn):
        limit = MAX_IMAGES_RECONSTRUCT if prompt.reconstruct_images else MAX_IMAGES
        count = len(prompt.multi_image_prompt)
        if not 1 <= count <= limit:
            hint = "" if prompt.reconstruct_images else " (8 with reconstruct_images)"
            raise BadRequest(
                f"world_prompt.multi_image_prompt has {count} images; 1 to {limit} allowed{hint}"
            )
    if req.display_name is not None and len(req.display_name) > 500:
        raise BadRequest("display_name is limited to 500 characters")
    tags = req.tags or []
    if len(tags) > MAX_TAGS or any(not t or len(t) > 200 for t in tags):
        raise BadRequest(f"tags: at most {MAX_TAGS} tags of 1 to 200 characters")


def _default_name(prompt: schemas.WorldPromptIn) -> str:
    text = (prompt.text_prompt or "").strip()
    if text:
        return text if len(text) <= 80 else text[:77].rstrip() + "..."
    return f"World from {prompt.type}"


async def _resolve_inputs(
    resolver: InputResolver, prompt: schemas.WorldPromptIn
) -> tuple[list[StoredInput], dict[str, Any]]:
    """Store the prompt's media and build the response-shaped world_prompt."""
    saved: dict[str, Any] = {"type": prompt.type, "text_prompt": prompt.text_prompt}
    inputs: list[StoredInput] = []
    if isinstance(prompt, schemas.ImagePromptIn):
        item = await resolver.resolve(prompt.image_prompt, "image", "world_prompt.image_prompt")
        inputs.append(item)
        saved.update(image_prompt=stored_media(item.key, item.extension))
        saved["is_pano"] = bool(prompt.is_pano)
    elif isinstance(prompt, schemas.MultiImagePromptIn):
        located = []
        for i, entry in enumerate(prompt.multi_image_prompt):
            field = f"world_prompt.multi_image_prompt[{i}].content"
            item = await resolver.resolve(entry.content, "image", field, entry.azimuth)
            inputs.append(item)
            located.append({"azimuth": entry.azimuth, **stored_media(item.key, item.extension)})
        saved.update(multi_image_prompt=located, reconstruct_images=prompt.reconstruct_images)
    elif isinstance(prompt, schemas.VideoPromptIn):
        item = await resolver.resolve(prompt.video_prompt, "video", "world_prompt.video_prompt")
        inputs.append(item)
        saved.update(video_prompt=stored_media(item.key, item.extension))
    return inputs, saved


async def generate(
    container: Container, principal: Principal, req: schemas.WorldsGenerateRequest
) -> schemas.Operation:
    settings = container.settings
    _validate(req, settings.max_text_prompt_chars)
    prompt = req.world_prompt
    job_id, world_id = new_id(), new_id()
    is_pano = isinstance(prompt, schemas.ImagePromptIn) and bool(prompt.is_pano)
    cost = world_price_micro(settings, req.model, prompt.type, is_pano)
    seed = req.seed if req.seed is not None else secrets.randbelow(2**31)

    resolver = InputResolver(container, principal, job_id)
    try:
        inputs, saved_prompt = await _resolve_inputs(resolver, prompt)
    except BaseException:
        await resolver.discard()
        raise
    try:
        async with container.db.transaction() as session:
            job, world = _new_rows(
                settings.world_queue, req, principal, job_id, world_id, seed, cost, inputs
            )
            world.world_prompt = saved_prompt
            if settings.artifact_ttl_days > 0:
                job.expires_at = utcnow() + timedelta(days=settings.artifact_ttl_days)
            job.max_attempts = settings.job_max_attempts
            session.add(job)
            await session.flush()
            session.add(world)
            await session.flush()
            session.add_all(WorldTag(world_id=world_id, tag=t) for t in sorted(set(world.tags)))
            await billing.charge_for_job(
                session, principal.account_id, job_id, cost, f"world {world_id} ({req.model})"
            )
            await container.require_queue().enqueue(session, job)
    except BaseException:
        await resolver.discard()
        raise
    return Renderer(container).operation(job, world)


def _new_rows(
    queue: str,
    req: schemas.WorldsGenerateRequest,
    principal: Principal,
    job_id: str,
    world_id: str,
    seed: int,
    cost: int,
    inputs: list[StoredInput],
) -> tuple[Job, World]:
    prompt = req.world_prompt
    job = Job(
        id=job_id,
        kind=JOB_KIND,
        queue=queue,
        owner_id=principal.account_id,
        subject_id=world_id,
        status=JobStatus.QUEUED,
        input={
            "world_id": world_id,
            "prompt_type": prompt.type,
            "model": req.model,
            "seed": seed,
            "text_prompt": prompt.text_prompt,
            "disable_recaption": bool(prompt.disable_recaption),
            "is_pano": isinstance(prompt, schemas.ImagePromptIn) and bool(prompt.is_pano),
            "inputs": [i.to_json() for i in inputs],
        },
        cost_micro_usd=cost,
        progress=0.0,
        attempts=0,
        cancel_requested=False,
    )
    world = World(
        id=world_id,
        owner_id=principal.account_id,
        job_id=job_id,
        display_name=req.display_name or _default_name(prompt),
        model=req.model,
        seed=seed,
        tags=list(dict.fromkeys(req.tags or [])),
        is_public=req.permission.public,
        allowed_readers=req.permission.allowed_readers,
        allowed_writers=req.permission.allowed_writers,
        world_prompt={},
    )
    return job, world


def can_read(world: World, principal: Principal) -> bool:
    return (
        world.owner_id == principal.account_id
        or world.is_public
        or principal.account_id in world.allowed_readers
    )


async def get_operation(
    session: AsyncSession, container: Container, principal: Principal, operation_id: str
) -> schemas.Operation:
    found = await repository.job_with_world(session, operation_id)
    if found is None or found[0].owner_id != principal.account_id or found[0].kind != JOB_KIND:
        raise NotFound(f"operation {operation_id} not found")
    return Renderer(container).operation(*found)


async def get_world(
    session: AsyncSession, container: Container, principal: Principal, world_id: str
) -> schemas.World:
    found = await repository.world_with_job(session, world_id)
    if found is None or not can_read(found[0], principal):
        raise NotFound(f"world {world_id} not found")
    return Renderer(container).world(found[0])


async def list_worlds(
    session: AsyncSession,
    container: Container,
    principal: Principal,
    req: schemas.ListWorldsRequest,
) -> schemas.ListWorldsResponse:
    if req.created_after and req.created_before and req.created_after >= req.created_before:
        raise BadRequest("created_after must be earlier than created_before")
    rows, token = await repository.list_worlds(session, principal.account_id, req)
    renderer = Renderer(container)
    return schemas.ListWorldsResponse(
        worlds=[renderer.world(world) for world, _job in rows], next_page_token=token
    )
