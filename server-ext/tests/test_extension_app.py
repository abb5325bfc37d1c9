"""The extension's start and stop: what it hooks it unhooks; a ledger it cannot open starts nothing."""

from __future__ import annotations

from typing import Any

from jupyterlab_carbon.executions import KERNEL_ACTIONS_SCHEMA, ExecutionWatcher


async def test_closing_the_watcher_restores_the_kernel_manager(jp_serverapp: Any) -> None:
    state = jp_serverapp.web_app.settings["jupyterlab_carbon"]
    watcher = state["watcher"]
    kernels = jp_serverapp.kernel_manager
    hooked = {name: getattr(kernels, name) for name in ExecutionWatcher.WRAPPED}
    klass = type(kernels)
    assert all(hooked[name] != getattr(klass, name).__get__(kernels) for name in hooked)
    listeners = jp_serverapp.event_logger._modified_listeners[KERNEL_ACTIONS_SCHEMA]
    assert watcher._on_kernel_event in listeners

    await watcher.close()

    for name in ExecutionWatcher.WRAPPED:
        assert getattr(kernels, name) == getattr(klass, name).__get__(kernels), name
    assert watcher._on_kernel_event not in listeners
    await watcher.close()  # the server's own stop closes it again: harmless


async def test_edges_are_read_on_the_edge_thread_for_slow_meters(
    jp_fetch: Any, jp_ws_fetch: Any, jp_serverapp: Any
) -> None:
    """NVML and amdsmi calls can take milliseconds: with such a meter the edges leave the loop."""
    from .test_executions import KernelChannel, runs_for, start_kernel

    watcher = jp_serverapp.web_app.settings["jupyterlab_carbon"]["watcher"]
    assert watcher._inline_edges, "the fake RAPL tree is read in microseconds"
    watcher._inline_edges = False  # as with a GPU meter
    kernel_id = await start_kernel(jp_fetch)
    channel = await KernelChannel.open(jp_ws_fetch, kernel_id)
    msg_id, _, _ = await channel.run("import time; time.sleep(0.3)")
    [run] = await runs_for(jp_fetch, 1, kernel_id=kernel_id)
    assert run["msg_id"] == msg_id and run["node_j"] > 0
    delays = run["extra"]["edge_delay_s"]
    assert 0 <= delays["start"] < 1 and 0 <= delays["end"] < 1
