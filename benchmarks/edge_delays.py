"""How late the server reads the meters after a kernel's busy/idle timestamps, per kind of cell.

Why this exists: a cell's window is [t0, t1], the kernel's own timestamps on its ``status: busy``
and ``status: idle`` messages, but the server can only read the meters when those messages reach
it. Every run record carries that delay (``extra.edge_delay_s``: edge read's wall time minus the
kernel's timestamp, at the start and at the end). This script measures it through the real path:
a ``jupyter server`` with the extension on loopback (token, throwaway Jupyter directories, a fake
powercap tree advanced in real time by a child process, as in ``overhead.py``), one real kernel,
cells sent over the kernel's WebSocket, and the delays read back from ``GET /carbon/runs``.

Three kinds of cell, shuffled: ``idle`` (``pass``), ``sleep`` (``time.sleep`` of 0.1-1 s) and
``cpu`` (a pure-Python loop of 0.1-2 s, holding the GIL: ipykernel's IOPub thread then waits for it
before it can send ``busy``). Cells are matched to runs by the hash of their (unique) code.

Run from the repository root: ``python benchmarks/edge_delays.py > edge_delays.json`` (one JSON
object on stdout, progress on stderr). ``benchmarks/accuracy.py`` replays the delays stored in
``benchmarks/edge_delays.json``; ``--merge a.json b.json ...`` pools the delays of several runs
(this machine is shared and noisy: one run's tail is not the next one's).
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import platform
import random
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from overhead import Server, TreeDriver, open_kernel, request, shut_down, wait_ready

KINDS = ("idle", "sleep", "cpu")
PERCENTILES = (0.0, 0.05, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 1.0)


def log(message: str) -> None:
    print(f"[edge-delays] {message}", file=sys.stderr, flush=True)


def cell_code(kind: str, seconds: float, index: int) -> str:
    """The cell's source; the trailing index makes every cell's code (and its hash) unique."""
    if kind == "idle":
        return f"pass  # {index}"
    if kind == "sleep":
        return f"import time\ntime.sleep({seconds:.3f})  # {index}"
    return (
        "import time\n"
        f"_end = time.perf_counter() + {seconds:.3f}\n"
        "while time.perf_counter() < _end:\n"
        f"    _x = sum(i * i for i in range(200))  # {index}"
    )


def plan(cells_per_kind: int, seed: int) -> list[tuple[str, float, str]]:
    """(kind, intended seconds, code) for every cell, in a shuffled order."""
    rng = random.Random(seed)
    cells: list[tuple[str, float]] = []
    for kind in KINDS:
        for _ in range(cells_per_kind):
            seconds = 0.0 if kind == "idle" else rng.uniform(0.1, 1.0) if kind == "sleep" else rng.uniform(0.1, 2.0)
            cells.append((kind, seconds))
    rng.shuffle(cells)
    return [(kind, seconds, cell_code(kind, seconds, index)) for index, (kind, seconds) in enumerate(cells)]


def percentiles(values: Sequence[float]) -> dict[str, float]:
    """Linear-interpolated percentiles, in milliseconds."""
    ordered = sorted(values)
    out: dict[str, float] = {}
    for q in PERCENTILES:
        position = q * (len(ordered) - 1)
        low = int(position)
        high = min(low + 1, len(ordered) - 1)
        value = ordered[low] + (ordered[high] - ordered[low]) * (position - low)
        out[f"p{round(q * 100)}"] = round(value * 1000, 3)
    return out


async def measure(args: argparse.Namespace, base: Path, tree: Path) -> dict[str, Any]:
    server = Server("carbon", True, base / "server", tree)
    try:
        server.start()
        await wait_ready(server)
        client = await open_kernel(server)
        for index in range(args.warmup):
            await client.execute(f"pass  # warm-up {index}")
        cells = plan(args.cells, args.seed)
        by_hash = {hashlib.sha256(code.encode()).hexdigest(): (kind, seconds) for kind, seconds, code in cells}
        log(f"server on port {server.port}; {len(cells)} cells ({args.cells} per kind), shuffled")
        for count, (_, _, code) in enumerate(cells, start=1):
            await client.execute(code)
            await asyncio.sleep(args.pause)  # as between cells a person runs
            if count % 30 == 0:
                log(f"{count} cells sent")
        expected = args.warmup + len(cells)
        deadline = time.monotonic() + 60
        while True:
            code, body = await request(server, "GET", f"/carbon/runs?kernel_id={server.kernel_id}&limit=10000")
            if code != 200:
                raise RuntimeError(f"GET /carbon/runs answered {code}: {body}")
            if body["total"] >= expected or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.2)
        delays: dict[str, dict[str, list[float]]] = {kind: {"start": [], "end": []} for kind in KINDS}
        durations: dict[str, list[float]] = {kind: [] for kind in KINDS}
        for run in body["runs"]:
            cell = by_hash.get(run.get("code_hash") or "")
            edge = (run.get("extra") or {}).get("edge_delay_s")
            if cell is None or edge is None:
                continue
            delays[cell[0]]["start"].append(edge["start"])
            delays[cell[0]]["end"].append(edge["end"])
            durations[cell[0]].append(run["ended_at"] - run["started_at"])
        found = sum(len(d["start"]) for d in delays.values())
        if found != len(cells):
            raise RuntimeError(f"{found} of {len(cells)} cells have a run with edge delays")
        return {
            "runs_matched": found,
            "execute_replies": client.replies,
            "kinds": {
                kind: {
                    "count": len(delays[kind]["start"]),
                    "window_s": {"min": round(min(durations[kind]), 4), "max": round(max(durations[kind]), 4)},
                    "start_ms": percentiles(delays[kind]["start"]),
                    "end_ms": percentiles(delays[kind]["end"]),
                    # The raw delays (seconds), what accuracy.py replays.
                    "start_s": sorted(round(v, 6) for v in delays[kind]["start"]),
                    "end_s": sorted(round(v, 6) for v in delays[kind]["end"]),
                }
                for kind in KINDS
            },
        }
    except BaseException:
        log(f"server log tail:\n{server.log_tail()}")
        raise
    finally:
        await shut_down(server)


def merge(paths: Sequence[Path]) -> dict[str, Any]:
    """One distribution from several runs' raw delays, each run's own figures kept."""
    runs = [json.loads(path.read_text()) for path in paths]
    kinds: dict[str, Any] = {}
    for kind in KINDS:
        start = sorted(v for run in runs for v in run["kinds"][kind]["start_s"])
        end = sorted(v for run in runs for v in run["kinds"][kind]["end_s"])
        kinds[kind] = {
            "count": len(start),
            "start_ms": percentiles(start),
            "end_ms": percentiles(end),
            "start_s": start,
            "end_s": end,
        }
    return {
        "benchmark": "edge_delays",
        "date": max(run["date"] for run in runs),
        "pooled_runs": [
            {key: run[key] for key in ("date", "machine", "method", "cells_per_kind", "pause_s", "seed")}
            | {
                "kinds": {
                    k: {f: v[f] for f in ("count", "window_s", "start_ms", "end_ms")} for k, v in run["kinds"].items()
                }
            }
            for run in runs
        ],
        "kinds": kinds,
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cells", type=int, default=40, help="cells per kind")
    parser.add_argument("--warmup", type=int, default=5, help="unmeasured trivial cells first")
    parser.add_argument("--pause", type=float, default=0.3, help="seconds between a cell's idle and the next cell")
    parser.add_argument("--seed", type=int, default=7, help="seed of the durations and the order")
    parser.add_argument("--merge", type=Path, nargs="+", help="pool these runs' delays instead of measuring")
    args = parser.parse_args(argv)
    if args.merge:
        json.dump(merge(args.merge), sys.stdout, indent=1)
        sys.stdout.write("\n")
        return 0
    started = time.perf_counter()
    load_before = [round(v, 2) for v in os.getloadavg()]
    with tempfile.TemporaryDirectory(prefix="carbon-edge-delays-") as tmp:
        base = Path(tmp)
        driver = TreeDriver(base / "powercap")
        driver.start()
        try:
            result = asyncio.run(measure(args, base, driver.root))
        finally:
            driver.stop()
    output = {
        "benchmark": "edge_delays",
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {
            "platform": platform.platform(),
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "load_avg_before": load_before,
            "load_avg_after": [round(v, 2) for v in os.getloadavg()],
        },
        "method": (
            "One jupyter_server with the extension (fake powercap tree advanced in real time, 8 channels), "
            "one ipykernel; cells over the kernel WebSocket, one at a time, a pause between them; "
            "delay = wall time of the server's edge read minus the kernel's busy/idle header date, "
            "from extra.edge_delay_s of each run in GET /carbon/runs."
        ),
        "cells_per_kind": args.cells,
        "pause_s": args.pause,
        "seed": args.seed,
        **result,
        "elapsed_s": round(time.perf_counter() - started, 1),
    }
    json.dump(output, sys.stdout, indent=1)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
