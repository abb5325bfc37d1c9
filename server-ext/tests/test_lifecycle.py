"""Executions cut short keep their record and say why: restart, shutdown, kernel crash, server stop or crash."""

from __future__ import annotations

import asyncio
import signal
import time
from pathlib import Path
from typing import Any

import pytest

from .fakesysfs import FakePowercap
from .liveserver import LiveServer
from .test_executions import KernelChannel, runs_for, start_kernel

LONG_CELL = "import time\ntime.sleep(60)"


async def _running_cell(jp_fetch: Any, jp_ws_fetch: Any, code: str = LONG_CELL) -> tuple[str, str, float]:
    kernel_id = await start_kernel(jp_fetch)
    channel = await KernelChannel.open(jp_ws_fetch, kernel_id)
    msg_id = channel.send_execute(code)
    await asyncio.sleep(1.0)
    return kernel_id, msg_id, time.time()


async def test_a_restart_mid_cell_is_flagged_kernel_restart(jp_fetch: Any, jp_ws_fetch: Any) -> None:
    kernel_id, msg_id, cut = await _running_cell(jp_fetch, jp_ws_fetch)
    await jp_fetch("api", "kernels", kernel_id, "restart", method="POST", body="")
    [run] = await runs_for(jp_fetch, 1, kernel_id=kernel_id)
    assert run["msg_id"] == msg_id and run["status"] == "interrupted"
    assert "kernel-restart" in run["flags"] and "kernel-shutdown" not in run["flags"]
    assert run["ended_at"] <= time.time() and run["duration_s"] == pytest.approx(1.0, abs=1.0)
    assert run["ended_at"] >= cut - 0.5


async def test_a_shutdown_mid_cell_is_flagged_kernel_shutdown(jp_fetch: Any, jp_ws_fetch: Any) -> None:
    kernel_id, msg_id, _ = await _running_cell(jp_fetch, jp_ws_fetch)
    await jp_fetch("api", "kernels", kernel_id, method="DELETE")
    [run] = await runs_for(jp_fetch, 1, kernel_id=kernel_id)
    assert run["msg_id"] == msg_id and run["status"] == "interrupted"
    assert "kernel-shutdown" in run["flags"] and "kernel-restart" not in run["flags"]


async def test_a_kernel_crash_ends_the_window_when_the_kernel_died(jp_fetch: Any, jp_ws_fetch: Any) -> None:
    kernel_id = await start_kernel(jp_fetch)
    channel = await KernelChannel.open(jp_ws_fetch, kernel_id)
    msg_id = channel.send_execute("import os, time\ntime.sleep(1)\nos._exit(1)")
    # The restarter notices the death within its 3 s poll and restarts the kernel.
    [run] = await runs_for(jp_fetch, 1, timeout=30, kernel_id=kernel_id)
    assert run["msg_id"] == msg_id and run["status"] == "interrupted"
    assert "kernel-crash" in run["flags"]
    # The window ends when the process exited (about 1 s in), not when the restart came.
    assert run["duration_s"] == pytest.approx(1.0, abs=0.4)
    # The restarted kernel is watched again: its next cell is recorded too.
    await asyncio.sleep(1.0)
    channel = await KernelChannel.open(jp_ws_fetch, kernel_id)
    after, _, _ = await channel.run("1 + 1")
    runs = await runs_for(jp_fetch, 2, kernel_id=kernel_id)
    assert after in {r["msg_id"] for r in runs}


@pytest.fixture
def live_server(tmp_path: Path, live_powercap: FakePowercap) -> Any:
    server = LiveServer(tmp_path / "server", live_powercap.root)
    yield server
    server.stop(signal.SIGKILL)


def test_a_server_crash_mid_cell_is_marked_at_the_next_start(live_server: LiveServer) -> None:
    server = live_server.start()
    kernel_id, client = server.start_kernel()
    client.execute("x = 1")
    msg_id = client.execute(LONG_CELL)
    server.wait_running(kernel_id)
    time.sleep(0.5)  # the running row is committed in the recorder's next group
    client.stop_channels()
    server.stop(signal.SIGKILL)

    server.start()
    deadline = time.monotonic() + 20
    runs: list[dict[str, Any]] = []
    while time.monotonic() < deadline and len(runs) < 2:
        runs = server.runs(kernel_id=kernel_id)
        time.sleep(0.2)
    by_msg = {r["msg_id"]: r for r in runs}
    assert msg_id in by_msg, server.log()
    crashed = by_msg[msg_id]
    assert crashed["status"] == "interrupted"
    assert {"server-crash", "end-unknown"} <= set(crashed["flags"])
    assert crashed["code_preview"] == "import time" and crashed["execution_count"] == 2
    assert "server-crash" not in next(r for r in runs if r["msg_id"] != msg_id)["flags"]
    assert "server-crash" in server.log()


