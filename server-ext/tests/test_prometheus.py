"""The Prometheus metrics on jupyter_server's /metrics, scraped by a real Prometheus server."""

from __future__ import annotations

import shutil
import statistics
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from .fakesysfs import FakePowercap
from .liveserver import LiveServer
from .prometheus import temporary_prometheus

pytestmark = pytest.mark.skipif(
    shutil.which("prometheus") is None, reason="Prometheus not installed (make test-setup installs it)"
)
BUSY = "import time\nend = time.perf_counter() + {seconds}\nwhile time.perf_counter() < end:\n    pass"


def run_cell(client: Any, code: str) -> None:
    reply = client.execute_interactive(code, timeout=60)
    assert reply["content"]["status"] == "ok", reply


def wait_runs(server: LiveServer, kernel_id: str, count: int) -> list[dict[str, Any]]:
    deadline = time.monotonic() + 30
    while len(runs := server.runs(kernel_id=kernel_id)) < count and time.monotonic() < deadline:
        time.sleep(0.2)
    assert len(runs) == count
    return runs


def test_prometheus_scrapes_node_energy_and_attributed_runs(tmp_path: Path, live_powercap: FakePowercap) -> None:
    server = LiveServer(tmp_path / "server", live_powercap.root).start()
    try:
        with pytest.raises(urllib.error.HTTPError) as refused:  # Jupyter's own authentication guards /metrics
            urllib.request.urlopen(f"{server.url}/metrics", timeout=10)
        assert refused.value.code == 403
        kernel_id, client = server.start_kernel()
        try:
            run_cell(client, "x = 1")  # the kernel's series exists before the scrapes begin
            before = wait_runs(server, kernel_id, 1)
            with temporary_prometheus(server.port, server.token) as prometheus:
                prometheus.wait_scraped("jupyter", after=time.time())
                for seconds in (0.3, 0.6, 0.2):
                    run_cell(client, BUSY.format(seconds=seconds))
                runs = wait_runs(server, kernel_id, 4)
                # The server's own power, read beside the scrapes for 10 s.
                watts = []
                for _ in range(10):
                    _, power = server.request("GET", "/carbon/power")
                    watts.append(next(c["watts"] for c in power["channels"] if c["id"] == "cpu/package-0"))
                    time.sleep(1.0)
                prometheus.wait_scraped("jupyter", after=time.time())
                rate = prometheus.value(
                    'rate(jupyterlab_carbon_node_energy_joules_total{channel="cpu/package-0"}[10s])'
                )
                assert rate == pytest.approx(statistics.fmean(watts), rel=0.15)
                series = f'jupyterlab_carbon_attributed_energy_joules_total{{kernel_id="{kernel_id}"}}'
                assert prometheus.value(series) == pytest.approx(sum(r["attributed_j"] for r in runs), rel=1e-9)
                busy_j = sum(r["attributed_j"] for r in runs) - before[0]["attributed_j"]
                increase = prometheus.value(f"increase({series}[2m])")
                assert increase == pytest.approx(busy_j, rel=0.15)  # PromQL's extrapolation at the window's edges
                assert prometheus.value('sum(jupyterlab_carbon_runs_total{status="ok"})') == 4
                labels = prometheus.query("jupyterlab_carbon_node_energy_joules_total")[0]["metric"]
                assert {"channel", "domain", "method"} <= set(labels) and labels["method"] == "measured-counter"
        finally:
            client.stop_channels()
    finally:
        server.stop()
