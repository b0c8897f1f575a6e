"""Our SPZ files load and render, upright, in World Labs' Spark renderer (headless Chromium).

Needs Debian's `chromium` and `npm ci` in tests/browser; `.ci/run` installs both. Without them
the test is skipped with the reason, never passed silently.
"""

from __future__ import annotations

import functools
import http.server
import shutil
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from worldsmith.engines.base import EngineContext
from worldsmith.engines.world.pipeline import run_world
from worldsmith.engines.world.types import WorldEngineInput

HERE = Path(__file__).parent
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
NODE = shutil.which("node")

pytestmark = pytest.mark.skipif(
    CHROMIUM is None or NODE is None or not (HERE / "node_modules" / "three").is_dir(),
    reason="needs chromium, node and `npm ci` in tests/browser (.ci/run installs them)",
)


@pytest.fixture(scope="module")
def world_files(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("spark-world")
    run_world(
        WorldEngineInput(
            prompt_type="text", model="Marble 0.1-mini", seed=4, text_prompt="a snowy mountain"
        ),
        EngineContext(work_dir=out, progress=lambda *args, **kwargs: None),
    )
    return out


@pytest.fixture(scope="module")
def page_server(world_files: Path) -> Iterator[str]:
    class Handler(http.server.SimpleHTTPRequestHandler):
        def translate_path(self, path: str) -> str:
            if path.startswith("/world/"):
                return str(world_files / Path(path).name)
            return super().translate_path(path)

        def log_message(self, *args: object) -> None:
            pass

    handler = functools.partial(Handler, directory=str(HERE))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_spz_renders_upright_in_spark(page_server: str, world_files: Path, tmp_path: Path) -> None:
    # The 100k level: software WebGL draws larger sets too slowly for a test.
    level = "100k"
    shot = tmp_path / "spark.png"
    url = f"{page_server}/spark_page.html?spz=/world/splats_{level}.spz"
    result = subprocess.run(
        [NODE or "node", str(HERE / "render_spz.mjs"), url, str(shot)],
        capture_output=True,
        text=True,
        timeout=240,
        env={"CHROMIUM": CHROMIUM or "", "PATH": "/usr/bin:/bin"},
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "status: loaded 100000" in result.stdout, result.stdout

    rendered = np.asarray(Image.open(shot).convert("RGB"), dtype=np.float32)
    assert rendered.std() > 10, "the render is flat: nothing was drawn"
    assert (rendered.sum(axis=2) < 15).mean() < 0.05, "holes: the background shows through"

    # Upright: the top of the view looks like the pano's sky, the bottom like its ground.
    pano = np.asarray(Image.open(world_files / "pano.png").convert("RGB"), dtype=np.float32)
    h = pano.shape[0]
    sky, ground = pano[h // 8 : h // 3].mean(axis=(0, 1)), pano[2 * h // 3 :].mean(axis=(0, 1))
    top = rendered[: rendered.shape[0] // 5].mean(axis=(0, 1))
    bottom = rendered[-rendered.shape[0] // 5 :].mean(axis=(0, 1))
    assert np.linalg.norm(top - sky) < np.linalg.norm(top - ground)
    assert np.linalg.norm(bottom - ground) < np.linalg.norm(bottom - sky)