def _killed_mid_cell(server: LiveServer, code: str, run_s: float, silent: bool = False) -> dict[str, Any]:
    """Start ``server``, run ``code`` for ``run_s``, SIGKILL the server, start it again: the cell's run."""
    server.start()
    kernel_id, client = server.start_kernel()
    msg_id = client.execute(code, silent=silent)
    server.wait_running(kernel_id)
    time.sleep(run_s)
    client.stop_channels()
    server.stop(signal.SIGKILL)

    server.start()
    deadline = time.monotonic() + 20
    runs: list[dict[str, Any]] = []
    while time.monotonic() < deadline and not runs:
        runs = server.runs(kernel_id=kernel_id)
        time.sleep(0.2)
    [crashed] = runs
    assert crashed["msg_id"] == msg_id and crashed["status"] == "interrupted"
    assert {"server-crash", "end-unknown"} <= set(crashed["flags"])
    return crashed


def test_a_silent_execution_leaves_a_trace_of_a_server_crash(live_server: LiveServer) -> None:
    """A silent request broadcasts no input: it is stored as running shortly after its start."""
    _killed_mid_cell(live_server, LONG_CELL, 0.5, silent=True)


def test_a_clean_stop_mid_cell_records_server_shutdown_and_closes_the_ledger(live_server: LiveServer) -> None:
    server = live_server.start()
    kernel_id, client = server.start_kernel()
    msg_id = client.execute(LONG_CELL)
    server.wait_running(kernel_id)
    time.sleep(1.0)
    client.stop_channels()
    server.stop(signal.SIGTERM)
    wal = server.ledger_path.with_name("ledger.sqlite-wal")
    assert not wal.exists() or wal.stat().st_size == 0, "the write-ahead log was folded back"

    server.start()
    [run] = server.runs(kernel_id=kernel_id)
    assert run["msg_id"] == msg_id and run["status"] == "interrupted"
    assert "server-shutdown" in run["flags"] and "server-crash" not in run["flags"]
    assert run["duration_s"] == pytest.approx(1.0, abs=1.5)


async def test_a_cell_that_ended_before_a_restart_is_not_flagged(jp_fetch: Any, jp_serverapp: Any) -> None:
    """A ZMQ client may restart the kernel on the execute_reply, before the idle reaches us."""
    from .test_fresh_kernels import zmq_client

    kernel_id = await start_kernel(jp_fetch)
    sent: list[str] = []
    for _ in range(4):
        client = zmq_client(jp_serverapp, kernel_id)
        try:
            sent.append(client.execute("x = 1"))
            reply = await asyncio.wait_for(client.get_shell_msg(), 30)
            assert reply["content"]["status"] == "ok"
            await jp_fetch("api", "kernels", kernel_id, "restart", method="POST", body="")
        finally:
            client.stop_channels()
    runs = await runs_for(jp_fetch, len(sent), kernel_id=kernel_id)
    assert sorted(r["msg_id"] for r in runs) == sorted(sent)
    for run in runs:
        assert run["status"] == "ok" and "kernel-restart" not in run["flags"], run["flags"]


@pytest.fixture
def checkpointing_server(tmp_path: Path, live_powercap: FakePowercap) -> Any:
    server = LiveServer(tmp_path / "server", live_powercap.root, running_checkpoint_s=0.5)
    yield server
    server.stop(signal.SIGKILL)


def test_a_server_crash_keeps_what_was_measured_of_the_running_cell(checkpointing_server: LiveServer) -> None:
    # CPU-bound, so that the kernel's share is not 0.
    crashed = _killed_mid_cell(checkpointing_server, "x = 0\nwhile True:\n    x += 1", 3.0)
    kernel_id = crashed["kernel_id"]
    server = checkpointing_server
    # Measured up to the last checkpoint before the kill (every 0.5 s), not an empty window.
    assert 1.5 <= crashed["duration_s"] <= 3.5, crashed
    assert crashed["node_j"] > 0 and crashed["attributed_j"] > 0
    assert crashed["impact"] and crashed["impact"]["gco2e"] > 0
    _, totals = server.request("GET", f"/carbon/totals?kernel_id={kernel_id}")
    assert totals["runs"] == 1 and totals["attributed_j"] == pytest.approx(crashed["attributed_j"])


def test_checkpoints_leave_one_final_record(checkpointing_server: LiveServer) -> None:
    server = checkpointing_server.start()
    kernel_id, client = server.start_kernel()
    msg_id = client.execute("import time\ntime.sleep(2.2)")
    client.get_shell_msg(timeout=30)
    deadline = time.monotonic() + 20
    runs: list[dict[str, Any]] = []
    while time.monotonic() < deadline and not runs:
        runs = server.runs(kernel_id=kernel_id)
        time.sleep(0.2)
    time.sleep(1.0)  # no late checkpoint turns it back into a running row
    [run] = server.runs(kernel_id=kernel_id)
    assert run["msg_id"] == msg_id and run["status"] == "ok" and run["duration_s"] == pytest.approx(2.2, abs=0.3)
    client.stop_channels()
