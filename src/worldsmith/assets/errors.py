"""Assets API errors: a stable machine code (as the spec names them) and a message, always in
one body: `{"error": {"code": "asset_not_found", "message": "..."}}`."""

from __future__ import annotations

from fastapi.responses import JSONResponse

from worldsmith.core.errors import AppError

# Codes the Assets API may answer with, and their HTTP status.
STATUS_BY_CODE: dict[str, int] = {
    "asset_file_required": 400,
    "asset_file_empty": 400,
    "asset_file_too_large": 413,
    "asset_content_type_not_allowed": 415,
    "asset_description_too_long": 400,
    "asset_alt_text_too_long": 400,
    "asset_file_name_invalid": 400,
    "asset_image_invalid": 400,
    "asset_image_too_many_pixels": 400,
    "asset_not_found": 404,
    "asset_ids_required": 400,
    "asset_query_invalid": 400,
    "skill_not_found": 404,
    "skill_parameters_invalid": 400,
    "skill_timeout": 504,
    "storage_profile_not_found": 404,
    "storage_profile_invalid": 400,
    "storage_profile_in_use": 409,
    "storage_unavailable": 503,
    "unauthorized": 401,
    "bad_request": 400,
    "not_found": 404,
    "conflict": 409,
    "payload_too_large": 413,
    "insufficient_credits": 402,
    "forbidden": 403,
    "unavailable": 503,
    "internal_error": 500,
}


class AssetsError(AppError):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.status_code = STATUS_BY_CODE.get(code, 400)


def assets_error_shape(error: AppError) -> JSONResponse:
    code = error.code if error.status_code != 500 else "internal_error"
    return JSONResponse(
        {"error": {"code": code, "message": error.message}}, status_code=error.status_code
    )
