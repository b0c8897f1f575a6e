"""FastAPI dependency aliases shared by every surface."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from worldsmith.core.container import Container


async def get_container(request: Request) -> Container:
    # async on purpose: FastAPI runs plain `def` dependencies in a thread pool, a thread
    # hand-off on every request for what is an attribute read.
    container: Container = request.app.state.container
    return container


ContainerDep = Annotated[Container, Depends(get_container)]
