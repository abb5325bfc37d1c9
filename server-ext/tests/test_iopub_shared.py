"""The watcher reads the server's own activity stream on each kernel's IOPub: the server's activity
tracking keeps working, a restart keeps the recording going, and closing gives the stream back."""

from __future__ import annotations

import json
from typing import Any

import pytest

from .test_executions import KernelChannel, runs_for, start_kernel


def _watcher(jp_serverapp: Any) -> Any:
    return jp_serverapp.web_app.settings["jupyterlab_carbon"]["watcher"]


async def _kernel_model(jp_fetch: Any, kernel_id: str) -> dict[str, Any]:
    return dict(json.loads((await jp_fetch("api", "kernels", kernel_id)).body))


async def test_the_watcher_shares_the_activity_stream_and_the_server_still_tracks_activity(
    jp_fetch: Any, jp_ws_fetch: Any, jp_serverapp: Any
) -> None:
    kernel_id = await start_kernel(jp_fetch)
    manager = jp_serverapp.kernel_manager.get_kernel(kernel_id)
    subscription = _watcher(jp_serverapp)._watches[kernel_id].subscription
    assert subscription.shared and subscription.follows(manager._activity_stream)
    before = await _kernel_model(jp_fetch, kernel_id)
    channel = await KernelChannel.open(jp_ws_fetch, kernel_id)
    try:
        msg_id, _, _ = await channel.run("import time; time.sleep(0.2)")
        [run] = await runs_for(jp_fetch, 1, msg_id=msg_id)
        assert run["status"] == "ok"
        after = await _kernel_model(jp_fetch, kernel_id)
        # The server's own handler still sees every message: the kernel's activity moved on.
        assert after["last_activity"] > before["last_activity"] and after["execution_state"] == "idle"
    finally:
        channel.ws.close()
        await jp_fetch("api", "kernels", kernel_id, method="DELETE")


async def test_recording_goes_on_after_a_restart(jp_fetch: Any, jp_ws_fetch: Any, jp_serverapp: Any) -> None:
    kernel_id = await start_kernel(jp_fetch)
    try:
        await jp_fetch("api", "kernels", kernel_id, "restart", method="POST", body="")
        manager = jp_serverapp.kernel_manager.get_kernel(kernel_id)
        subscription = _watcher(jp_serverapp)._watches[kernel_id].subscription
        assert subscription.follows(manager._activity_stream)
        channel = await KernelChannel.open(jp_ws_fetch, kernel_id)
        try:
            msg_id, _, _ = await channel.run("1 + 1")
            [run] = await runs_for(jp_fetch, 1, msg_id=msg_id)
            assert run["status"] == "ok" and "late-start" not in run["flags"]
        finally:
            channel.ws.close()
    finally:
        await jp_fetch("api", "kernels", kernel_id, method="DELETE")


async def test_a_replaced_activity_stream_is_followed(jp_fetch: Any, jp_ws_fetch: Any, jp_serverapp: Any) -> None:
    """What the server does when a restart moved the kernel's ports: a new stream, which the watcher reads."""
    kernel_id = await start_kernel(jp_fetch)
    kernels = jp_serverapp.kernel_manager
    try:
        kernels.stop_watching_activity(kernel_id)
        kernels.start_watching_activity(kernel_id)
        subscription = _watcher(jp_serverapp)._watches[kernel_id].subscription
        assert subscription.follows(kernels.get_kernel(kernel_id)._activity_stream)
        channel = await KernelChannel.open(jp_ws_fetch, kernel_id)
        try:
            msg_id, _, _ = await channel.run("2 + 2")
            [run] = await runs_for(jp_fetch, 1, msg_id=msg_id)
            assert run["status"] == "ok"
        finally:
            channel.ws.close()
    finally:
        await jp_fetch("api", "kernels", kernel_id, method="DELETE")


async def test_closing_the_watcher_gives_the_server_its_handler_back(jp_fetch: Any, jp_serverapp: Any) -> None:
    kernel_id = await start_kernel(jp_fetch)
    stream = jp_serverapp.kernel_manager.get_kernel(kernel_id)._activity_stream
    try:
        assert stream._recv_callback.__name__ != "record_activity"  # the watcher's, calling the server's
        await _watcher(jp_serverapp).close()
        assert stream._recv_callback.__name__ == "record_activity"
    finally:
        await jp_fetch("api", "kernels", kernel_id, method="DELETE")


async def test_a_forged_message_on_the_shared_stream_never_reaches_the_watcher(
    jp_fetch: Any, jp_serverapp: Any
) -> None:
    """The watcher skips its own signature check on the server's stream: the server's handler runs
    first and refuses a bad signature by raising, so the watcher's handler is never called."""
    kernel_id = await start_kernel(jp_fetch)
    manager = jp_serverapp.kernel_manager.get_kernel(kernel_id)
    watch = _watcher(jp_serverapp)._watches[kernel_id]
    assert watch.subscription.shared
    session = manager.session

    def busy_frames(parent_id: str) -> list[bytes]:
        parent = {**session.msg_header("execute_request"), "msg_id": parent_id}
        message = session.msg("status", content={"execution_state": "busy"}, parent={"header": parent})
        return [b"kernel.status", *session.serialize(message)]

    try:
        forged = busy_frames("forged")
        forged[2] = b"0" * len(forged[2])  # the signature
        with pytest.raises(ValueError, match="Signature"):
            manager._activity_stream._recv_callback(forged)
        assert "forged" not in watch.pending
        # The same message, signed: it does reach the watcher (an execution begins).
        manager._activity_stream._recv_callback(busy_frames("signed"))
        assert "signed" in watch.pending
    finally:
        await jp_fetch("api", "kernels", kernel_id, method="DELETE")
