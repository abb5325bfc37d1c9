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
