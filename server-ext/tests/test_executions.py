"""Every execution through a real Jupyter server and real kernels becomes exactly one run record."""

from __future__ import annotations

import asyncio
import json
import os
import uuid
from datetime import datetime
from typing import Any

import pytest

from jupyterlab_carbon.handlers import NAMESPACE

# The fake RAPL tree of conftest.py: package-0 at 20 W and its DRAM at 3 W.
NODE_WATTS = 23.0
# Spins one core; the result is the CPU seconds the kernel got meanwhile.
BUSY_LOOP = (
    "import time\ncpu0, end = time.process_time(), time.perf_counter() + {seconds}\n"
    "while time.perf_counter() < end:\n    pass\ntime.process_time() - cpu0"
)


async def start_kernel(jp_fetch: Any) -> str:
    # No head start: the server answers only once the watcher hears the kernel.
    response = await jp_fetch("api", "kernels", method="POST", body=json.dumps({"name": "python3"}))
    return json.loads(response.body)["id"]


class KernelChannel:
    """The kernel's WebSocket, as JupyterLab uses it."""

    def __init__(self, ws: Any) -> None:
        self.ws = ws
        self.session = uuid.uuid4().hex
        self.last_result: str | None = None

    @classmethod
    async def open(cls, jp_ws_fetch: Any, kernel_id: str) -> KernelChannel:
        return cls(await jp_ws_fetch("api", "kernels", kernel_id, "channels"))

    def send_execute(self, code: str) -> str:
        msg_id = uuid.uuid4().hex
        self.ws.write_message(
            json.dumps(
                {
                    "header": {"msg_id": msg_id, "msg_type": "execute_request", "session": self.session,
                               "username": "test", "version": "5.3", "date": datetime.now().isoformat()},
                    "parent_header": {},
                    "metadata": {"cellId": "cell-" + msg_id[:6]},
                    "content": {"code": code, "silent": False, "store_history": True, "user_expressions": {},
                                "allow_stdin": False, "stop_on_error": True},
                    "channel": "shell",
                    "buffers": [],
                }
            )
        )
        return msg_id

    async def wait_idle(self, msg_id: str, timeout: float = 60) -> tuple[float, float]:
        """The kernel's own busy and idle timestamps for the execution."""
        busy = idle = None
        async with asyncio.timeout(timeout):
            while idle is None:
                msg = json.loads(await self.ws.read_message())
                if msg.get("parent_header", {}).get("msg_id") != msg_id:
                    continue
                if msg["msg_type"] == "execute_result":
                    self.last_result = msg["content"]["data"]["text/plain"]
                if msg["msg_type"] != "status":
                    continue
                stamp = datetime.fromisoformat(msg["header"]["date"].replace("Z", "+00:00")).timestamp()
                if msg["content"]["execution_state"] == "busy":
                    busy = stamp
                elif msg["content"]["execution_state"] == "idle":
                    idle = stamp
        assert busy is not None
        return busy, idle

    async def run(self, code: str) -> tuple[str, float, float]:
        msg_id = self.send_execute(code)
        busy, idle = await self.wait_idle(msg_id)
        return msg_id, busy, idle


