"""Validating response bodies against the published (fixed) World API OpenAPI schemas."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker

FIXTURE = Path(__file__).parent / "fixtures" / "marble-openapi.fixed.json"


@cache
def _document() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(FIXTURE.read_text())
    return loaded


@cache
def _validator(component: str) -> Draft202012Validator:
    schema = {"$ref": f"#/components/schemas/{component}", "components": _document()["components"]}
    return Draft202012Validator(schema, format_checker=FormatChecker())


def assert_matches(body: Any, component: str) -> None:
    errors = sorted(_validator(component).iter_errors(body), key=lambda e: list(e.path))
    assert not errors, f"{component}: " + "; ".join(
        f"{list(e.path)}: {e.message}" for e in errors[:5]
    )
