#!/usr/bin/env python
"""worldsmith API benchmark: operation polling and signed PUT uploads, each beside a bare
FastAPI baseline (bench/baseline_app.py) served by the same HTTP server with the same settings,
for both uvicorn and granian.

    python bench/bench_api.py            # full run (a few minutes)
    python bench/bench_api.py --quick    # shorter windows, 256 MiB upload

Everything runs on 127.0.0.1 with servers this script starts on free ports and stops on exit
(also on Ctrl-C or an error). See bench/README.md for what each figure means.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import json
import os
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import httpx

REPO = Path(__file__).resolve().parent.parent
MiB = 1024 * 1024
MB = 1_000_000
CLK_TCK = os.sysconf("SC_CLK_TCK")
PAGE_KB = os.sysconf("SC_PAGE_SIZE") // 1024
SERVERS = ("uvicorn", "granian")
ENGINE_MODULE = "worldsmith.engines.world.pipeline"
ENGINE_FN = "run_world"
UPLOAD_KEY = "bench/upload.bin"  # no upload hook under bench/: measures the storage path only
CONTENT_TYPE = "application/octet-stream"
BASELINE_PUT_DOES = (
    "baseline PUT = request.stream() chunks -> plain synchronous file.write() on the event loop "
    "-> one fsync + close at the end (no auth, no signature, no hashing, no threads, no rename); "
    "file on the same disk as worldsmith's data dir"
)
BASELINE_POLL_DOES = (
    "baseline poll = FastAPI GET with a path parameter returning a constant ~100-byte dict "
    "(no auth, no DB, no response model)"
)


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


@dataclass
class Profile:
    warmup_s: float
    poll_round_s: float
    poll_rounds: int
    concurrency: int
    upload_bytes: int
    upload_runs: int
    warm_upload_bytes: int
    generation_timeout_s: float


FULL = Profile(
    warmup_s=1.5,
    poll_round_s=4.0,
    poll_rounds=3,
    concurrency=32,
    upload_bytes=1024 * MiB,
    upload_runs=5,
    warm_upload_bytes=64 * MiB,
    generation_timeout_s=150.0,
)
QUICK = Profile(
    warmup_s=1.0,
    poll_round_s=2.0,
    poll_rounds=1,
    concurrency=32,
    upload_bytes=256 * MiB,
    upload_runs=1,
    warm_upload_bytes=32 * MiB,
    generation_timeout_s=90.0,
)


# ---- processes -------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _proc_stat(pid: int) -> list[str] | None:
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return raw[raw.rindex(")") + 2 :].split()  # fields from 3 (state) on; comm may hold spaces


def process_tree(root: int) -> list[int]:
    """`root` and all its descendants (granian serves from a child worker process; the engine
    pool adds spawned children)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        fields = _proc_stat(int(entry))
        if fields is not None:
            children.setdefault(int(fields[1]), []).append(int(entry))
    out, todo = [], [root]
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo.extend(children.get(pid, []))
    return out


