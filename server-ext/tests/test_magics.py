"""The kernel side: ``%load_ext jupyterlab_carbon`` and ``%carbon status`` in a real IPython kernel."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .kernels import start_lone_kernel


@pytest.fixture
def kernel(tmp_path: Path) -> Iterator[Any]:
    env = {
        **os.environ,
        "JUPYTERLAB_CARBON_POWERCAP_ROOT": str(tmp_path / "no-powercap"),
        "JUPYTERLAB_CARBON_HWMON_ROOT": str(tmp_path / "no-hwmon"),
        "JUPYTERLAB_CARBON_CPU_TDP_WATTS": "45",
    }
    manager, client = start_lone_kernel(env)
    try:
        yield client
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)


def run(client: Any, code: str) -> dict[str, Any]:
    """Execute code; return the execute_result's data, with any stream text under 'stdout'."""
    msg_id = client.execute(code)
    data: dict[str, Any] = {"stdout": ""}
    while True:
        msg = client.get_iopub_msg(timeout=60)
        if msg["parent_header"].get("msg_id") != msg_id:
            continue
        kind, content = msg["msg_type"], msg["content"]
        if kind == "execute_result":
            data.update(content["data"])
        elif kind == "stream":
            data["stdout"] += content["text"]
        elif kind == "error":
            raise AssertionError("\n".join(content["traceback"]))
        elif kind == "status" and content["execution_state"] == "idle":
            return data


def test_carbon_status_reports_meters_and_diagnosis(kernel: Any) -> None:
    run(kernel, "%load_ext jupyterlab_carbon")
    result = run(kernel, "%carbon status")
    text, page = result["text/plain"], result["text/html"]
    assert "cpu/model" in text and "modeled" in text
    assert "TDP 45 W" in text
    assert "rapl: not-present" in text and "modprobe" in text
    assert "<table>" in page and "cpu/model" in page and "Fix:" in page


def test_unknown_subcommand_prints_usage(kernel: Any) -> None:
    run(kernel, "%load_ext jupyterlab_carbon")
    assert "Usage: %carbon status" in run(kernel, "%carbon frobnicate")["stdout"]


def test_kernel_extension_imports_no_server_code() -> None:
    code = (
        "import sys, jupyterlab_carbon, jupyterlab_carbon.kernel.magics;"
        "bad = [m for m in ('tornado', 'jupyter_server', 'jupyterlab_carbon.handlers') if m in sys.modules];"
        "print(bad)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
