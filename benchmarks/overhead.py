"""What jupyterlab-carbon costs: the sampler's CPU and memory, and the slowdown of cell execution.

Why this exists: the extension runs inside every user's Jupyter server and watches every cell,
so it must be cheap enough to leave on. Two things are measured:

(a) The sampler at its default period (0.5 s) on a fake powercap tree of 8 channels (4 packages
    and 4 DRAM zones) that a child process advances in real time (``RealTimeDriver``): its CPU
    use, by the sampler thread's own CPU clock and by this process's CPU time with vs without a
    sampler (interleaved blocks); the ring buffer's capacity and its memory when full (one hour,
    measured with tracemalloc); and what the per-cell and per-second queries cost on a full buffer.
(b) 1,000 trivial cells through a real kernel of a real Jupyter server with the extension on vs
    off, over the kernel WebSocket, in interleaved blocks: the total time, the ratio, the per-cell
    latency, the servers' CPU, and that the "on" server recorded every run in its ledger.

Run from the repository root: ``python benchmarks/overhead.py`` (one JSON object on stdout,
progress on stderr). ``--drive-tree ROOT`` is the internal mode of the child process that
advances the fake tree.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import itertools
import json
import os
import platform
import random
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import tracemalloc
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import psutil

REPO = Path(__file__).resolve().parent.parent
SERVER_EXT = REPO / "server-ext"
sys.path.insert(0, str(SERVER_EXT))

from jupyterlab_carbon.attribution import window_energy  # noqa: E402
from jupyterlab_carbon.meters import MeterConfig, open_meters  # noqa: E402
from jupyterlab_carbon.sampler import Sampler  # noqa: E402
from tests.fakesysfs import FakePowercap, RealTimeDriver, constant  # noqa: E402

DEFAULT_PERIOD_S = 0.5  # CarbonConfig.sample_period_s
DEFAULT_HISTORY_S = 3600.0  # CarbonConfig.history_s
PACKAGES = 4
DRIVER_PERIOD_S = 0.05  # how often the child rewrites the counters (20 Hz; the sampler reads at 2 Hz)
CPU_TARGET_PCT = 0.5
ADVANCE_EVERY = 10  # ring-buffer fill: samples between two advances of the static tree
RATIO_TARGET = 1.03


def log(message: str) -> None:
    print(f"[overhead] {message}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------- the fake tree


def build_tree(root: Path) -> FakePowercap:
    """4 CPU packages and their DRAM zones: the 8 channels a 4-socket Intel server exposes.

    Core/uncore subzones are left out on purpose: RaplSource never reads them (they overlap
    the package), so they would only cost directory listing at start-up. The counters are
    rewritten in place, as sysfs presents them: the server keeps each counter's file open
    (``reread.RereadFile``), and a file replaced by a rename would make it reopen on every read.
    """
    fake = FakePowercap(root, in_place=True)
    fake.root.mkdir(parents=True, exist_ok=True)
    for package in range(PACKAGES):
        fake.add_zone(f"intel-rapl:{package}", f"package-{package}", constant(20.0 + 2 * package))
        fake.add_zone(f"intel-rapl:{package}:0", "dram", constant(3.0))
    return fake


def drive_tree(root: Path, period_s: float) -> None:
    """Child-process mode: build the tree, advance it in real time until stdin closes.

    In a child so that the driver's CPU never lands on the measured process's CPU clock.
    """
    fake = build_tree(root)
    with RealTimeDriver(fake, period_s=period_s):
        print("ready", flush=True)
        sys.stdin.read()  # returns when the parent closes the pipe or dies


@dataclass
class TreeDriver:
    """The child process that advances the fake tree; started and stopped by its pid only."""

    root: Path
    process: subprocess.Popen[str] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, __file__, "--drive-tree", str(self.root), "--driver-period", str(DRIVER_PERIOD_S)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdout is not None
        if self.process.stdout.readline().strip() != "ready":
            raise RuntimeError("the tree driver did not start")

    def stop(self) -> None:
        if self.process is None:
            return
        if self.process.stdin:
            self.process.stdin.close()
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def meter_config(root: Path, **overrides: Any) -> MeterConfig:
    """What the server extension would open, minus every real meter of this machine."""
    return MeterConfig(
        powercap_root=root, hwmon_root=root.parent / "no-hwmon", use_nvml=False, use_amdsmi=False, **overrides
    )


# --------------------------------------------------------------------------- (a) sampler


def thread_cpu_s(thread: threading.Thread) -> float:
    """CPU seconds of one thread of this process, read from outside it (ns resolution)."""
    assert thread.ident is not None
    return time.clock_gettime(time.pthread_getcpuclockid(thread.ident))


def sampler_cpu(root: Path, blocks: int, block_s: float) -> dict[str, Any]:
    """Sampler CPU, two ways, over ``blocks`` interleaved pairs of off/on blocks.

    The thread clock is exact for the sampler thread. The process CPU difference (on minus off)
    also catches what the thread clock cannot: work the sampler causes elsewhere in the process.
    Off blocks go first or second in alternate pairs so that a drift of the machine's load cancels.
    """
    on_thread_s = on_process_s = on_wall_s = off_process_s = off_wall_s = 0.0
    samples = 0
    periods: list[float] = []
    channels: list[str] = []
    for index in range(blocks):
        order = ("off", "on") if index % 2 == 0 else ("on", "off")
        for mode in order:
            if mode == "off":
                gc.collect()
                cpu0, wall0 = time.process_time(), time.perf_counter()
                time.sleep(block_s)
                off_process_s += time.process_time() - cpu0
                off_wall_s += time.perf_counter() - wall0
                continue
            meters = open_meters(meter_config(root))  # validates the counters (0.25 s), as the server does
            sampler = Sampler(meters, period_s=DEFAULT_PERIOD_S, history_s=DEFAULT_HISTORY_S)
            channels = [c.id for c in sampler.channels]
            sampler.start()
            assert sampler._thread is not None
            gc.collect()
            thread0, cpu0, wall0 = thread_cpu_s(sampler._thread), time.process_time(), time.perf_counter()
            time.sleep(block_s)
            on_thread_s += thread_cpu_s(sampler._thread) - thread0
            on_process_s += time.process_time() - cpu0
            on_wall_s += time.perf_counter() - wall0
            sampler.stop()
            taken = sampler.snapshot()
            samples += len(taken) - 1  # the first comes from start(), on the main thread
            periods += [b.mono - a.mono for a, b in itertools.pairwise(taken)]
        log(
            f"sampler block pair {index + 1}/{blocks}: thread {100 * on_thread_s / on_wall_s:.4f} % of a core, "
            f"process on {100 * on_process_s / on_wall_s:.4f} % / off {100 * off_process_s / off_wall_s:.4f} %"
        )
    thread_pct = 100 * on_thread_s / on_wall_s
    process_delta_pct = 100 * (on_process_s / on_wall_s - off_process_s / off_wall_s)
    return {
        "tree": f"{PACKAGES} packages + {PACKAGES} DRAM zones, advanced in real time every "
        f"{DRIVER_PERIOD_S} s by RealTimeDriver in a child process",
        "channels": channels,
        "sample_period_s": DEFAULT_PERIOD_S,
        "sampler_run_s": round(on_wall_s, 2),
        "blocks": f"{blocks} on + {blocks} off, {block_s:g} s each, interleaved",
        "samples_on_thread": samples,
        "achieved_period_s": {"mean": statistics.fmean(periods), "max": max(periods)},
        "sampler_thread_cpu_s": on_thread_s,
        "cpu_us_per_sample": 1e6 * on_thread_s / max(samples, 1),
        "sampler_thread_cpu_pct_of_one_core": thread_pct,
        "process_cpu_pct_on": 100 * on_process_s / on_wall_s,
        "process_cpu_pct_off": 100 * off_process_s / off_wall_s,
        "process_cpu_pct_on_minus_off": process_delta_pct,
        "statistic_held_against_target": "max(sampler_thread_cpu_pct_of_one_core, process_cpu_pct_on_minus_off)",
        "target_pct": CPU_TARGET_PCT,
        "met": max(thread_pct, process_delta_pct) <= CPU_TARGET_PCT,
    }


def ring_buffer(root: Path) -> dict[str, Any]:
    """Fill a default Sampler's buffer to capacity on a manual clock; measure it with tracemalloc.

    The clock moves one period per sample and the counters every ``ADVANCE_EVERY`` samples (the
    fake tree rewrites 8 files per step, which would make the fill slow); every sample still holds
    fresh float objects, because each read adds the counter delta to a running float.
    Then time what is done against a full buffer: ``window_energy`` once per recorded cell (in
    the watcher's thread pool) and ``power_now`` once per second for the live display.
    """
    fake = build_tree(root)
    clock = [0.0]
    meters = open_meters(meter_config(root, validate_wait_s=0.0, clock=lambda: clock[0]))
    gc.collect()
    tracemalloc.start()
    sampler = Sampler(
        meters, period_s=DEFAULT_PERIOD_S, history_s=DEFAULT_HISTORY_S,
        clock=lambda: clock[0], wall_clock=lambda: 1_800_000_000.0 + clock[0],
    )
    gc.collect()
    before, _ = tracemalloc.get_traced_memory()
    started = time.perf_counter()
    for index in range(sampler.capacity):
        clock[0] += sampler.period_s
        if index % ADVANCE_EVERY == 0:
            fake.advance(clock[0] - fake.now, step=clock[0] - fake.now)
        sampler.sample_once()
    fill_s = time.perf_counter() - started
    gc.collect()
    after, _ = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    held = len(sampler.snapshot())
    log(f"ring buffer: {held} samples of {len(sampler.channels)} channels hold {(after - before) / 2**20:.2f} MiB")

    def timed(function: Any, repeats: int) -> float:
        tic = time.perf_counter()
        for _ in range(repeats):
            function()
        return (time.perf_counter() - tic) / repeats

    end = 1_800_000_000.0 + clock[0] - 2.0
    window_s = timed(lambda: window_energy(sampler, end - 1.0, end), 20)
    power_s = timed(sampler.power_now, 50)
    snapshot_s = timed(sampler.snapshot, 50)
    sampler.stop()
    return {
        "capacity_samples": sampler.capacity,
        "history_s": DEFAULT_HISTORY_S,
        "sample_period_s": DEFAULT_PERIOD_S,
        "channels": len(sampler.channels),
        "samples_held": held,
        "bytes": after - before,
        "mib": (after - before) / 2**20,
        "bytes_per_sample": (after - before) / held,
        "fill_s": round(fill_s, 2),
        "full_buffer_costs_ms": {
            "window_energy_1s_window": 1000 * window_s,
            "power_now": 1000 * power_s,
            "snapshot": 1000 * snapshot_s,
        },
    }


# --------------------------------------------------------------------------- (b) cells


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Server:
    """One ``jupyter server`` child with its own throwaway Jupyter directories."""

    name: str
    extension: bool
    base: Path
    tree: Path
    package: Path  # what it imports jupyterlab_carbon from (``--package``: another commit's server-ext)
    port: int = field(default_factory=free_port)
    token: str = field(default_factory=lambda: secrets.token_hex(16))
    process: subprocess.Popen[bytes] | None = None
    kernel_id: str | None = None
    child_pids: set[int] = field(default_factory=set)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log_path(self) -> Path:
        return self.base / "server.log"

    def start(self) -> None:
        for sub in ("data", "runtime", "config", "ipython", "root"):
            (self.base / sub).mkdir(parents=True, exist_ok=True)
        # A JSON config file rather than the command line: traitlets reads a Dict option on the
        # command line as a Python literal (True/False), so the JSON form '{"x": true}' fails
        # there, and 'x=False' would give the *string* 'False', which enables the extension.
        config = {
            "ServerApp": {"jpserver_extensions": {"jupyterlab_carbon": self.extension}},
            "CarbonConfig": {
                "powercap_root": str(self.tree),
                "hwmon_root": str(self.base / "no-hwmon"),
                "use_nvml": False,
                "use_amdsmi": False,
            },
        }
        (self.base / "config" / "jupyter_server_config.json").write_text(json.dumps(config, indent=1))
        env = dict(os.environ)
        env.update(
            JUPYTER_DATA_DIR=str(self.base / "data"),
            JUPYTER_RUNTIME_DIR=str(self.base / "runtime"),
            JUPYTER_CONFIG_DIR=str(self.base / "config"),
            IPYTHONDIR=str(self.base / "ipython"),
            PYTHONPATH=os.pathsep.join([str(self.package), *filter(None, [os.environ.get("PYTHONPATH")])]),
        )
        command = [
            sys.executable, "-m", "jupyter_server", "--no-browser", "--allow-root", "--ip=127.0.0.1",
            f"--port={self.port}", "--ServerApp.port_retries=0", f"--IdentityProvider.token={self.token}",
            f"--ServerApp.root_dir={self.base / 'root'}",
        ]
        with self.log_path.open("wb") as out:
            self.process = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT)

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def remember_children(self) -> None:
        """Note the kernel's pid (a child of the server) so it can be ended by id if orphaned."""
        if self.process is None:
            return
        with contextlib.suppress(psutil.Error):
            self.child_pids |= {p.pid for p in psutil.Process(self.process.pid).children(recursive=True)}

    def cpu_s(self) -> float:
        """CPU seconds of the server process itself (not the kernel)."""
        assert self.process is not None
        times = psutil.Process(self.process.pid).cpu_times()
        return times.user + times.system

    def loop_cpu_s(self) -> float:
        """CPU seconds of the server's main thread alone: its event loop, where every message is
        relayed and the watcher works (the recorder and sampler threads are not counted)."""
        assert self.process is not None
        pid = self.process.pid
        fields = Path(f"/proc/{pid}/task/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime, stime

    def stop(self) -> None:
        if self.process is None:
            return
        self.remember_children()
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)  # the server shuts its kernels down on SIGTERM
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        for pid in self.child_pids:
            try:
                orphan = psutil.Process(pid)
                orphan.terminate()
                orphan.wait(timeout=5)
            except psutil.TimeoutExpired:
                orphan.kill()
            except psutil.Error:
                pass


async def request(server: Server, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    """One authenticated REST call; (status code, parsed JSON or None)."""
    from tornado.httpclient import AsyncHTTPClient

    response = await AsyncHTTPClient().fetch(
        server.url + path,
        method=method,
        body=None if body is None else json.dumps(body),
        headers={"Authorization": f"token {server.token}"},
        raise_error=False,
        request_timeout=60,
    )
    text = response.body.decode() if response.body else ""
    try:
        return response.code, json.loads(text) if text else None
    except json.JSONDecodeError:
        return response.code, None


async def shut_down(server: Server) -> None:
    """Shut the server's kernel down through the API, then stop the server (also on error)."""
    if server.kernel_id and server.process and server.process.poll() is None:
        try:
            await request(server, "DELETE", f"/api/kernels/{server.kernel_id}")
        except Exception as err:  # stopping the server below also ends the kernel
            log(f"could not shut down the {server.name} kernel: {err}")
    server.stop()


async def wait_ready(server: Server, timeout_s: float = 120.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        assert server.process is not None
        if server.process.poll() is not None:
            raise RuntimeError(f"{server.name} server exited ({server.process.returncode}):\n{server.log_tail()}")
        try:
            code, _ = await request(server, "GET", "/api/status")
            if code == 200:
                return
        except OSError:
            pass
        await asyncio.sleep(0.25)
    raise RuntimeError(f"{server.name} server not ready after {timeout_s} s:\n{server.log_tail()}")


@dataclass
class KernelClient:
    """A kernel's WebSocket (JSON protocol): send execute_request, wait for its status: idle.

    ``quickack``: acknowledge every received segment at once (TCP_QUICKACK after each read).
    jupyter_server does not set TCP_NODELAY on its WebSockets, so of the 3-4 small frames a cell
    produces, the second waits (Nagle) for the ACK of the first, which a Linux client delays by
    ~40 ms. That stall is idle time in which the extension's work would hide; acking at once
    removes it and leaves the server's own work on the critical path.
    """

    ws: Any
    quickack: bool = True
    session: str = field(default_factory=lambda: uuid.uuid4().hex)
    replies: dict[str, int] = field(default_factory=dict)

    async def _read(self) -> Any:
        raw = await self.ws.read_message()
        if self.quickack:
            self.ws.protocol.stream.socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_QUICKACK, 1)
        return raw

    async def execute(self, code: str) -> float:
        msg_id = uuid.uuid4().hex
        message = {
            "header": {
                "msg_id": msg_id, "username": "benchmark", "session": self.session,
                "msg_type": "execute_request", "version": "5.3",
                "date": datetime.now(timezone.utc).isoformat(),
            },
            "parent_header": {}, "metadata": {}, "channel": "shell", "buffers": [],
            "content": {
                "code": code, "silent": False, "store_history": True, "user_expressions": {},
                "allow_stdin": False, "stop_on_error": True,
            },
        }
        started = time.perf_counter()
        await self.ws.write_message(json.dumps(message))
        while True:
            raw = await self._read()
            if raw is None:
                raise ConnectionError("kernel WebSocket closed")
            if isinstance(raw, bytes):
                continue
            reply = json.loads(raw)
            kind = reply.get("msg_type")
            if kind == "execute_reply":
                status = (reply.get("content") or {}).get("status", "?")
                self.replies[status] = self.replies.get(status, 0) + 1
            elif (
                kind == "status"
                and reply.get("channel") == "iopub"
                and (reply.get("parent_header") or {}).get("msg_id") == msg_id
                and reply["content"].get("execution_state") == "idle"
            ):
                return time.perf_counter() - started


async def open_kernel(server: Server) -> KernelClient:
    from tornado.websocket import websocket_connect

    code, kernel = await request(server, "POST", "/api/kernels", {"name": "python3"})
    if code not in (200, 201):
        raise RuntimeError(f"{server.name}: cannot start a kernel ({code}): {kernel}\n{server.log_tail()}")
    server.kernel_id = kernel["id"]
    ws = await websocket_connect(
        f"ws://127.0.0.1:{server.port}/api/kernels/{server.kernel_id}/channels?token={server.token}",
        max_message_size=64 * 2**20,
    )
    server.remember_children()
    return KernelClient(ws)


async def listen_to_events(server: Server) -> tuple[Any, asyncio.Task[dict[str, int]]]:
    """What JupyterLab with the extension keeps open: the events WebSocket (live power, every
    recorded run as JSON), read and parsed as it comes; the task returns the messages and the
    events read when it closes (a message holds one event or an array of them)."""
    from tornado.websocket import websocket_connect

    ws = await websocket_connect(
        f"ws://127.0.0.1:{server.port}/carbon/events?token={server.token}", max_message_size=64 * 2**20
    )

    async def drain() -> dict[str, int]:
        messages = events = 0
        while (text := await ws.read_message()) is not None:
            messages += 1
            data = json.loads(text)
            events += len(data) if isinstance(data, list) else 1
        return {"messages": messages, "events": events}

    return ws, asyncio.ensure_future(drain())


async def runs_recorded(server: Server) -> int:
    code, body = await request(server, "GET", f"/carbon/runs?kernel_id={server.kernel_id}&limit=1")
    if code != 200:
        raise RuntimeError(f"GET /carbon/runs answered {code}: {body}")
    return int(body["total"])


async def wait_recorded(server: Server, expected: int, timeout_s: float) -> tuple[int, float]:
    """Poll the ledger until it holds ``expected`` runs of the kernel; (count, seconds waited)."""
    started = time.monotonic()
    count = await runs_recorded(server)
    while count < expected and time.monotonic() - started < timeout_s:
        await asyncio.sleep(0.1)
        count = await runs_recorded(server)
    return count, time.monotonic() - started


def ratio_spread(pairs: Sequence[tuple[float, float]], resamples: int = 2000) -> dict[str, Any]:
    """How far the machine moves the ratio: each block pair's own on/off ratio, and a bootstrap
    interval of the whole ratio (block pairs drawn with replacement; seeded, so reproducible)."""
    rng = random.Random(0)
    ratios = [on / off for on, off in pairs]
    totals = []
    for _ in range(resamples):
        drawn = [pairs[rng.randrange(len(pairs))] for _ in pairs]
        totals.append(sum(on for on, _ in drawn) / sum(off for _, off in drawn))
    totals.sort()
    return {
        "pair_ratios": [round(r, 4) for r in ratios],
        "pair_ratio_median": statistics.median(ratios),
        "bootstrap_90": [totals[int(0.05 * resamples)], totals[int(0.95 * resamples) - 1]],
    }


def verdict(phase: dict[str, Any]) -> str:
    """"met" when the whole 90 % interval is within the target, "not met" when it is all above,
    "not shown" when the interval straddles it (the machine's noise is larger than the margin)."""
    low, high = phase["ratio_spread"]["bootstrap_90"]
    return "met" if high <= RATIO_TARGET else "not met" if low > RATIO_TARGET else "not shown"


def quantiles(values: Sequence[float]) -> dict[str, float]:
    ordered = sorted(values)
    return {
        "p50_ms": 1000 * statistics.median(ordered),
        "p95_ms": 1000 * ordered[int(0.95 * (len(ordered) - 1))],
        "mean_ms": 1000 * statistics.fmean(ordered),
    }


async def interleaved(
    on: Server, off: Server, clients: dict[str, KernelClient], args: argparse.Namespace, cells: int, sent: int
) -> dict[str, Any]:
    """``cells`` cells per server in ABBA-ordered blocks; wall time, latency and server CPU.

    After each "on" block, wait until the ledger holds every run sent so far: a run is recorded
    1.5 sample periods after its cell, in a thread, and that work belongs to the "on" block's
    CPU, not to the next "off" block's wall time. ``sent``: runs recorded before this phase.
    """
    latencies: dict[str, list[float]] = {"on": [], "off": []}
    block_wall = {"on": 0.0, "off": 0.0}
    pairs: list[tuple[float, float]] = []  # each pair's (on, off) block wall times
    server_cpu = {"on": 0.0, "off": 0.0}
    during_blocks = {"on": {"all": 0.0, "loop": 0.0}, "off": {"all": 0.0, "loop": 0.0}}
    drain_s = 0.0
    blocks = cells // args.block
    for index in range(blocks):
        order = (on, off) if index % 2 == 0 else (off, on)
        pair: dict[str, float] = {}
        for server in order:
            client = clients[server.name]
            cpu0, loop0 = server.cpu_s(), server.loop_cpu_s()
            tic = time.perf_counter()
            for _ in range(args.block):
                latencies[server.name].append(await client.execute(args.code))
            pair[server.name] = time.perf_counter() - tic
            during_blocks[server.name]["all"] += server.cpu_s() - cpu0
            during_blocks[server.name]["loop"] += server.loop_cpu_s() - loop0
            block_wall[server.name] += pair[server.name]
            if server is on:
                _, waited = await wait_recorded(on, sent + len(latencies["on"]), 30.0)
                drain_s += waited
            server_cpu[server.name] += server.cpu_s() - cpu0
        pairs.append((pair["on"], pair["off"]))
        log(
            f"  block pair {index + 1}/{blocks}: on {block_wall['on']:.2f} s, off {block_wall['off']:.2f} s, "
            f"ratio {block_wall['on'] / block_wall['off']:.3f}"
        )
    measured = len(latencies["on"])
    return {
        "cells_per_server": measured,
        "blocks": f"{blocks} per server of {args.block} cells, ABBA-interleaved",
        "total_s": block_wall,
        "ratio_on_off": block_wall["on"] / block_wall["off"],
        "ratio_spread": ratio_spread(pairs),
        "latency": {"on": quantiles(latencies["on"]), "off": quantiles(latencies["off"])},
        "server_cpu_s": {k: round(v, 3) for k, v in server_cpu.items()},
        "server_cpu_ms_per_cell": {k: 1000 * v / measured for k, v in server_cpu.items()},
        # While the cells ran (the recording after each "on" block, and its polling, left out);
        # "loop": the server's main thread alone (clock ticks: summed over blocks, not per cell).
        "server_cpu_ms_per_cell_during_blocks": {
            name: {part: round(1000 * v / measured, 3) for part, v in parts.items()}
            for name, parts in during_blocks.items()
        },
        "waiting_for_records_after_on_blocks_s": round(drain_s, 2),
    }


def watcher_costs(server: Server) -> dict[str, Any]:
    """What the edge reads cost per cell, timed here on the same kernel (on the edge worker
    thread in the server, off its event loop): the kernel's process tree CPU at the start, a
    refresh of its descendants plus its CPU at the end, and the node's busy CPU at both."""
    from jupyterlab_carbon.process_tree import ProcessTree, node_busy_cpu_s

    assert server.process is not None
    kernels = psutil.Process(server.process.pid).children()
    tree = ProcessTree(kernels[0].pid if kernels else server.process.pid)
    repeats = 200
    tic = time.perf_counter()
    for _ in range(repeats):
        tree.cpu_s()
    cpu_ms = 1000 * (time.perf_counter() - tic) / repeats
    tic = time.perf_counter()
    for _ in range(repeats):
        tree.refresh()
    refresh_ms = 1000 * (time.perf_counter() - tic) / repeats
    tic = time.perf_counter()
    for _ in range(repeats):
        node_busy_cpu_s()
    busy_ms = 1000 * (time.perf_counter() - tic) / repeats
    return {
        "tree_cpu_ms": cpu_ms,
        "tree_refresh_ms": refresh_ms,
        "node_busy_cpu_ms": busy_ms,
        "processes_on_node": len(psutil.pids()),
    }


def rss_mib(server: Server) -> float:
    assert server.process is not None
    return psutil.Process(server.process.pid).memory_info().rss / 2**20


async def large_outputs(
    on: Server, off: Server, clients: dict[str, KernelClient], args: argparse.Namespace
) -> dict[str, Any]:
    """Cells printing megabytes: every IOPub message passes the watcher, which must not decode
    (or keep) their content. The servers' RSS growth over the cells, on vs off, is the figure;
    jupyter_server itself relays each output to the kernel's WebSocket in both."""
    code = f"print('x' * {int(args.large_mb * 2**20)})"
    before = {s.name: rss_mib(s) for s in (on, off)}
    cpu0 = {s.name: s.cpu_s() for s in (on, off)}
    for server in (on, off):
        for _ in range(args.large_cells):
            await clients[server.name].execute(code)
    await asyncio.sleep(1.0)
    after = {s.name: rss_mib(s) for s in (on, off)}
    growth = {name: after[name] - before[name] for name in after}
    return {
        "cells_per_server": args.large_cells,
        "output_mb_per_cell": args.large_mb,
        "rss_mib_before": before,
        "rss_mib_after": after,
        "rss_growth_mib": growth,
        "extra_growth_on_mib": growth["on"] - growth["off"],
        "server_cpu_ms_per_cell": {s.name: 1000 * (s.cpu_s() - cpu0[s.name]) / args.large_cells for s in (on, off)},
    }


def server_package(args: argparse.Namespace) -> Path:
    return args.package.resolve() if args.package is not None else SERVER_EXT


async def cells(args: argparse.Namespace, base: Path, tree: Path) -> dict[str, Any]:
    """1,000 trivial cells per server in interleaved blocks, extension on vs off."""
    on = Server("on", True, base / "on", tree, server_package(args))
    off = Server("off", False, base / "off", tree, server_package(args))
    servers = (on, off)
    try:
        for server in servers:
            server.start()
        await asyncio.gather(*(wait_ready(server) for server in servers))
        status = {s.name: (await request(s, "GET", "/carbon/status"))[0] for s in servers}
        log(f"servers up on ports {on.port} (extension on) and {off.port} (off); /carbon/status: {status}")
        if status != {"on": 200, "off": 404}:
            raise RuntimeError(f"/carbon/status should answer 200 on and 404 off, got {status}")
        _, carbon_status = await request(on, "GET", "/carbon/status")
        clients = {s.name: await open_kernel(s) for s in servers}
        events, events_read = await listen_to_events(on)

        # Warm up: import paths, the kernel's first executions, the ledger's first write.
        for server in servers:
            for _ in range(args.warmup):
                await clients[server.name].execute(args.code)
        await wait_recorded(on, args.warmup, 30.0)

        phases = {}
        sent = args.warmup
        # TCP_QUICKACK is Linux-only: elsewhere the plain client carries the 1,000 cells and the target.
        quickack = hasattr(socket, "TCP_QUICKACK")
        plan = [("quickack", args.cells), ("plain", args.plain_cells)] if quickack else [("plain", args.cells)]
        held = plan[0][0]
        for mode, count in plan:
            if count <= 0:
                continue
            for client in clients.values():
                client.quickack = mode == "quickack"
            log(f"(b) {mode} client: {count} cells per server in blocks of {args.block}")
            phases[mode] = await interleaved(on, off, clients, args, count, sent)
            sent += count
        large = None
        if args.large_cells > 0:
            log(f"(c) large outputs: {args.large_cells} cells printing {args.large_mb} MB each, per server")
            large = await large_outputs(on, off, clients, args)
            sent += args.large_cells
        count, lag_s = await wait_recorded(on, sent, 60.0)
        events.close()
        return {
            "events_websocket_read_on": await events_read,
            "large_outputs": large,
            "code": args.code,
            "warmup_cells_per_server": args.warmup,
            "carbon_status_http": status,
            "on_server_channels": [c["id"] for c in (carbon_status or {}).get("channels", [])],
            "held_against_target": held,
            "target_ratio": RATIO_TARGET,
            "verdict": verdict(phases[held]) if held in phases else None,
            "phases": phases,
            "execute_replies": {k: c.replies for k, c in clients.items()},
            "runs_recorded_on": count,
            "runs_expected_on": sent,
            "all_runs_recorded": count >= sent,
            "record_lag_after_last_cell_s": round(lag_s, 2),
            "per_cell_watcher_costs_ms": watcher_costs(on),
        }
    except BaseException:
        for server in servers:
            log(f"{server.name} server log tail:\n{server.log_tail()}")
        raise
    finally:
        for server in servers:
            await shut_down(server)


# --------------------------------------------------------------------------- main


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sampler-blocks", type=int, default=6, help="off/on pairs for the sampler CPU")
    parser.add_argument("--sampler-block-s", type=float, default=5.0, help="seconds per sampler block")
    parser.add_argument("--cells", type=int, default=1000, help="measured cells per server (quickack client)")
    parser.add_argument("--plain-cells", type=int, default=500,
                        help="then this many per server with a plain client (~40 ms Nagle stall per cell)")
    parser.add_argument("--block", type=int, default=100, help="cells per interleaved block")
    parser.add_argument("--warmup", type=int, default=20, help="unmeasured cells per server first")
    parser.add_argument("--code", default="pass", help="the trivial cell")
    parser.add_argument("--large-cells", type=int, default=40, help="then cells printing --large-mb each")
    parser.add_argument("--large-mb", type=float, default=1.0, help="output of each large cell, in MiB")
    parser.add_argument("--skip-cells", action="store_true", help="only part (a)")
    parser.add_argument(
        "--package",
        type=Path,
        help="the servers import jupyterlab_carbon from this server-ext folder (another commit's)",
    )
    parser.add_argument("--drive-tree", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--driver-period", type=float, default=DRIVER_PERIOD_S, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.drive_tree:
        drive_tree(args.drive_tree, args.driver_period)
        return 0

    started = time.perf_counter()
    output: dict[str, Any] = {
        "benchmark": "overhead",
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": {
            "platform": platform.platform(),
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "load_avg_at_start": [round(v, 2) for v in os.getloadavg()],
            "power_meters": "none used: synthetic powercap tree (tests/fakesysfs.py), counters rewritten in place",
        },
        "servers_import": str(server_package(args)),
    }
    with tempfile.TemporaryDirectory(prefix="carbon-overhead-") as tmp:
        base = Path(tmp)
        driver = TreeDriver(base / "powercap")
        driver.start()
        try:
            log("(a) sampler CPU at the default period, 8 channels")
            output["sampler"] = sampler_cpu(driver.root, args.sampler_blocks, args.sampler_block_s)
            log("(a) ring buffer memory when full")
            output["ring_buffer"] = ring_buffer(base / "static-powercap")
            if not args.skip_cells:
                log(f"(b) {args.cells} cells per server, extension on vs off")
                output["cells"] = asyncio.run(cells(args, base / "servers", driver.root))
        finally:
            driver.stop()
    output["elapsed_s"] = round(time.perf_counter() - started, 1)
    json.dump(output, sys.stdout, indent=2)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