def rss_bytes(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/statm") as fh:
            return int(fh.read().split()[1]) * PAGE_KB * 1024
    except (OSError, IndexError, ValueError):
        return 0


def cpu_seconds(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        fields = _proc_stat(pid)
        if fields is not None:
            total += int(fields[11]) + int(fields[12])  # utime, stime (all threads)
    return total / CLK_TCK


def _own_cpu_jiffies() -> int:
    fields = _proc_stat(os.getpid())
    return int(fields[11]) + int(fields[12]) if fields else 0


def _machine_busy_jiffies() -> int:
    with open("/proc/stat") as fh:
        parts = fh.readline().split()[1:]
    return int(parts[0]) + int(parts[1]) + int(parts[2])  # user + nice + system


class CpuWatch:
    """CPU the rest of the machine (other people's processes) used during a measurement, in
    cores: machine user+system time minus the server tree's and this process's."""

    def __init__(self, pids: list[int]) -> None:
        self.pids = pids
        self.t0 = time.monotonic()
        self.busy0 = _machine_busy_jiffies()
        self.own0 = _own_cpu_jiffies()
        self.srv0 = cpu_seconds(pids)

    def foreign_cores(self) -> float:
        elapsed = time.monotonic() - self.t0
        busy = (_machine_busy_jiffies() - self.busy0) / CLK_TCK
        own = (_own_cpu_jiffies() - self.own0) / CLK_TCK
        srv = cpu_seconds(self.pids) - self.srv0
        return max(0.0, busy - own - srv) / elapsed if elapsed > 0 else 0.0


class Server:
    """One server process (and its children), in its own session so it can be stopped with
    everything it started, by its process-group id."""

    live: ClassVar[list[Server]] = []
    cpus: ClassVar[set[int] | None] = None  # --pin: CPUs the servers may run on

    def __init__(self, label: str, argv: list[str], env: dict[str, str], log_path: Path) -> None:
        self.label = label
        self.argv = argv
        self.env = env
        self.log_path = log_path
        self.proc: subprocess.Popen[bytes] | None = None
        self.port = 0

    def start(self, port: int) -> None:
        self.port = port
        with open(self.log_path, "ab") as logf:
            self.proc = subprocess.Popen(
                self.argv,
                env=self.env,
                cwd=REPO,
                stdin=subprocess.DEVNULL,
                stdout=logf,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=(lambda: os.sched_setaffinity(0, cpus))
                if (cpus := Server.cpus)
                else None,
            )
        Server.live.append(self)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def wait_ready(self, path: str, timeout: float = 90.0) -> None:
        assert self.proc is not None
        deadline = time.monotonic() + timeout
        with httpx.Client(timeout=2.0) as client:
            while time.monotonic() < deadline:
                if self.proc.poll() is not None:
                    raise RuntimeError(f"{self.label} exited early:\n{self.log_tail()}")
                with contextlib.suppress(httpx.HTTPError):
                    if client.get(self.base + path).status_code == 200:
                        return
                time.sleep(0.2)
        raise RuntimeError(f"{self.label} not ready after {timeout:.0f}s:\n{self.log_tail()}")

    def pids(self) -> list[int]:
        assert self.proc is not None
        return process_tree(self.proc.pid)

    def log_tail(self, lines: int = 30) -> str:
        with contextlib.suppress(OSError):
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        return ""

    def stop(self) -> None:
        proc = self.proc
        if proc is None:
            return
        self.proc = None
        if self in Server.live:
            Server.live.remove(self)
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)  # leftovers in the group (workers, pool)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=5)

    @classmethod
    def stop_all(cls) -> None:
        for server in list(cls.live):
            server.stop()


# ---- poll load ---------------------------------------------------------------------------------


@dataclass
class PollResult:
    requests: int = 0
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    statuses: dict[int, int] = field(default_factory=dict)
    server_cpu_s: float = 0.0
    response_bytes: int = 0
    foreign_cores: float = 0.0  # max over rounds

    def add(self, other: PollResult) -> None:
        self.requests += other.requests
        self.seconds += other.seconds
        self.latencies.extend(other.latencies)
        self.errors += other.errors
        for k, v in other.statuses.items():
            self.statuses[k] = self.statuses.get(k, 0) + v
        self.server_cpu_s += other.server_cpu_s
        self.response_bytes = other.response_bytes or self.response_bytes
        self.foreign_cores = max(self.foreign_cores, other.foreign_cores)

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def pct_ms(self, q: float) -> float:
        if not self.latencies:
            return float("nan")
        data = sorted(self.latencies)
        return data[min(len(data) - 1, int(q * len(data)))] * 1000

    @property
    def cpu_us_per_req(self) -> float:
        return self.server_cpu_s / self.requests * 1e6 if self.requests else float("nan")


class _Window:
    def __init__(self) -> None:
        self.start = float("inf")
        self.end = float("inf")
        self.stopping = False
        self.result = PollResult()


class _PollConnection(asyncio.Protocol):
    """A keep-alive HTTP/1.1 connection with one request in flight at a time. Deliberately
    minimal (no HTTP library) so the client spends as little of the shared CPU as possible;
    identical for worldsmith and the baseline."""

    def __init__(self, request: bytes, window: _Window, done: asyncio.Future[None]) -> None:
        self.request = request
        self.window = window
        self.done = done
        self.buf = bytearray()
        self.t0 = 0.0
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self._send()

    def _send(self) -> None:
        assert self.transport is not None
        if self.window.stopping:
            self.transport.close()
            return
        self.t0 = time.perf_counter()
        self.transport.write(self.request)

    def data_received(self, data: bytes) -> None:
        self.buf += data
        head_end = self.buf.find(b"\r\n\r\n")
        if head_end < 0:
            return
        head = bytes(self.buf[:head_end]).lower()
        body_start = head_end + 4
        idx = head.find(b"\r\ncontent-length:")
        if idx >= 0:
            line_end = head.find(b"\r\n", idx + 2)
            length = int(head[idx + 17 : line_end if line_end >= 0 else len(head)])
            if len(self.buf) < body_start + length:
                return
            body_len = length
        elif b"transfer-encoding: chunked" in head:
            if not self.buf.endswith(b"0\r\n\r\n"):
                return
            body_len = len(self.buf) - body_start
        else:  # no framing: not expected from either server
            return
        now = time.perf_counter()
        status = int(self.buf[9:12])
        self.buf.clear()
        w = self.window
        if self.t0 >= w.start and now <= w.end:
            r = w.result
            r.requests += 1
            r.latencies.append(now - self.t0)
            r.statuses[status] = r.statuses.get(status, 0) + 1
            if status != 200:
                r.errors += 1
            r.response_bytes = body_len
        self._send()

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.done.done():
            self.done.set_result(None)


async def _poll_round(
    port: int, request: bytes, concurrency: int, warmup_s: float, seconds: float, pids: list[int]
) -> PollResult:
    loop = asyncio.get_running_loop()
    window = _Window()
    dones = [loop.create_future() for _ in range(concurrency)]
    for fut in dones:
        await loop.create_connection(
            lambda f=fut: _PollConnection(request, window, f), "127.0.0.1", port
        )
    await asyncio.sleep(warmup_s)
    cpu0 = cpu_seconds(pids)
    watch = CpuWatch(pids)
    window.start = time.perf_counter()
    window.end = window.start + seconds
    await asyncio.sleep(seconds)
    window.stopping = True
    cpu1 = cpu_seconds(pids)
    window.result.foreign_cores = watch.foreign_cores()
    await asyncio.wait_for(asyncio.gather(*dones), timeout=60)
    window.result.seconds = seconds
    window.result.server_cpu_s = cpu1 - cpu0
    return window.result


def poll_request(port: int, path: str, api_key: str) -> bytes:
    return (
        f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nWLT-Api-Key: {api_key}\r\n"
        "Accept: application/json\r\nUser-Agent: worldsmith-bench\r\n\r\n"
    ).encode()


# ---- upload ------------------------------------------------------------------------------------


@dataclass
class UploadResult:
    nbytes: int
    seconds: float
    sent_seconds: float  # until the client had handed the last byte to the socket
    rss_growth: int
    rss_before: int
    server_cpu_s: float
    status: int
    foreign_cores: float

    @property
    def mib_s(self) -> float:
        return self.nbytes / MiB / self.seconds


class RssSampler(threading.Thread):
    def __init__(self, pids: list[int], interval: float = 0.02) -> None:
        super().__init__(daemon=True)
        self.pids = pids
        self.interval = interval
        self.before = sum(rss_bytes(p) for p in pids)
        self.peak = self.before
        self._stop_event = threading.Event()

    def run(self) -> None:
        while not self._stop_event.is_set():
            self.peak = max(self.peak, sum(rss_bytes(p) for p in self.pids))
            self._stop_event.wait(self.interval)

    def finish(self) -> int:
        self._stop_event.set()
        self.join()
        self.peak = max(self.peak, sum(rss_bytes(p) for p in self.pids))
        return self.peak - self.before


def upload(url: str, chunk: bytes, nbytes: int, pids: list[int]) -> tuple[UploadResult, str]:
    """PUT `nbytes` (the 1 MiB `chunk` repeated) with an explicit Content-Length, streamed from a
    generator: the client never holds more than one chunk."""
    sent_at: list[float] = []

    def body() -> Iterator[bytes]:
        left = nbytes
        while left > 0:
            piece = chunk if left >= len(chunk) else chunk[:left]
            left -= len(piece)
            yield piece
        sent_at.append(time.perf_counter())

    sampler = RssSampler(pids)
    cpu0 = cpu_seconds(pids)
    watch = CpuWatch(pids)
    sampler.start()
    with httpx.Client(timeout=httpx.Timeout(600.0)) as client:
        t0 = time.perf_counter()
        resp = client.put(
            url,
            content=body(),
            headers={"Content-Type": CONTENT_TYPE, "Content-Length": str(nbytes)},
        )
        t1 = time.perf_counter()
    growth = sampler.finish()
    cpu1 = cpu_seconds(pids)
    if resp.status_code != 200:
        raise RuntimeError(f"PUT {url.split('?')[0]} -> {resp.status_code}: {resp.text[:500]}")
    result = UploadResult(
        nbytes=nbytes,
        seconds=t1 - t0,
        sent_seconds=(sent_at[0] if sent_at else t1) - t0,
        rss_growth=growth,
        rss_before=sampler.before,
        server_cpu_s=cpu1 - cpu0,
        status=resp.status_code,
        foreign_cores=watch.foreign_cores(),
    )
    return result, resp.headers.get("etag", "").strip('"')


# ---- worldsmith setup --------------------------------------------------------------------------


def clean_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WORLDSMITH_")}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH", "")) if p)
    env["PYTHONUNBUFFERED"] = "1"
    return env


