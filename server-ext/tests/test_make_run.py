"""The README's first command, `make run`, starts JupyterLab and serves the demo notebook."""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from .liveserver import free_port

REPO = Path(__file__).resolve().parents[2]
TOKEN = "make-run-test-token"


def served_at(runtime: Path) -> str | None:
    """The running server's URL, from the file it writes in its runtime directory once listening.

    Not the port it was asked for: another test's kernel may take that port between its choice and
    the server's bind, and the server then moves to the next free one (``port_retries``)."""
    for info in runtime.glob("jpserver-*.json"):
        try:
            return f"http://127.0.0.1:{json.loads(info.read_text())['port']}"
        except (OSError, ValueError, KeyError):
            continue  # being written
    return None


def get(url: str) -> tuple[int, bytes]:
    request = urllib.request.Request(url, headers={"Authorization": f"token {TOKEN}"})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as err:
        return err.code, err.read()


@pytest.mark.skipif(not (REPO / "Makefile").exists(), reason="needs the source checkout")
@pytest.mark.parametrize("port_taken", [False, True], ids=["port-free", "port-taken"])
def test_make_run_serves_the_demo(tmp_path: Path, port_taken: bool) -> None:
    """Also when another process holds its port: the server moves to a free one and says so."""
    holder = socket.socket()
    if port_taken:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
    else:
        port = free_port()
    env = {
        **os.environ,
        "PORT": str(port),
        "JUPYTER_TOKEN": TOKEN,
        # Keep the user's ledger and runtime files out of it; no browser to open here.
        "JUPYTER_DATA_DIR": str(tmp_path / "data"),
        "JUPYTER_RUNTIME_DIR": str(tmp_path / "runtime"),
        "JUPYTER_CONFIG_DIR": str(tmp_path / "config"),
        "BROWSER": "true",
    }
    log_path = tmp_path / "make-run.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            ["make", "run"], cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, start_new_session=True,
        )
        try:
            base = None
            deadline = time.monotonic() + 240  # setup is already done by `make test`; a cold one takes longer
            status = 0
            while time.monotonic() < deadline:
                assert process.poll() is None, f"make run exited {process.returncode}:\n{log_path.read_text()}"
                base = served_at(tmp_path / "runtime")
                if base is not None:
                    try:
                        status, _ = get(f"{base}/api/status")
                    except (OSError, http.client.HTTPException):
                        status = 0
                    if status == 200:
                        break
                time.sleep(0.5)
            assert base is not None and status == 200, f"the server never answered:\n{log_path.read_text()}"
            status, body = get(f"{base}/api/contents/demo.ipynb?content=1")
            assert status == 200, body
            notebook = json.loads(body)
            assert notebook["type"] == "notebook" and notebook["content"]["cells"]
            status, page = get(f"{base}/lab/tree/demo.ipynb")
            assert status == 200 and b"jupyter-config-data" in page
            status, carbon = get(f"{base}/carbon/status")
            assert status == 200 and json.loads(carbon)["channels"]
        finally:
            holder.close()
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
    output = log_path.read_text()
    assert "No such file or directory" not in output
    if port_taken:  # (a free port may be taken too before the server binds it: the same path)
        assert f"The port {port} is already in use" in output and base != f"http://127.0.0.1:{port}"
    # A clean stop closes the ledger: SQLite folds its write-ahead log back into the file.
    ledger = tmp_path / "data" / "carbon" / "ledger.sqlite"
    assert ledger.exists()
    wal = ledger.with_name("ledger.sqlite-wal")
    assert not wal.exists() or wal.stat().st_size == 0, output
