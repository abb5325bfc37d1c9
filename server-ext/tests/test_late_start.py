"""An execution whose first messages were missed is recovered, flagged late-start, never dropped."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from jupyterlab_carbon.executions.iopub import IOPubEvent, decode

from .test_executions import KernelChannel, runs_for, start_kernel


def _drop_first(jp_serverapp: Any, kernel_id: str, kinds: set[tuple[str, str | None]]) -> None:
    """Make the watcher miss the first message of each kind (type, execution state) on this kernel."""
    watch = jp_serverapp.web_app.settings["jupyterlab_carbon"]["watcher"]._watches[kernel_id]
    subscription = watch.subscription
    deliver = subscription._on_event
    missed: set[tuple[str, str | None]] = set()

    def lossy(event: IOPubEvent) -> None:
        key = (event.msg_type, (event.content or {}).get("execution_state"))
        if event.parent_type == "execute_request" and key in kinds and key not in missed:
            missed.add(key)
            return
        deliver(event)

    subscription._on_event = lossy


async def _two_cells_losing(
    jp_fetch: Any, jp_ws_fetch: Any, jp_serverapp: Any, kinds: set[tuple[str, str | None]], first_code: str
) -> tuple[tuple[str, float, float], tuple[str, float, float], dict[str, dict[str, Any]]]:
    """Run ``first_code`` then a trivial cell on a fresh kernel whose watcher misses the first
    message of each kind; (first's msg_id, busy, idle), the same for the second, runs by msg_id."""
    kernel_id = await start_kernel(jp_fetch)
    _drop_first(jp_serverapp, kernel_id, kinds)
    channel = await KernelChannel.open(jp_ws_fetch, kernel_id)
    first = await channel.run(first_code)
    second = await channel.run("2 + 2")
    runs = await runs_for(jp_fetch, 2, kernel_id=kernel_id)
    by_msg = {r["msg_id"]: r for r in runs}
    assert sorted(by_msg) == sorted([first[0], second[0]]) and len(runs) == 2
    return first, second, by_msg


@pytest.mark.parametrize(
    "missed",
    [
        {("status", "busy")},
        {("status", "busy"), ("execute_input", None)},
    ],
    ids=["busy", "busy-and-input"],
)
async def test_missed_start_is_recovered(
    jp_fetch: Any, jp_ws_fetch: Any, jp_serverapp: Any, missed: set[tuple[str, str | None]]
) -> None:
    (first, t0, t1), (second, _, _), by_msg = await _two_cells_losing(
        jp_fetch, jp_ws_fetch, jp_serverapp, missed, "import time; time.sleep(0.5)"
    )
    late = by_msg[first]
    assert "late-start" in late["flags"] and "late-start" not in by_msg[second]["flags"]
    assert late["ended_at"] == pytest.approx(t1, abs=1e-3)
    if ("execute_input", None) in missed:
        # Only the request's own time is known: the client sent it before the kernel took it up
        # (how long before depends on the machine's load), so the window holds the whole cell.
        assert t0 - 5.0 <= late["started_at"] <= t0 + 1e-3
    else:
        # The input's timestamp follows busy by microseconds.
        assert late["started_at"] == pytest.approx(t0, abs=0.05)
    assert late["node_j"] > 0


def _frames(session: Any, msg_type: str, parent_type: str, content: dict[str, Any]) -> list[bytes]:
    parent = session.msg_header(parent_type)
    message = session.msg(msg_type, content=content, parent={"header": parent})
    return [b"topic", *session.serialize(message)]


def test_decode_reads_content_only_when_needed() -> None:
    from jupyter_client.session import Session

    session = Session(key=uuid.uuid4().hex.encode())
    busy = decode(_frames(session, "status", "execute_request", {"execution_state": "busy"}), session)
    assert busy is not None and busy.content == {"execution_state": "busy"} and busy.parent_type == "execute_request"
    # A large output: the header is read, the megabyte is not parsed.
    text = "x" * 1_000_000
    frames = _frames(session, "stream", "execute_request", {"name": "stdout", "text": text})
    frames[-1] = b"not json at all"  # were the content parsed, this would fail
    stream = decode(frames, session)
    assert stream is not None and stream.content is None and stream.msg_type == "stream"
    # A wanted message with a bad signature is refused, not trusted.
    forged = _frames(session, "status", "execute_request", {"execution_state": "idle"})
    forged[2] = b"0" * 64
    assert decode(forged, session) is None
    # Unless the caller checked it already (the server's own handler, on its stream).
    trusted = decode(forged, session, verified=True)
    assert trusted is not None and trusted.content == {"execution_state": "idle"}
    assert decode([b"no delimiter"], session) is None


async def test_a_missed_idle_ends_at_the_last_message_when_the_next_cell_starts(
    jp_fetch: Any, jp_ws_fetch: Any, jp_serverapp: Any
) -> None:
    """ZeroMQ drops messages under a flood of outputs; an idle lost there must not leave the
    execution open (it would overlap every later run until the kernel stops)."""
    code = "import time\nprint('start')\ntime.sleep(0.5)\nprint('end')"
    (first, _, first_idle), (second, second_busy, _), by_msg = await _two_cells_losing(
        jp_fetch, jp_ws_fetch, jp_serverapp, {("status", "idle")}, code
    )
    missed = by_msg[first]
    assert "idle-missed" in missed["flags"] and "idle-missed" not in by_msg[second]["flags"]
    # Its last message was the second print, a moment before the idle that was lost.
    assert first_idle - 0.05 <= missed["ended_at"] <= first_idle
    assert missed["ended_at"] <= second_busy
    watcher = jp_serverapp.web_app.settings["jupyterlab_carbon"]["watcher"]
    assert watcher.in_flight() == []


async def test_aborted_cells_say_the_kernel_broadcast_no_code(jp_fetch: Any, jp_ws_fetch: Any) -> None:
    kernel_id = await start_kernel(jp_fetch)
    channel = await KernelChannel.open(jp_ws_fetch, kernel_id)
    failing = channel.send_execute("import time; time.sleep(0.3); 1 / 0")
    queued = [channel.send_execute("x = 1") for _ in range(2)]  # aborted: stop_on_error
    for msg_id in [failing, *queued]:
        await channel.wait_idle(msg_id)
    runs = await runs_for(jp_fetch, 3, kernel_id=kernel_id)
    by_msg = {r["msg_id"]: r for r in runs}
    assert by_msg[failing]["status"] == "error" and "no-input" not in by_msg[failing]["flags"]
    for msg_id in queued:
        assert "no-input" in by_msg[msg_id]["flags"] and by_msg[msg_id]["code_preview"] is None
