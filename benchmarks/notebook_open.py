"""How long a big badged notebook takes to show its first cell, with and without jupyterlab-carbon.

Why this exists: every executed cell carries a badge summary in its metadata, so a notebook's
size must not make the extension's work per cell grow (issue 7, observation 10: a 1,000-cell
notebook showed its first cell 2.4x later with the extension). This script:

1. generates a notebook of N executed code cells (default 1,000), each with a short output and a
   summary in the format ``src/badges/summary.ts`` writes (``summaryFromRun``), with real figures:
   energies drawn from a log-normal spread, emissions, cost and equivalents computed by the
   package's own ``compute_impact`` with the bundled intensity of a grid zone, five runs of history;
2. starts two JupyterLab servers on loopback, each with throwaway Jupyter directories: "on" with
   the labextension and the server extension (fake empty powercap and hwmon roots, no NVML or
   amdsmi, so no meter is read), "off" with the labextension disabled through page_config's
   ``disabledExtensions`` and the server extension off;
3. opens the notebook in Debian's Chromium, alternating the servers round by round
   (``benchmarks/notebook_open.mjs``, Playwright from ui-tests/node_modules), each load in a fresh
   browser context and a fresh workspace, its kernel shut down after it;
4. prints one JSON object: every load, the medians and the ratio on/off of the first-cell time.

Run from the repository root with the project's virtual environment, after ``npm run build``
(the labextension that the editable install serves) and ``cd ui-tests && npm ci``:
``.venv/bin/python benchmarks/notebook_open.py > notebook_open.json`` (about 3 min).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import random
import re
import secrets
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
SERVER_EXT = REPO / "server-ext"
sys.path.insert(0, str(SERVER_EXT))

from jupyterlab_carbon.intensity.impact import compute_impact  # noqa: E402
from jupyterlab_carbon.intensity.resolve import IntensitySettings, resolve_intensity  # noqa: E402
from tests.liveserver import free_port  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
NOTEBOOK = "big.ipynb"
HISTORY_LENGTH = 5  # src/badges/summary.ts HISTORY_LENGTH
TARGET_RATIO = 1.10
HOST = platform.node() or "node"


def log(message: str) -> None:
    print(f"[notebook_open {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def summary(rng: random.Random, started_at: float) -> dict[str, Any]:
    """A cell summary as ``summaryFromRun`` writes it, for one plausible CPU run and its history."""

    def one_run() -> dict[str, Any]:
        duration = rng.lognormvariate(0.0, 1.2)  # seconds: most cells short, a few long
        watts = rng.uniform(8.0, 45.0)
        attributed = duration * watts
        return {"duration_s": duration, "attributed_j": attributed, "node_j": attributed * rng.uniform(1.1, 2.5)}

    resolved = resolve_intensity(IntensitySettings(settings_zone="FR", price_per_kwh=0.25, currency="EUR"))
    run = one_run()
    impact = compute_impact(run["attributed_j"] * 1.0, resolved, 0.25, "EUR")
    idle = run["attributed_j"] * 0.2
    cpu_share = 0.8
    history = []
    for back in range(1, HISTORY_LENGTH + 1):
        earlier = one_run()
        earlier_impact = compute_impact(earlier["attributed_j"], resolved, 0.25, "EUR")
        history.append(
            {
                "started_at": started_at - 600.0 * back,
                "duration_s": earlier["duration_s"],
                "energy_j": earlier["attributed_j"],
                "gco2e": earlier_impact.gco2e,
            }
        )
    return {
        "version": 1,
        "run_id": uuid.UUID(int=rng.getrandbits(128)).hex,
        "msg_id": str(uuid.UUID(int=rng.getrandbits(128))),
        "host": HOST,
        "started_at": started_at,
        "duration_s": run["duration_s"],
        "status": "ok",
        "energy_j": run["attributed_j"],
        "node_j": run["node_j"],
        "idle_j": idle,
        "active_j": run["attributed_j"] - idle,
        "methods": ["modeled"],
        "flags": [],
        "channels": [
            {
                "label": "CPU (modeled)",
                "domain": "cpu",
                "method": "modeled",
                "node_j": run["node_j"] * cpu_share,
                "attributed_j": run["attributed_j"] * cpu_share,
            },
            {
                "label": "Memory (modeled)",
                "domain": "dram",
                "method": "modeled",
                "node_j": run["node_j"] * (1 - cpu_share),
                "attributed_j": run["attributed_j"] * (1 - cpu_share),
            },
        ],
        "gco2e": impact.gco2e,
        "cost": impact.cost,
        "currency": impact.currency,
        "intensity": {
            "gco2e_per_kwh": resolved.gco2e_per_kwh,
            "method": resolved.method,
            "zone": resolved.zone,
            "source": resolved.source,
            "year": resolved.year,
            "is_assumption": resolved.is_assumption,
            "message": resolved.message,
        },
        "pue": impact.pue,
        "equivalents": [
            {"label": e.label, "value": e.value, "unit": e.unit, "source": e.source} for e in impact.equivalents
        ],
        "history": history,
    }


def generate_notebook(path: Path, cells: int, seed: int) -> int:
    """Write the notebook; returns its size in bytes."""
    rng = random.Random(seed)
    started = 1_790_000_000.0
    notebook_cells = []
    for index in range(cells):
        source = [
            f"# step {index}: fit a small model on batch {index % 37}\n",
            f"batch = data[{index * 64}:{index * 64 + 64}]\n",
            "loss = model.train_step(batch)\n",
            "print(f'loss {loss:.4f}')",
        ]
        notebook_cells.append(
            {
                "cell_type": "code",
                "execution_count": index + 1,
                "id": uuid.UUID(int=rng.getrandbits(128)).hex[:12],
                "metadata": {"jupyterlab-carbon": summary(rng, started + 10.0 * index)},
                "outputs": [{"name": "stdout", "output_type": "stream", "text": [f"loss {rng.random():.4f}\n"]}],
                "source": source,
            }
        )
    notebook = {
        "cells": notebook_cells,
        "metadata": {
            "kernelspec": {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"},
            "language_info": {"name": "python"},
        },
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    text = json.dumps(notebook, indent=1)
    path.write_text(text)
    return len(text.encode())


@dataclass
class LabServer:
    """One ``jupyter lab`` child with throwaway Jupyter directories, the extension on or off."""

    name: str
    extension: bool
    base: Path
    root: Path
    port: int = field(default_factory=free_port)
    token: str = field(default_factory=lambda: secrets.token_hex(16))
    labextension: Path | None = None
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        config_dir = self.base / "config"
        for sub in ("data", "runtime", "ipython", "no-powercap", "no-hwmon"):
            (self.base / sub).mkdir(parents=True, exist_ok=True)
        (config_dir / "labconfig").mkdir(parents=True, exist_ok=True)
        if self.labextension is not None:
            # The user data directory comes first in JupyterLab's search path: this build wins.
            (self.base / "data" / "labextensions").mkdir(parents=True)
            (self.base / "data" / "labextensions" / "jupyterlab-carbon").symlink_to(self.labextension.resolve())
        # JSON config files: a Dict option on the command line is read as a Python literal.
        server_config = {
            "ServerApp": {"jpserver_extensions": {"jupyterlab_carbon": self.extension}},
            "CarbonConfig": {
                "powercap_root": str(self.base / "no-powercap"),
                "hwmon_root": str(self.base / "no-hwmon"),
                "use_nvml": False,
                "use_amdsmi": False,
            },
        }
        (config_dir / "jupyter_server_config.json").write_text(json.dumps(server_config, indent=1))
        page_config = {"disabledExtensions": {} if self.extension else {"jupyterlab-carbon": True}}
        (config_dir / "labconfig" / "page_config.json").write_text(json.dumps(page_config, indent=1))
        env = dict(os.environ)
        env.update(
            JUPYTER_DATA_DIR=str(self.base / "data"),
            JUPYTER_RUNTIME_DIR=str(self.base / "runtime"),
            JUPYTER_CONFIG_DIR=str(config_dir),
            IPYTHONDIR=str(self.base / "ipython"),
            # In a virtual environment jupyter_core searches the environment's directories first;
            # the throwaway user directories must win (the --labextension build, the config).
            JUPYTER_PREFER_ENV_PATH="0",
        )
        command = [
            sys.executable, "-m", "jupyterlab", "--no-browser", "--allow-root", "--ip=127.0.0.1",
            f"--port={self.port}", "--ServerApp.port_retries=0", f"--IdentityProvider.token={self.token}",
            f"--ServerApp.root_dir={self.root}",
        ]  # fmt: skip
        with (self.base / "server.log").open("wb") as out:
            self.process = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT)

    def get(self, path: str) -> tuple[int, bytes]:
        request = urllib.request.Request(f"{self.url}{path}", headers={"Authorization": f"token {self.token}"})
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, response.read()
        except urllib.error.HTTPError as error:
            return error.code, error.read()

    def wait_ready(self, timeout_s: float = 120.0) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} server exited: see {self.base / 'server.log'}")
            try:
                if self.get("/api/status")[0] == 200:
                    return
            except OSError:
                pass
            time.sleep(0.5)
        raise TimeoutError(f"{self.name} server did not answer within {timeout_s} s")

    def check(self) -> None:
        """The servers differ exactly as intended: carbon's API and labextension on one only."""
        status, _ = self.get("/carbon/status")
        if status != (200 if self.extension else 404):
            raise RuntimeError(f"{self.name}: /carbon/status answered {status}")
        _, page = self.get("/lab")
        match = re.search(rb'<script id="jupyter-config-data" type="application/json">(.*?)</script>', page, re.S)
        if match is None:
            raise RuntimeError(f"{self.name}: /lab has no page config")
        page_config = json.loads(match.group(1))
        disabled = "jupyterlab-carbon" in page_config.get("disabledExtensions", [])
        if disabled == self.extension:
            raise RuntimeError(f"{self.name}: the page config does not match (disabled={disabled})")
        if self.extension:
            build = self.labextension or SERVER_EXT / "jupyterlab_carbon" / "labextension"
            expected = json.loads((build / "package.json").read_text())["jupyterlab"]["_build"]["load"]
            served = [e["load"] for e in page_config["federated_extensions"] if e["name"] == "jupyterlab-carbon"]
            if served != [expected]:
                raise RuntimeError(f"{self.name}: serves {served}, not the build at {build} ({expected})")

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)  # the server shuts its kernels down on SIGTERM
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def median(values: Sequence[float]) -> float:
    return float(statistics.median(values))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cells", type=int, default=1000, help="code cells in the notebook (default 1000)")
    parser.add_argument("--rounds", type=int, default=7, help="loads per server, alternating (default 7)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--chromium", default=CHROMIUM)
    parser.add_argument(
        "--labextension",
        type=Path,
        help="serve this built labextension on the 'on' server instead of the installed one "
        "(e.g. an older version's server-ext/jupyterlab_carbon/labextension, to compare)",
    )
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="carbon-open-") as tmp:
        base = Path(tmp)
        root = base / "root"
        root.mkdir()
        size = generate_notebook(root / NOTEBOOK, args.cells, args.seed)
        log(f"notebook: {args.cells} cells, {size / 1e6:.2f} MB")
        servers = [
            LabServer("on", True, base / "on", root, labextension=args.labextension),
            LabServer("off", False, base / "off", root),
        ]
        try:
            for server in servers:
                server.start()
            for server in servers:
                server.wait_ready()
                server.check()
            log("servers ready; opening the notebook")
            measure = {
                "chromium": args.chromium,
                "rounds": args.rounds,
                "notebook": NOTEBOOK,
                "servers": [{"name": s.name, "url": s.url, "token": s.token} for s in servers],
            }
            completed = subprocess.run(
                ["node", str(Path(__file__).with_suffix(".mjs")), json.dumps(measure)],
                check=True,
                stdout=subprocess.PIPE,
            )
            loads: list[dict[str, Any]] = json.loads(completed.stdout)
        finally:
            for server in servers:
                server.stop()

    by_server = {name: [load for load in loads if load["server"] == name] for name in ("on", "off")}
    for name, expected in (("on", True), ("off", False)):
        if any(load["extension_loaded"] != expected for load in by_server[name]):
            raise RuntimeError(f"the extension was {'not ' if expected else ''}loaded on the {name} server")
    first_cell = {name: median([load["first_cell_ms"] for load in by_server[name]]) for name in by_server}
    ratio = first_cell["on"] / first_cell["off"]
    output = {
        "benchmark": "notebook_open",
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform()},
        "notebook": {"code_cells": args.cells, "bytes": size},
        "labextension": str(args.labextension) if args.labextension else "installed",
        "rounds": args.rounds,
        "median_first_cell_ms": {name: round(value, 1) for name, value in first_cell.items()},
        "median_first_badge_ms": round(median([load["first_badge_ms"] for load in by_server["on"]]), 1),
        "ratio_first_cell_on_off": round(ratio, 3),
        "target_ratio": TARGET_RATIO,
        "within_target": math.isfinite(ratio) and ratio <= TARGET_RATIO,
        "loads": loads,
    }
    json.dump(output, sys.stdout, indent=2)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
