"""What ``jupyter carbon run`` adds to a notebook's execution, against plain ``jupyter nbconvert --execute``.

Why this exists: CI jobs run notebooks headless, and measuring them must not make the job
noticeably slower. Target: ratio <= 1.05 on a notebook of 50 short cells. The commands run the
same notebook as whole processes (start-up, kernel start, execution, writing the notebook), in an
order that rotates from round to round so that drift and neighbours' noise hit all alike; the
carbon runs write to a throwaway ledger. ``jupyter execute`` (nbclient alone, which ``jupyter carbon
run`` builds on) is timed too: nbconvert imports more than nbclient does, so the ratio against it
alone is what measuring adds.

Run from the repository root: ``python benchmarks/headless.py`` (JSON on stdout, progress on stderr).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import nbformat

REPO = Path(__file__).resolve().parent.parent


def short_cells_notebook(path: Path, cells: int) -> None:
    """``cells`` cells of a few microseconds each: what the measurement adds dominates, as in the worst case."""
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell(f"x{i} = {i} * 2\nx{i}") for i in range(cells)
    ]
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nbformat.write(nb, path)


def timed(command: list[str], env: dict[str, str], cwd: Path) -> float:
    started = time.perf_counter()
    subprocess.run(
        command,
        env=env,
        cwd=cwd,
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return time.perf_counter() - started


def edge_cost_ms(pairs: int) -> dict[str, float]:
    """What ``jupyter carbon run`` adds on nbclient's loop per cell: two edge reads (meters, process tree)."""
    sys.path.insert(0, str(REPO / "server-ext"))
    from jupyterlab_carbon.measurement import Monitor, read_edge

    monitor = Monitor.open()
    try:
        costs = []
        for _ in range(pairs):
            started = time.perf_counter()
            read_edge(monitor.sampler, monitor.tree, refresh=True)
            read_edge(monitor.sampler, monitor.tree, refresh=True)
            costs.append((time.perf_counter() - started) * 1000)
    finally:
        monitor.close()
    costs.sort()
    return {
        "median": statistics.median(costs),
        "p90": costs[int(0.9 * len(costs))],
        "pairs": pairs,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cells", type=int, default=50)
    parser.add_argument(
        "--rounds", type=int, default=12, help="rounds of one run per command (the order rotates)"
    )
    args = parser.parse_args()

    load_at_start = os.getloadavg()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        short_cells_notebook(work / "short.ipynb", args.cells)
        env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join(
                [str(REPO / "server-ext"), os.environ.get("PYTHONPATH", "")]
            ),
            "JUPYTERLAB_CARBON_LEDGER_URL": f"sqlite:///{work / 'ledger.sqlite'}",
        }
        commands = {
            "nbconvert": [
                sys.executable,
                "-m",
                "jupyter",
                "nbconvert",
                "--execute",
                "--to",
                "notebook",
                "--output",
                "plain.ipynb",
                "short.ipynb",
            ],
            "execute": [
                sys.executable,
                "-m",
                "jupyter",
                "execute",
                "--output=executed.ipynb",
                "short.ipynb",
            ],
            "carbon": [
                sys.executable,
                "-m",
                "jupyterlab_carbon.cli",
                "run",
                "short.ipynb",
                "-o",
                "carbon.ipynb",
            ],
        }
        for command in commands.values():  # warm the caches (imports, the kernel spec) for all
            timed(command, env, work)
        names = list(commands)
        times: dict[str, list[float]] = {name: [] for name in commands}
        for round_ in range(args.rounds):
            shift = round_ % len(names)
            order = names[shift:] + names[:shift]
            if round_ // len(names) % 2:
                order.reverse()  # every command first, middle and last, after each of the others
            for name in order:
                times[name].append(timed(commands[name], env, work))
            print(
                f"round {round_ + 1}/{args.rounds}: "
                + ", ".join(f"{n} {times[n][-1]:.2f} s" for n in order),
                file=sys.stderr,
            )
    edges = edge_cost_ms(200)
    print(f"two edge reads per cell: median {edges['median']:.2f} ms", file=sys.stderr)
    medians = {name: statistics.median(values) for name, values in times.items()}

    def pair_ratio(reference: str) -> float:
        return statistics.median(c / r for c, r in zip(times["carbon"], times[reference], strict=True))

    result: dict[str, Any] = {
        "benchmark": "headless",
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "load_at_start": load_at_start,
            "load_at_end": os.getloadavg(),
        },
        "cells": args.cells,
        "rounds": args.rounds,
        "seconds": times,
        "median_s": medians,
        "ratio_of_medians": medians["carbon"] / medians["nbconvert"],
        "median_pair_ratio": pair_ratio("nbconvert"),
        "target_ratio": 1.05,
        "against_execute": {
            "ratio_of_medians": medians["carbon"] / medians["execute"],
            "median_pair_ratio": pair_ratio("execute"),
        },
        "edge_reads_per_cell_ms": edges,
    }
    json.dump(result, sys.stdout, indent=1)
    print()


if __name__ == "__main__":
    main()