async def runs_for(jp_fetch: Any, expected: int, timeout: float = 40, **filters: str) -> list[dict[str, Any]]:
    """Poll the REST API until ``expected`` runs match the filters (records land after a sample)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        response = await jp_fetch(NAMESPACE, "runs", params=filters)
        runs = json.loads(response.body)["runs"]
        if len(runs) >= expected or asyncio.get_running_loop().time() > deadline:
            return runs
        await asyncio.sleep(0.2)


async def test_short_busy_erroring_and_interrupted_cells(jp_fetch: Any, jp_ws_fetch: Any) -> None:
    kernel_id = await start_kernel(jp_fetch)
    channel = await KernelChannel.open(jp_ws_fetch, kernel_id)
    short_id, short_t0, short_t1 = await channel.run("1 + 1")
    busy_id, busy_t0, busy_t1 = await channel.run(BUSY_LOOP.format(seconds=3))
    busy_cpu_s = float(channel.last_result or "nan")
    error_id, _, _ = await channel.run("1 / 0")
    sleep_id = channel.send_execute("import time; time.sleep(30)")
    await asyncio.sleep(1.0)
    await jp_fetch("api", "kernels", kernel_id, "interrupt", method="POST", body="")
    await channel.wait_idle(sleep_id)

    runs = await runs_for(jp_fetch, 4, kernel_id=kernel_id)
    by_msg = {r["msg_id"]: r for r in runs}
    assert sorted(by_msg) == sorted([short_id, busy_id, error_id, sleep_id])
    assert len(runs) == 4, "each execution is recorded exactly once"

    busy = by_msg[busy_id]
    # The window is the kernel's own busy/idle timestamps.
    assert busy["started_at"] == pytest.approx(busy_t0, abs=1e-3)
    assert busy["ended_at"] == pytest.approx(busy_t1, abs=1e-3)
    assert busy["duration_s"] == pytest.approx(3.0, abs=0.3)
    # Node energy follows the fake meter: 23 W over the window.
    assert busy["node_j"] == pytest.approx(NODE_WATTS * busy["duration_s"], rel=0.03)
    assert {c["channel_id"] for c in busy["channels"]} == {"cpu/package-0", "dram/package-0"}
    assert busy["methods"] == ["measured-counter"]
    assert busy["status"] == "ok" and busy["execution_count"] == 2
    assert busy["code_preview"] == "import time" and len(busy["code_hash"]) == 64
    # The kernel's share is at least its CPU time over all cores' time in the window (the
    # machine may be busy with other work, so it can be less than 1).
    package = next(c for c in busy["channels"] if c["channel_id"] == "cpu/package-0")
    floor = busy_cpu_s / ((os.cpu_count() or 1) * busy["duration_s"])
    assert 0.9 * floor <= package["share"] <= 1.0
    assert busy["attributed_j"] == pytest.approx(sum(c["attributed_j"] for c in busy["channels"]))
    assert busy["idle_j"] + busy["active_j"] == pytest.approx(busy["attributed_j"])

    short = by_msg[short_id]
    assert short["started_at"] == pytest.approx(short_t0, abs=1e-3)
    assert short["ended_at"] == pytest.approx(short_t1, abs=1e-3)
    # Shorter than two sampling periods: flagged, and a best estimate bounded by the samples
    # around it (the fake tree itself only ticks every 10 ms, so no tighter bound holds here).
    assert "below-resolution" in short["flags"]
    assert 0 < short["node_j"] <= NODE_WATTS * (short["duration_s"] + 0.2)

    assert by_msg[error_id]["status"] == "error" and "errored" in by_msg[error_id]["flags"]
    interrupted = by_msg[sleep_id]
    assert interrupted["status"] == "interrupted" and "interrupted" in interrupted["flags"]
    assert interrupted["duration_s"] == pytest.approx(1.0, abs=0.5)

    one = await jp_fetch(NAMESPACE, "runs", busy["run_id"])
    assert json.loads(one.body)["msg_id"] == busy_id
    by_filter = await runs_for(jp_fetch, 1, msg_id=busy_id)
    assert [r["run_id"] for r in by_filter] == [busy["run_id"]]


async def test_two_kernels_at_once_are_recorded_separately(jp_fetch: Any, jp_ws_fetch: Any) -> None:
    kernels = [await start_kernel(jp_fetch) for _ in range(2)]
    channels = [await KernelChannel.open(jp_ws_fetch, k) for k in kernels]
    results = await asyncio.gather(*(c.run(BUSY_LOOP.format(seconds=2)) for c in channels))
    for kernel_id, (msg_id, t0, t1) in zip(kernels, results, strict=True):
        runs = await runs_for(jp_fetch, 1, kernel_id=kernel_id)
        assert [r["msg_id"] for r in runs] == [msg_id]
        assert runs[0]["node_j"] == pytest.approx(NODE_WATTS * (t1 - t0), rel=0.03)
    # Each kernel got about half of the node's busy CPU time. Their shares are computed over
    # their own windows (a few ms apart) from CPU times counted in 10 ms ticks, so their sum is
    # close to, not exactly, 1; exact conservation within one window is the property test's.
    runs = [(await runs_for(jp_fetch, 1, kernel_id=k))[0] for k in kernels]
    shares = [next(c["share"] for c in r["channels"] if c["channel_id"] == "cpu/package-0") for r in runs]
    assert all(0 < s <= 1.0 for s in shares)
    assert sum(shares) <= 1.15


async def test_a_run_from_a_second_client_of_the_same_kernel_is_recorded_once(jp_fetch: Any, jp_ws_fetch: Any) -> None:
    kernel_id = await start_kernel(jp_fetch)
    first = await KernelChannel.open(jp_ws_fetch, kernel_id)
    second = await KernelChannel.open(jp_ws_fetch, kernel_id)
    # The second tab's own IOPub subscription (the server's, for its WebSocket) needs a moment;
    # the watcher's does not (the start was answered once it was confirmed).
    await asyncio.sleep(0.5)
    msg_id, _, _ = await first.run("x = 41 + 1")
    await second.wait_idle(msg_id)  # the second tab sees the same execution
    await asyncio.sleep(1.0)
    runs = await runs_for(jp_fetch, 1, kernel_id=kernel_id)
    assert [r["msg_id"] for r in runs] == [msg_id]


async def test_bad_parameters_get_a_clear_400(jp_fetch: Any) -> None:
    from tornado.httpclient import HTTPClientError

    for params, word in (({"limit": "many"}, "limit"), ({"limit": "0"}, "limit"), ({"since": "-5"}, "since")):
        with pytest.raises(HTTPClientError) as error:
            await jp_fetch(NAMESPACE, "runs", params=params)
        assert error.value.code == 400
        body = json.loads(error.value.response.body)
        assert body["code"] == 400 and word in body["message"]
    with pytest.raises(HTTPClientError) as missing:
        await jp_fetch(NAMESPACE, "runs", "0" * 32)
    assert missing.value.code == 404
