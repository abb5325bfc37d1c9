"""A Jupyter server with the extension in a process of its own, for tests that stop or kill it."""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import psutil
from jupyter_client.blocking.client import BlockingKernelClient

# How many ports a server is tried on (see LiveServer.start).
PORT_ATTEMPTS = 3


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class LiveServer:
    """``python -m jupyter_server`` on loopback with throwaway Jupyter directories under ``base``.

    The directories survive a stop, so a second server started on the same ``base`` finds the
    first one's ledger, as a user's next server would.
    """

    def __init__(self, base: Path, powercap_root: Path, **carbon: Any) -> None:
        """``carbon``: more CarbonConfig options (a team ledger's URL, the user)."""
        self.base = base
        self.powercap_root = powercap_root
        self.carbon = carbon
        self.token = secrets.token_hex(16)
        self.port = 0
        self.process: subprocess.Popen[bytes] | None = None
        self.kernel_pids: set[int] = set()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ledger_path(self) -> Path:
        return self.base / "data" / "carbon" / "ledger.sqlite"

    def log(self) -> str:
        try:
            return (self.base / "server.log").read_text(errors="replace")
        except OSError:
            return ""

    def start(self) -> LiveServer:
        for sub in ("data", "runtime", "config", "ipython", "root"):
            (self.base / sub).mkdir(parents=True, exist_ok=True)
        config = {
            "ServerApp": {"jpserver_extensions": {"jupyterlab_carbon": True}},
            "CarbonConfig": {
                "powercap_root": str(self.powercap_root),
                "hwmon_root": str(self.base / "no-hwmon"),
                "use_nvml": False,
                "use_amdsmi": False,
                "sample_period_s": 0.1,
                **self.carbon,
            },
        }
        (self.base / "config" / "jupyter_server_config.json").write_text(json.dumps(config))
        env = {
            **os.environ,
            "JUPYTER_DATA_DIR": str(self.base / "data"),
            "JUPYTER_RUNTIME_DIR": str(self.base / "runtime"),
            "JUPYTER_CONFIG_DIR": str(self.base / "config"),
            "IPYTHONDIR": str(self.base / "ipython"),
        }
        # A port found free may be taken (another test's kernel) before the server binds it: the
        # server then stops, saying so, and is started again on another port, twice at most.
        for _ in range(PORT_ATTEMPTS):
            if self._start_on(free_port(), env):
                return self
        raise AssertionError(f"no free port for the server after {PORT_ATTEMPTS} tries:\n{self.log()}")

    def _start_on(self, port: int, env: dict[str, str]) -> bool:
        """True once the server answers on ``port``; False when another process held the port."""
        self.port = port
        command = [
            sys.executable, "-m", "jupyter_server", "--no-browser", "--allow-root", "--ip=127.0.0.1",
            f"--port={self.port}", "--ServerApp.port_retries=0", f"--IdentityProvider.token={self.token}",
            f"--ServerApp.root_dir={self.base / 'root'}",
        ]
        with (self.base / "server.log").open("ab") as out:
            self.process = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                if f"The port {port} is already in use" in self.log():
                    return False
                raise AssertionError(f"the server stopped:\n{self.log()}")
            try:
                if self.request("GET", "/carbon/status", timeout_s=2)[0] == 200:
                    return True
            except (OSError, http.client.HTTPException):
                pass  # not up yet, or (before the server's bind fails) another process on the port
            time.sleep(0.2)
        raise AssertionError(f"the server did not come up:\n{self.log()}")

    def request(self, method: str, path: str, body: Any = None, timeout_s: float = 30) -> tuple[int, Any]:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            self.url + path, data=data, method=method, headers={"Authorization": f"token {self.token}"}
        )
        try:
            with urllib.request.urlopen(request, timeout=timeout_s) as response:
                raw = response.read()
                return response.status, json.loads(raw) if raw else None
        except urllib.error.HTTPError as err:
            raw = err.read()
            return err.code, json.loads(raw) if raw.startswith(b"{") else raw

    def start_kernel(self) -> tuple[str, BlockingKernelClient]:
        status, model = self.request("POST", "/api/kernels", {"name": "python3"})
        assert status == 201, model
        kernel_id = model["id"]
        client = BlockingKernelClient(connection_file=str(self.base / "runtime" / f"kernel-{kernel_id}.json"))
        client.load_connection_file()
        client.start_channels()
        assert self.process is not None
        self.kernel_pids |= {p.pid for p in psutil.Process(self.process.pid).children(recursive=True)}
        return kernel_id, client

    def wait_running(self, kernel_id: str, timeout_s: float = 20) -> dict[str, Any]:
        """The execution the server reports in flight on ``kernel_id``."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            _, body = self.request("GET", "/carbon/executions")
            found = [e for e in body["executions"] if e["kernel_id"] == kernel_id]
            if found:
                return dict(found[0])
            time.sleep(0.1)
        raise AssertionError("the execution never showed as running")

    def runs(self, **filters: str) -> list[dict[str, Any]]:
        query = "&".join(f"{k}={v}" for k, v in filters.items())
        status, body = self.request("GET", f"/carbon/runs?{query}")
        assert status == 200, body
        return list(body["runs"])

    def stop(self, sig: signal.Signals = signal.SIGTERM, timeout_s: float = 30) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None
        self.end_orphans()

    def end_orphans(self) -> None:
        """Kernels outlive a killed server: end them as the user's machine eventually would."""
        for pid in self.kernel_pids:
            with contextlib.suppress(psutil.Error):
                psutil.Process(pid).kill()
        self.kernel_pids.clear()
