"""A real Prometheus server (Debian's ``prometheus``) on loopback, scraping a Jupyter server, for tests."""

from __future__ import annotations

import contextlib
import http.client
import json
import shutil
import subprocess
import tempfile
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from .liveserver import PORT_ATTEMPTS, free_port

INSTALL_HINT = "Prometheus is not installed: `make test-setup` installs it, or `apt-get install -y prometheus`."


class Prometheus:
    def __init__(self, url: str) -> None:
        self.url = url

    def query(self, promql: str) -> list[dict[str, Any]]:
        """The instant vector of ``promql`` now (Prometheus's HTTP API)."""
        address = f"{self.url}/api/v1/query?{urllib.parse.urlencode({'query': promql})}"
        with urllib.request.urlopen(address, timeout=10) as response:
            body = json.loads(response.read())
        assert body["status"] == "success", body
        return list(body["data"]["result"])

    def value(self, promql: str) -> float | None:
        result = self.query(promql)
        return float(result[0]["value"][1]) if result else None

    def wait_scraped(self, job: str, after: float, timeout_s: float = 30) -> None:
        """Until a scrape of ``job`` that began after ``after`` (epoch s) succeeded."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            with urllib.request.urlopen(f"{self.url}/api/v1/targets", timeout=10) as response:
                targets = json.loads(response.read())["data"]["activeTargets"]
            for target in targets:
                scraped = target.get("lastScrape", "")
                if target["labels"].get("job") == job and target["health"] == "up" and scraped:
                    stamp = time.mktime(time.strptime(scraped[:19], "%Y-%m-%dT%H:%M:%S")) - time.timezone
                    if stamp > after:
                        return
            time.sleep(0.2)
        raise AssertionError(f"Prometheus did not scrape {job} in time: {targets}")


@contextlib.contextmanager
def temporary_prometheus(target_port: int, token: str, job: str = "jupyter") -> Iterator[Prometheus]:
    """Prometheus scraping ``127.0.0.1:target_port/metrics`` every second with Jupyter's token."""
    binary = shutil.which("prometheus")
    if binary is None:
        raise RuntimeError(INSTALL_HINT)
    with tempfile.TemporaryDirectory(prefix="carbon-prometheus-") as work:
        base = Path(work)
        config = base / "prometheus.yml"
        config.write_text(
            "global: {scrape_interval: 1s, evaluation_interval: 1s}\n"
            "scrape_configs:\n"
            f"  - job_name: {job}\n"
            "    metrics_path: /metrics\n"
            f"    authorization: {{type: token, credentials: {token}}}\n"
            f"    static_configs: [{{targets: ['127.0.0.1:{target_port}']}}]\n"
        )
        process, url = _start(binary, config, base)
        try:
            yield Prometheus(url)
        finally:
            process.terminate()
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _start(binary: str, config: Path, base: Path) -> tuple[subprocess.Popen[bytes], str]:
    """Prometheus ready on a free port; started again on another when the one found free was
    taken before it bound it (another test's kernel), twice at most."""
    log_path = base / "prometheus.log"
    for _ in range(PORT_ATTEMPTS):
        port = free_port()
        with log_path.open("wb") as log:
            process = subprocess.Popen(
                [
                    binary,
                    f"--config.file={config}",
                    f"--storage.tsdb.path={base / 'data'}",
                    f"--web.listen-address=127.0.0.1:{port}",
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while process.poll() is None:
            try:
                with urllib.request.urlopen(f"{url}/-/ready", timeout=2) as response:
                    if response.status == 200:
                        return process, url
            except (OSError, http.client.HTTPException):
                pass  # not up yet, or another process on the port until Prometheus stops
            if time.monotonic() > deadline:
                process.kill()
                process.wait()
                raise AssertionError("Prometheus did not become ready:\n" + log_path.read_text(errors="replace"))
            time.sleep(0.2)
        output = log_path.read_text(errors="replace")
        if "address already in use" not in output:
            raise AssertionError("Prometheus stopped:\n" + output)
    raise AssertionError(f"no free port for Prometheus after {PORT_ATTEMPTS} tries")
