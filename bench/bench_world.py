"""Benchmark the builtin world engine: text->world wall time and SPZ writer overhead.

Run from the repository root:  python bench/bench_world.py [--runs N]

Targets: plus text->world <= 15 s on a 2-core machine; writing an SPZ file (pack + gzip) for the
~2.09M-splat plus full_res level <= 1.5x the time of plain gzip.compress of the same packed bytes
at the same level.
"""

from __future__ import annotations

import argparse
import gzip
import os
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from worldsmith.engines.base import EngineContext
from worldsmith.engines.world.pipeline import run_world
from worldsmith.engines.world.procedural import render_scene
from worldsmith.engines.world.scene import build_scene
from worldsmith.engines.world.splats import build_full
from worldsmith.engines.world.spz import COMPRESS_LEVEL, pack_spz, write_spz
from worldsmith.engines.world.types import ModelName, WorldEngineInput

PROMPT = "a misty pine forest at sunset with snowy mountains"
PLUS_TARGET_S = 15.0
SPZ_TARGET_RATIO = 1.5


def _no_progress(fraction: float, stage: str, message: str = "") -> None:
    del fraction, stage, message


def bench_text(model: ModelName, runs: int) -> list[float]:
    times = []
    for i in range(runs):
        with tempfile.TemporaryDirectory() as tmp:
            ctx = EngineContext(work_dir=Path(tmp), progress=_no_progress)
            inp = WorldEngineInput("text", model, seed=100 + i, text_prompt=PROMPT)
            t0 = time.perf_counter()
            run_world(inp, ctx)
            times.append(time.perf_counter() - t0)
    return times


def bench_spz(runs: int) -> tuple[int, float, float, float]:
    img, depth = render_scene(build_scene(PROMPT, 1), 2560, 1280)
    splats = build_full(img, depth, np.random.default_rng(0)).splats
    raw = pack_spz(splats)
    pack_t, gzip_t, write_t = [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.spz"
        for _ in range(runs):
            t0 = time.perf_counter()
            pack_spz(splats)
            pack_t.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            gzip.compress(raw, compresslevel=COMPRESS_LEVEL, mtime=0)
            gzip_t.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            write_spz(path, splats)
            write_t.append(time.perf_counter() - t0)
    return (
        len(splats),
        statistics.median(pack_t),
        statistics.median(gzip_t),
        statistics.median(write_t),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=2, help="runs per measurement (median)")
    args = parser.parse_args()
    print(f"cpus: {os.cpu_count()}  prompt: {PROMPT!r}")

    mini = bench_text("Marble 0.1-mini", max(args.runs, 1) + 1)
    runs = ", ".join(f"{t:.2f}" for t in mini)
    print(f"mini text->world: {statistics.median(mini):.2f} s (runs: {runs})")
    plus = bench_text("Marble 0.1-plus", max(args.runs, 1))
    med = statistics.median(plus)
    verdict = "OK" if med <= PLUS_TARGET_S else "OVER TARGET"
    print(
        f"plus text->world: {med:.2f} s (target <= {PLUS_TARGET_S:.0f} s) {verdict} "
        f"(runs: {', '.join(f'{t:.2f}' for t in plus)})"
    )

    n, pack_s, gzip_s, write_s = bench_spz(max(args.runs, 1) + 1)
    ratio = write_s / gzip_s
    verdict = "OK" if ratio <= SPZ_TARGET_RATIO else "OVER TARGET"
    print(
        f"spz write ({n} splats, gzip level {COMPRESS_LEVEL}): {write_s:.3f} s vs "
        f"gzip.compress {gzip_s:.3f} s -> ratio {ratio:.2f}x (target <= {SPZ_TARGET_RATIO}x) "
        f"{verdict}; packing alone {pack_s:.3f} s"
    )


if __name__ == "__main__":
    main()