def worldsmith_cmd() -> list[str]:
    exe = shutil.which("worldsmith")
    return [exe] if exe else [sys.executable, "-c", "from worldsmith.cli import app; app()"]


def engine_importable(env: dict[str, str]) -> tuple[bool, str]:
    code = f"import {ENGINE_MODULE} as m; getattr(m, {ENGINE_FN!r})"
    try:
        proc = subprocess.run(
            [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120
        )
    except subprocess.TimeoutExpired:
        return False, "import timed out"
    if proc.returncode == 0:
        return True, "ok"
    lines = [ln for ln in proc.stderr.strip().splitlines() if ln.strip()]
    return False, lines[-1] if lines else f"exit {proc.returncode}"


@dataclass
class Fixture:
    data_dir: Path
    secret: str
    env: dict[str, str]
    api_key: str
    operation_id: str
    case: str  # "done" or "not-done"
    case_note: str


def create_account(env: dict[str, str]) -> str:
    proc = subprocess.run(
        [*worldsmith_cmd(), "accounts", "create", "--email", "bench@example.com",
         "--credits-usd", "100"],
        env=env, capture_output=True, text=True, timeout=120, cwd=REPO,
    )  # fmt: skip
    if proc.returncode != 0:
        raise RuntimeError(f"accounts create failed: {proc.stderr or proc.stdout}")
    line = [ln for ln in proc.stdout.splitlines() if ln.strip().startswith("{")][-1]
    return str(json.loads(line)["apiKey"])


def start_worldsmith(kind: str, fx_env: dict[str, str], logs: Path) -> Server:
    port = free_port()
    server = Server(
        f"worldsmith/{kind}",
        [*worldsmith_cmd(), "serve", "--host", "127.0.0.1", "--port", str(port),
         "--server", kind],
        fx_env,
        logs / f"worldsmith-{kind}.log",
    )  # fmt: skip
    server.start(port)
    server.wait_ready("/marble/v1/")
    return server


def start_baseline(kind: str, env: dict[str, str], logs: Path, upload_dir: Path) -> Server:
    port = free_port()
    env = {**env, "BENCH_BASELINE_UPLOAD_DIR": str(upload_dir)}
    server = Server(
        f"baseline/{kind}",
        [sys.executable, "-m", "bench.baseline_app", "--server", kind, "--host", "127.0.0.1",
         "--port", str(port)],
        env,
        logs / f"baseline-{kind}.log",
    )  # fmt: skip
    server.start(port)
    server.wait_ready("/marble/v1/operations/ready")
    return server


def submit_world(server: Server, api_key: str) -> str:
    body = {
        "world_prompt": {"type": "text", "text_prompt": "a quiet harbor town at dusk"},
        "model": "Marble 0.1-mini",
        "display_name": "bench world",
        "seed": 7,
    }
    resp = httpx.post(
        server.base + "/marble/v1/worlds:generate",
        json=body,
        headers={"WLT-Api-Key": api_key},
        timeout=60,
    )
    if resp.status_code != 200:
        raise RuntimeError(f"worlds:generate -> {resp.status_code}: {resp.text[:500]}")
    return str(resp.json()["operation_id"])


def get_operation(server: Server, api_key: str, op_id: str) -> dict[str, Any]:
    resp = httpx.get(
        f"{server.base}/marble/v1/operations/{op_id}",
        headers={"WLT-Api-Key": api_key},
        timeout=30,
    )
    resp.raise_for_status()
    return dict(resp.json())


def prepare_fixture(first_kind: str, tmp: Path, prof: Profile) -> tuple[Fixture, Server]:
    """Data dir + account (CLI) + one operation; returns the still-running first server."""
    data_dir = tmp / "data"
    secret = secrets.token_urlsafe(32)
    env = clean_env()
    env.update(WORLDSMITH_DATA_DIR=str(data_dir), WORLDSMITH_SECRET_KEY=secret)
    logs = tmp / "logs"
    api_key = create_account(env)
    log("account created with the CLI")

    ok, why = engine_importable(env)
    note = ""
    if ok:
        env["WORLDSMITH_EMBEDDED_WORKERS"] = "1"
        server = start_worldsmith(first_kind, env, logs)
        op_id = submit_world(server, api_key)
        log(f"submitted text world (Marble 0.1-mini), operation {op_id}; waiting for done")
        t0 = time.monotonic()
        op: dict[str, Any] = {}
        last_print = 0.0
        while time.monotonic() - t0 < prof.generation_timeout_s:
            op = get_operation(server, api_key, op_id)
            if op.get("done"):
                break
            if time.monotonic() - last_print > 10:
                prog = (op.get("metadata") or {}).get("progress") or {}
                log(f"  ... {prog.get('status')} {prog.get('percentage')}% {prog.get('stage')}")
                last_print = time.monotonic()
            time.sleep(1.0)
        took = time.monotonic() - t0
        if op.get("done") and not op.get("error") and op.get("response"):
            log(f"generation done in {took:.1f}s")
            return (
                Fixture(data_dir, secret, env, api_key, op_id, "done",
                        f"done operation (World with signed URLs), generated in {took:.0f}s"),
                server,
            )  # fmt: skip
        if op.get("done"):
            note = f"generation failed: {op.get('error')}"
        else:
            note = f"generation not done after {prof.generation_timeout_s:.0f}s"
        log(f"{note}; falling back to the not-done operation")
        server.stop()
    else:
        note = f"engine not importable ({ENGINE_MODULE}: {why})"
        log(f"{note}; falling back to the not-done operation")

    env["WORLDSMITH_EMBEDDED_WORKERS"] = "0"
    server = start_worldsmith(first_kind, env, logs)
    op_id = submit_world(server, api_key)
    return (
        Fixture(data_dir, secret, env, api_key, op_id, "not-done",
                f"FALLBACK not-done operation, EMBEDDED_WORKERS=0 ({note})"),
        server,
    )  # fmt: skip


# ---- one server kind ---------------------------------------------------------------------------


@dataclass
class KindResult:
    kind: str
    ws_poll: PollResult
    base_poll: PollResult
    ws_poll1: PollResult  # one connection: service time without queueing
    base_poll1: PollResult
    ws_up: list[UploadResult]
    base_up: list[UploadResult]

    @staticmethod
    def best(runs: list[UploadResult]) -> UploadResult:
        return max(runs, key=lambda r: r.mib_s)


def bench_kind(
    kind: str, fx: Fixture, ws: Server | None, tmp: Path, prof: Profile, chunk: bytes
) -> KindResult:
    logs = tmp / "logs"
    if ws is None:
        ws = start_worldsmith(kind, fx.env, logs)
    base = start_baseline(kind, clean_env(), logs, fx.data_dir / "baseline-uploads")
    try:
        ws_pids, base_pids = ws.pids(), base.pids()
        log(f"{kind}: worldsmith pids {ws_pids}, baseline pids {base_pids}")
        op = get_operation(ws, fx.api_key, fx.operation_id)
        if fx.case == "done" and not op.get("done"):
            raise RuntimeError("the done operation is not done on this server")

        # Poll: alternate worldsmith / baseline rounds so drift hits both alike.
        ws_req = poll_request(ws.port, f"/marble/v1/operations/{fx.operation_id}", fx.api_key)
        base_path = "/marble/v1/operations/" + "x" * len(fx.operation_id)
        base_req = poll_request(base.port, base_path, fx.api_key)
        ws_poll, base_poll = PollResult(), PollResult()
        for rnd in range(prof.poll_rounds):
            for label, srv, req, pids, acc in (
                ("worldsmith", ws, ws_req, ws_pids, ws_poll),
                ("baseline", base, base_req, base_pids, base_poll),
            ):
                r = asyncio.run(
                    _poll_round(srv.port, req, prof.concurrency, prof.warmup_s,
                                prof.poll_round_s, pids)
                )  # fmt: skip
                acc.add(r)
                log(f"{kind}: poll round {rnd + 1} {label:<10} {r.rps:8.0f} req/s  "
                    f"p50 {r.pct_ms(0.5):6.2f} ms  p99 {r.pct_ms(0.99):6.2f} ms  "
                    f"errors {r.errors}  body {r.response_bytes} B  "
                    f"server CPU {r.cpu_us_per_req:.0f} us/req  "
                    f"other procs {r.foreign_cores:.2f} cores")  # fmt: skip

        single: list[PollResult] = []
        for label, srv, req, pids in (
            ("worldsmith", ws, ws_req, ws_pids),
            ("baseline", base, base_req, base_pids),
        ):
            r = asyncio.run(_poll_round(srv.port, req, 1, 0.5, prof.poll_round_s / 2, pids))
            single.append(r)
            log(f"{kind}: poll 1 connection {label:<10} {r.rps:8.0f} req/s  "
                f"p50 {r.pct_ms(0.5):6.2f} ms  p99 {r.pct_ms(0.99):6.2f} ms")  # fmt: skip

        # Upload: worldsmith through a signed URL minted here with the server's secret.
        from worldsmith.core.security import UrlSigner
        from worldsmith.core.storage.local import LocalObjectStore

        store = LocalObjectStore(fx.data_dir / "objects", UrlSigner(fx.secret.encode()), ws.base)
        ws_url = store.presign_upload(
            UPLOAD_KEY, content_type=CONTENT_TYPE, max_bytes=2**31, expires_in=3600
        ).url
        base_url = f"{base.base}/storage/v1/objects/{UPLOAD_KEY}"

        warm_n = prof.warm_upload_bytes
        _, etag = upload(ws_url, chunk, warm_n, ws_pids)
        expect = hashlib.sha256()
        for _ in range(warm_n // len(chunk)):
            expect.update(chunk)
        if etag != expect.hexdigest():
            raise RuntimeError(f"worldsmith ETag {etag!r} is not the body's sha256")
        upload(base_url, chunk, warm_n, base_pids)

        ws_up: list[UploadResult] = []
        base_up: list[UploadResult] = []
        for i in range(prof.upload_runs):
            for label, url, pids, acc in (
                ("worldsmith", ws_url, ws_pids, ws_up),
                ("baseline", base_url, base_pids, base_up),
            ):
                r, _ = upload(url, chunk, prof.upload_bytes, pids)
                acc.append(r)
                log(
                    f"{kind}: PUT run {i + 1} {label:<10} {r.mib_s:7.1f} MiB/s  "
                    f"{r.seconds:5.2f}s (body sent at {r.sent_seconds:5.2f}s)  "
                    f"server CPU {r.server_cpu_s:5.2f}s  RSS +{r.rss_growth / MB:5.1f} MB "
                    f"(from {r.rss_before / MB:.0f} MB)  other procs {r.foreign_cores:.2f} cores"
                )
        stored = fx.data_dir / "objects" / UPLOAD_KEY
        if stored.stat().st_size != prof.upload_bytes:
            raise RuntimeError(f"{stored} has {stored.stat().st_size} bytes")
        return KindResult(kind, ws_poll, base_poll, single[0], single[1], ws_up, base_up)
    finally:
        ws.stop()
        base.stop()


# ---- report ------------------------------------------------------------------------------------


def fmt_num(value: float, digits: int = 0) -> str:
    if value != value:  # nan
        return "-"
    return f"{value:,.{digits}f}"


def summary(results: list[KindResult], fx: Fixture, prof: Profile) -> str:
    size = f"{prof.upload_bytes // MiB} MiB" if prof.upload_bytes < 1024 * MiB else "1 GiB"
    rows: list[tuple[str, ...]] = []
    for k in results:
        wp, bp = k.ws_poll, k.base_poll
        wu, bu = KindResult.best(k.ws_up), KindResult.best(k.base_up)
        poll_ratio = wp.rps / bp.rps if bp.rps else 0.0
        put_ratio = wu.mib_s / bu.mib_s if bu.mib_s else 0.0
        wmed = statistics.median(r.mib_s for r in k.ws_up)
        bmed = statistics.median(r.mib_s for r in k.base_up)
        rows += [
            (k.kind, "poll req/s", fmt_num(wp.rps), fmt_num(bp.rps), f"{poll_ratio:.0%}",
             ">=50%", "PASS" if poll_ratio >= 0.5 else "FAIL"),
            (k.kind, "poll p50 ms", fmt_num(wp.pct_ms(0.5), 2), fmt_num(bp.pct_ms(0.5), 2),
             f"{wp.pct_ms(0.5) / bp.pct_ms(0.5):.1f}x", "", ""),
            (k.kind, "poll p99 ms", fmt_num(wp.pct_ms(0.99), 2), fmt_num(bp.pct_ms(0.99), 2),
             f"{wp.pct_ms(0.99) / bp.pct_ms(0.99):.1f}x", "", ""),
            (k.kind, "poll p50 ms, 1 connection", fmt_num(k.ws_poll1.pct_ms(0.5), 2),
             fmt_num(k.base_poll1.pct_ms(0.5), 2),
             f"{k.ws_poll1.pct_ms(0.5) / k.base_poll1.pct_ms(0.5):.1f}x", "", ""),
            (k.kind, "poll server CPU us/req", fmt_num(wp.cpu_us_per_req),
             fmt_num(bp.cpu_us_per_req), f"{wp.cpu_us_per_req / bp.cpu_us_per_req:.1f}x", "", ""),
            (k.kind, "poll non-200 responses", str(wp.errors + k.ws_poll1.errors),
             str(bp.errors + k.base_poll1.errors), "", "0",
             "PASS" if wp.errors + bp.errors + k.ws_poll1.errors + k.base_poll1.errors == 0
             else "FAIL"),
            (k.kind, f"PUT {size} MiB/s (best)", fmt_num(wu.mib_s, 1), fmt_num(bu.mib_s, 1),
             f"{put_ratio:.0%}", ">=70%", "PASS" if put_ratio >= 0.7 else "FAIL"),
            (k.kind, f"PUT {size} MiB/s (median)", fmt_num(wmed, 1), fmt_num(bmed, 1),
             f"{wmed / bmed:.0%}", "", ""),
            (k.kind, "PUT body-sent s / total s", f"{wu.sent_seconds:.2f}/{wu.seconds:.2f}",
             f"{bu.sent_seconds:.2f}/{bu.seconds:.2f}", "", "", ""),
            (k.kind, "PUT server CPU s", fmt_num(wu.server_cpu_s, 2),
             fmt_num(bu.server_cpu_s, 2), "", "", ""),
            (k.kind, "PUT RSS growth MB (max)", fmt_num(max(r.rss_growth for r in k.ws_up) / MB, 1),
             fmt_num(max(r.rss_growth for r in k.base_up) / MB, 1), "", "<30",
             "PASS" if max(r.rss_growth for r in k.ws_up) < 30 * MB else "FAIL"),
        ]  # fmt: skip
    header = ("server", "metric", "worldsmith", "baseline", "ratio", "target", "")
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    right = {2, 3, 4}

    def line(r: tuple[str, ...]) -> str:
        cells = [
            c.rjust(w) if i in right else c.ljust(w)
            for i, (c, w) in enumerate(zip(r, widths, strict=True))
        ]
        return "  ".join(cells).rstrip()

    out = [line(header), line(tuple("-" * w for w in widths))]
    prev = None
    for r in rows:
        if prev is not None and r[0] != prev:
            out.append("")
        out.append(line(r))
        prev = r[0]
    out.append("")
    out.append(f"poll case measured: {fx.case_note}")
    out.append(
        f"poll: {prof.concurrency} keep-alive connections, raw asyncio HTTP/1.1 client, "
        f"{prof.poll_rounds} x {prof.poll_round_s:.0f}s per app (after {prof.warmup_s:.1f}s "
        f"warm-up each), rounds alternating worldsmith/baseline, then {prof.poll_round_s / 2:.0f}s "
        f"on 1 connection; server CPU = utime+stime of the server's process tree; bodies "
        f"{results[0].ws_poll.response_bytes} B (worldsmith) vs "
        f"{results[0].base_poll.response_bytes} B (baseline)"
    )
    out.append(f"{BASELINE_POLL_DOES}")
    out.append(
        f"PUT: best and median of {prof.upload_runs} run(s) each, alternating, httpx "
        f"streaming 1 MiB chunks with Content-Length, after a "
        f"{prof.warm_upload_bytes // MiB} MiB warm-up; worldsmith = signed URL -> "
        "stream_to_file (sha256 + 4 MiB thread writes + fsync) -> rename"
    )
    out.append(BASELINE_PUT_DOES)
    out.append("RSS growth = peak minus start of the summed VmRSS of the server's process tree")
    out.append(
        "CPU placement: "
        + (f"servers pinned to CPU {sorted(Server.cpus)}, client on another CPU" if Server.cpus
           else "not pinned (server, its threads and the client share both CPUs)")
    )  # fmt: skip
    foreign = max(
        [k.ws_poll.foreign_cores for k in results]
        + [k.base_poll.foreign_cores for k in results]
        + [r.foreign_cores for k in results for r in (*k.ws_up, *k.base_up)]
    )
    note = "" if foreign < 0.1 else "  <-- the machine was not quiet: figures are noisy"
    out.append(f"other processes during measurements: up to {foreign:.2f} cores busy{note}")
    out.append(recommendation(results))
    return "\n".join(out)


def recommendation(results: list[KindResult]) -> str:
    """The server under which worldsmith does better (geometric mean of its poll req/s ratio and
    median PUT MiB/s ratio). Within 10% that is noise here, so the bare baseline's floor (how
    much each server costs by itself) decides, and the line says so."""
    if len(results) < 2:
        return f"recommended server: {results[0].kind} (only one measured)"
    a, b = results

    def ratios(poll_a: float, poll_b: float, put_a: float, put_b: float) -> tuple[float, float]:
        return poll_a / poll_b, put_a / put_b

    def median_up(runs: list[UploadResult]) -> float:
        return statistics.median(r.mib_s for r in runs)

    ws_p, ws_u = ratios(a.ws_poll.rps, b.ws_poll.rps, median_up(a.ws_up), median_up(b.ws_up))
    bl_p, bl_u = ratios(
        a.base_poll.rps, b.base_poll.rps, median_up(a.base_up), median_up(b.base_up)
    )
    ws_score, bl_score = (ws_p * ws_u) ** 0.5, (bl_p * bl_u) ** 0.5
    tie = max(ws_score, 1 / ws_score) < 1.1
    score = bl_score if tie else ws_score
    win, lose = (a, b) if score >= 1 else (b, a)
    flip = 1.0 if win is a else -1.0

    def show(p: float, u: float) -> str:
        return f"poll {p**flip:.2f}x, PUT median {u**flip:.2f}x"

    rss_note = ""
    win_rss = max(r.rss_growth for r in win.ws_up)
    if win_rss >= 30 * MB:
        rss_note = f"; but worldsmith's upload RSS grew {win_rss / MB:.0f} MB on it (target <30)"
    if tie:
        why = (
            f"worldsmith within 10% overall ({show(ws_p, ws_u)}: noise on this machine), so "
            f"by the bare-server floor: baseline on {win.kind} vs {lose.kind} {show(bl_p, bl_u)}"
        )
    else:
        mixed = "" if (ws_p >= 1) == (ws_u >= 1) else "; mixed: the two figures disagree"
        why = f"worldsmith on {win.kind} vs {lose.kind}: {show(ws_p, ws_u)}{mixed}"
    return f"recommended server: {win.kind} ({why}){rss_note}"


# ---- main --------------------------------------------------------------------------------------


def print_log_tails(tmp: Path, kind: str = "", lines: int = 25) -> None:
    """The last lines of the server logs, access-log lines left out."""
    for path in sorted((tmp / "logs").glob(f"*{kind}*.log")):
        text = path.read_text(errors="replace").splitlines()
        kept = [ln for ln in text if not ln.startswith("INFO:     127.0.0.1:")][-lines:]
        print(f"--- {path.name} (last {len(kept)} lines) ---", file=sys.stderr)
        print("\n".join(kept), file=sys.stderr, flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description="worldsmith API benchmark vs a bare baseline")
    parser.add_argument("--quick", action="store_true", help="shorter run, 256 MiB upload")
    parser.add_argument("--servers", default=",".join(SERVERS), help="uvicorn,granian")
    parser.add_argument("--keep", action="store_true", help="keep the temp dir (logs, data)")
    parser.add_argument(
        "--pin",
        action="store_true",
        help="pin every server to CPU 0 and this client to CPU 1 (default: no pinning)",
    )
    args = parser.parse_args()
    prof = QUICK if args.quick else FULL
    kinds = [k.strip() for k in args.servers.split(",") if k.strip()]
    for k in kinds:
        if k not in SERVERS:
            parser.error(f"unknown server {k!r}")

    def on_term(signum: int, _frame: Any) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, signal.default_int_handler)  # even if started with SIGINT ignored
    tmp = Path(tempfile.mkdtemp(prefix="worldsmith-bench-"))
    (tmp / "logs").mkdir()
    started = time.monotonic()
    log(f"bench {'quick' if args.quick else 'full'} on {os.cpu_count()} CPUs; temp dir {tmp}")
    chunk = os.urandom(MiB)
    if args.pin:
        cpus = sorted(os.sched_getaffinity(0))
        if len(cpus) < 2:
            parser.error("--pin needs at least 2 CPUs")
        Server.cpus = {cpus[0]}
        os.sched_setaffinity(0, {cpus[1]})
        log(f"pinned: servers on CPU {cpus[0]}, client on CPU {cpus[1]}")
    try:
        fx, first = prepare_fixture(kinds[0], tmp, prof)
        log(f"poll case: {fx.case_note}")
        results: list[KindResult] = []
        failed: list[str] = []
        for i, kind in enumerate(kinds):
            try:
                results.append(bench_kind(kind, fx, first if i == 0 else None, tmp, prof, chunk))
            except Exception as exc:  # report it, go on with the other server kind
                failed.append(f"{kind}: FAILED: {type(exc).__name__}: {str(exc)[:300]}")
                log(failed[-1])
                print_log_tails(tmp, kind)
        print()
        if results:
            print(summary(results, fx, prof))
        for line in failed:
            print(line)
        print(f"\ntotal bench time {time.monotonic() - started:.0f}s", flush=True)
        return 1 if failed else 0
    except KeyboardInterrupt:
        log("interrupted")
        return 130
    except Exception:
        print_log_tails(tmp)
        raise
    finally:
        Server.stop_all()
        if args.keep:
            log(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
