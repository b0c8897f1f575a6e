"""One error handler per surface shape. The World API (and the storage URLs it hands out) use
FastAPI's `{"detail": ...}`; later surfaces register their own shape by path prefix."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exception_handlers import (
    http_exception_handler,
    request_validation_exception_handler,
)
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

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
        return self.registered_for(path) or self.default

    def registered_for(self, path: str) -> ErrorRenderer | None:
        for prefix, renderer in self.by_prefix:
            if path == prefix or path.startswith(prefix.rstrip("/") + "/"):
                return renderer
        return None


_HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
}


def _location(loc: tuple[Any, ...] | list[Any]) -> str:
    # ("body", "isPublic") -> "isPublic"; ("query", "page") -> "page"
    parts = [str(part) for part in loc]
    if len(parts) > 1 and parts[0] in ("body", "query", "path", "header", "cookie"):
        parts = parts[1:]
    return ".".join(parts) or "request"


def validation_message(exc: RequestValidationError) -> str:
    """`<field>: <problem>` for each problem, joined with "; "."""
    problems = [
        f"{_location(err.get('loc', ()))}: {err.get('msg', 'invalid')}" for err in exc.errors()
    ]
    return "; ".join(problems) or "invalid request"


def install(app: FastAPI, shapes: ErrorShapes) -> None:
    async def on_app_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, AppError)
        return shapes.for_path(request.url.path)(exc)

    async def on_unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        error = AppError("internal server error; the request was not completed")
        error.status_code = 500
        return shapes.for_path(request.url.path)(error)

    async def on_validation(request: Request, exc: Exception) -> Response:
        # Surfaces with their own shape answer 400 with `<field>: <problem>`; the World API
        # keeps FastAPI's 422 `{"detail": [...]}`.
        assert isinstance(exc, RequestValidationError)
        renderer = shapes.registered_for(request.url.path)
        if renderer is None:
            return await request_validation_exception_handler(request, exc)
        return renderer(AppError(validation_message(exc)))

    async def on_http(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        renderer = shapes.registered_for(request.url.path)
        if renderer is None:
            return await http_exception_handler(request, exc)
        error = AppError(str(exc.detail))
        error.status_code = exc.status_code
        error.code = _HTTP_CODES.get(exc.status_code, "bad_request")
        response = renderer(error)
        if exc.headers:
            response.headers.update(exc.headers)
        return response

    app.add_exception_handler(AppError, on_app_error)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(StarletteHTTPException, on_http)
    app.add_exception_handler(Exception, on_unexpected)
