"""Executions a raw client or a cell can make odd are recorded all the same: a non-string code, a
reused msg_id, an annotation no record can hold, a kernel killed with no restarter."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import time
from typing import Any

import pytest

from jupyterlab_carbon.run_notes import RunNotes, checked_update

from .test_executions import KernelChannel, runs_for, start_kernel
from .test_fresh_kernels import zmq_client


async def _send_raw(jp_serverapp: Any, kernel_id: str, content: dict[str, Any], msg_id: str | None = None) -> str:
    """An execute_request as a ZMQ tool may send it, waited for until its reply."""
    client = zmq_client(jp_serverapp, kernel_id)
    try:
        request = client.session.msg("execute_request", content)
        if msg_id is not None:
            request["header"]["msg_id"] = request["msg_id"] = msg_id
        client.session.send(client.shell_channel.socket, request)
        while True:
            reply = await asyncio.wait_for(client.get_shell_msg(), 30)
            if reply["parent_header"].get("msg_id") == request["header"]["msg_id"]:
                return str(request["header"]["msg_id"])
    finally:
        client.stop_channels()


def _execute(code: Any) -> dict[str, Any]:
    return {"code": code, "silent": False, "store_history": True, "user_expressions": {}, "allow_stdin": False}


async def test_a_request_whose_code_is_not_text_is_recorded(jp_fetch: Any, jp_serverapp: Any) -> None:
    kernel_id = await start_kernel(jp_fetch)
    sent = [await _send_raw(jp_serverapp, kernel_id, _execute(code)) for code in (123, ["a = 1"], "b = 2")]
    runs = await runs_for(jp_fetch, 3, kernel_id=kernel_id)
    assert sorted(r["msg_id"] for r in runs) == sorted(sent)
    assert next(r for r in runs if r["msg_id"] == sent[2])["code_preview"] == "b = 2"


async def test_a_reused_msg_id_is_a_second_execution(jp_fetch: Any, jp_serverapp: Any) -> None:
    kernel_id = await start_kernel(jp_fetch)
    await _send_raw(jp_serverapp, kernel_id, _execute("x = 1"), msg_id="reused-id")
    await _send_raw(jp_serverapp, kernel_id, _execute("y = 2"), msg_id="reused-id")
    runs = await runs_for(jp_fetch, 2, kernel_id=kernel_id)
    assert [r["msg_id"] for r in runs] == ["reused-id", "reused-id"]
    assert sorted(r["code_preview"] for r in runs) == ["x = 1", "y = 2"]
    await asyncio.sleep(1.0)  # and no third, from a message after either idle
    assert len(await runs_for(jp_fetch, 3, timeout=0, kernel_id=kernel_id)) == 2


PUBLISH = "from jupyterlab_carbon.kernel import channel\nchannel.publish({annotation})\n"


@pytest.mark.parametrize(
    "annotation",
    [
        '{"flops": {"count": 10**400}}',  # a float overflow in the record
        '{"flops": {"count": -5}}',
        '{"windows": [{"name": "w", "data": "x" * 5_000_000}]}',  # in every listing of the run
        '{"per": {"nested": ' + "[" * 20 + "]" * 20 + "}}",
    ],
)
async def test_an_annotation_no_record_can_hold_is_refused_and_the_run_kept(
    jp_fetch: Any, jp_ws_fetch: Any, annotation: str
) -> None:
    kernel_id = await start_kernel(jp_fetch)
    channel = await KernelChannel.open(jp_ws_fetch, kernel_id)
    msg_id, _, _ = await channel.run(PUBLISH.format(annotation=annotation) + "channel.publish({'tags': ['kept']})")
    [run] = await runs_for(jp_fetch, 1, kernel_id=kernel_id)
    assert run["msg_id"] == msg_id and run["status"] == "ok"
    assert run["tags"] == ["kept"]  # the valid annotation after it still applies
    assert not {"flops", "windows", "repeat", "per", "budget"} & set(run["extra"])
    assert len(json.dumps(run)) < 100_000


@pytest.mark.parametrize(
    "update",
    [
        {"repeat": {"count": float("nan")}},  # a raw ZMQ message may hold NaN: json.loads takes it
        {"per": {"x": float("inf")}},
        {"flops": {"count": 10**400}},
        {"flops": {"count": True}},
        {"windows": [{"a": {"b": {"c": {"d": {"e": {"f": {"g": {"h": {"i": 1}}}}}}}}}]},
        {"budget": {"kind": "energy", "limit": 1, "note": object()}},
        {"budget": {"kind": "energy", "limit": 1, "text": "\ud800"}},  # a raw message's lone surrogate
    ],
)
def test_checked_update_refuses_what_no_record_can_hold(update: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        checked_update(update)


def test_checked_update_keeps_what_the_magic_publishes() -> None:
    update = {
        "flops": {"count": 3.2e12, "method": "counted", "source": "torch"},
        "repeat": {"count": 3, "mean_j": 1.5, "spread_j": [1.2, 1.9]},
        "windows": [{"name": "fit", "attributed_j": 2.0, "started_at": 1.7e9, "ended_at": 1.7e9 + 1}],
        "budget": {"kind": "carbon", "limit": 2.5, "on_budget": "warn", "text": "2.5 g"},
    }
    assert checked_update(update) == update


async def test_a_record_its_annotations_break_is_kept_without_them(
    jp_fetch: Any, jp_ws_fetch: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    record_extra = RunNotes.record_extra

    def broken(self: RunNotes, attributed_j: float, duration_s: float) -> dict[str, Any]:
        if self.tags:
            raise ArithmeticError("a fault in building the annotations")
        return record_extra(self, attributed_j, duration_s)

    monkeypatch.setattr(RunNotes, "record_extra", broken)
    kernel_id = await start_kernel(jp_fetch)
    channel = await KernelChannel.open(jp_ws_fetch, kernel_id)
    msg_id, _, _ = await channel.run(PUBLISH.format(annotation="{'tags': ['t']}"))
    [run] = await runs_for(jp_fetch, 1, kernel_id=kernel_id)
    assert run["msg_id"] == msg_id and "annotations-dropped" in run["flags"] and run["tags"] == []
    assert run["ended_at"] > run["started_at"]


async def test_a_kernel_killed_with_no_restarter_ends_its_cell_as_a_crash(
    jp_fetch: Any, jp_ws_fetch: Any, jp_serverapp: Any
) -> None:
    kernel_id = await start_kernel(jp_fetch)
    manager = jp_serverapp.kernel_manager.get_kernel(kernel_id)
    manager.stop_restarter()  # as with --KernelManager.autorestart=False
    channel = await KernelChannel.open(jp_ws_fetch, kernel_id)
    msg_id = channel.send_execute("import time\ntime.sleep(60)")
    await asyncio.sleep(1.0)
    os.kill(manager.provisioner.pid, signal.SIGKILL)
    killed = time.time()
    [run] = await runs_for(jp_fetch, 1, timeout=5, kernel_id=kernel_id)
    assert run["msg_id"] == msg_id and run["status"] == "interrupted"
    assert "kernel-crash" in run["flags"]
    assert run["ended_at"] == pytest.approx(killed, abs=0.15)


async def test_a_failure_told_only_in_the_reply_is_recorded_as_an_error(jp_fetch: Any, jp_ws_fetch: Any) -> None:
    """A magic's UsageError is printed to stderr and told in the reply, not broadcast as an error."""
    kernel_id = await start_kernel(jp_fetch)
    channel = await KernelChannel.open(jp_ws_fetch, kernel_id)
    failed, _, _ = await channel.run("%%carbon --no-such-option\npass")
    ok, _, _ = await channel.run("pass")
    runs = {r["msg_id"]: r for r in await runs_for(jp_fetch, 2, kernel_id=kernel_id)}
    assert runs[failed]["status"] == "error" and "errored" in runs[failed]["flags"]
    assert runs[ok]["status"] == "ok" and "errored" not in runs[ok]["flags"]
