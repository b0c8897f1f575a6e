"""One error handler per surface shape. The World API (and the storage URLs it hands out) use
FastAPI's `{"detail": ...}`; later surfaces register their own shape by path prefix."""

from __future__ import annotations

import logging
from collections.abc import Callable

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from worldsmith.core.errors import AppError

log = logging.getLogger(__name__)

ErrorRenderer = Callable[[AppError], JSONResponse]


def detail_shape(error: AppError) -> JSONResponse:
    return JSONResponse({"detail": error.message}, status_code=error.status_code)


class ErrorShapes:
    def __init__(self, default: ErrorRenderer = detail_shape) -> None:
        self.default = default
        self.by_prefix: list[tuple[str, ErrorRenderer]] = []

    def register(self, prefix: str, renderer: ErrorRenderer) -> None:
        self.by_prefix.append((prefix, renderer))

    def for_path(self, path: str) -> ErrorRenderer:
        for prefix, renderer in self.by_prefix:
            if path.startswith(prefix):
                return renderer
        return self.default


def install(app: FastAPI, shapes: ErrorShapes) -> None:
    async def on_app_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, AppError)
        return shapes.for_path(request.url.path)(exc)

    async def on_unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        error = AppError("internal server error; the request was not completed")
        error.status_code = 500
        return shapes.for_path(request.url.path)(error)

    app.add_exception_handler(AppError, on_app_error)
    app.add_exception_handler(Exception, on_unexpected)
