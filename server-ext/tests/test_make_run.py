"""The README's first command, `make run`, starts JupyterLab and serves the demo notebook."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from .liveserver import free_port

REPO = Path(__file__).resolve().parents[2]
TOKEN = "make-run-test-token"


def get(url: str) -> tuple[int, bytes]:
    request = urllib.request.Request(url, headers={"Authorization": f"token {TOKEN}"})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as err:
        return err.code, err.read()


@pytest.mark.skipif(not (REPO / "Makefile").exists(), reason="needs the source checkout")
def test_make_run_serves_the_demo(tmp_path: Path) -> None:
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
            base = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 240  # setup is already done by `make test`; a cold one takes longer
            status = 0
            while time.monotonic() < deadline:
                assert process.poll() is None, f"make run exited {process.returncode}:\n{log_path.read_text()}"
                try:
                    status, _ = get(f"{base}/api/status")
                except OSError:
                    status = 0
                if status == 200:
                    break
                time.sleep(0.5)
            assert status == 200, f"the server never answered:\n{log_path.read_text()}"
            status, body = get(f"{base}/api/contents/demo.ipynb?content=1")
            assert status == 200, body
            notebook = json.loads(body)
            assert notebook["type"] == "notebook" and notebook["content"]["cells"]
            status, page = get(f"{base}/lab/tree/demo.ipynb")
            assert status == 200 and b"jupyter-config-data" in page
            status, carbon = get(f"{base}/carbon/status")
            assert status == 200 and json.loads(carbon)["channels"]
        finally:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
    output = log_path.read_text()
    assert "No such file or directory" not in output
    # A clean stop closes the ledger: SQLite folds its write-ahead log back into the file.
    ledger = tmp_path / "data" / "carbon" / "ledger.sqlite"
    assert ledger.exists()
    wal = ledger.with_name("ledger.sqlite-wal")
    assert not wal.exists() or wal.stat().st_size == 0, output
