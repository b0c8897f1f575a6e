"""Fixtures for the world-engine tests."""

from __future__ import annotations

import pytest

from tests.engines.world.world_helpers import Run, run
from worldsmith.engines.world.types import WorldEngineInput


@pytest.fixture(scope="session")
def mini_text_run(tmp_path_factory: pytest.TempPathFactory) -> Run:
    inp = WorldEngineInput(
        prompt_type="text",
        model="Marble 0.1-mini",
        seed=11,
        text_prompt="a sunny meadow with a clear blue sky and distant mountains",
    )
    return run(inp, tmp_path_factory.mktemp("mini-text"))
