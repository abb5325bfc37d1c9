"""The events WebSocket batches executions' starts and stored runs: one frame for a burst of short
cells, every event still delivered, in the order it happened, and nothing later than BATCH_S."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

from jupyterlab_carbon.handlers.events import BATCH_S, EventHub

from .test_executions import NAMESPACE, KernelChannel, runs_for, start_kernel


class _Socket:
    """What the hub needs of a WebSocket: the texts written to it, and when."""

    def __init__(self) -> None:
        self.frames: list[tuple[float, Any]] = []

    def write_message(self, text: str) -> None:
        self.frames.append((time.monotonic(), json.loads(text)))


def _hub() -> tuple[EventHub, _Socket]:
    hub = EventHub(sampler=None)  # type: ignore[arg-type]  # power is not pushed here
    socket = _Socket()
    hub.add(socket)  # type: ignore[arg-type]
    return hub, socket


async def test_batched_events_go_out_together_within_the_batch_delay() -> None:
    hub, socket = _hub()
    queued_at = time.monotonic()
    hub.push_started("k", "m1", 1.0)
    hub.push_started("k", "m2", 2.0)
    assert socket.frames == []
    await asyncio.sleep(BATCH_S * 3)
    [(sent_at, frame)] = socket.frames
    assert [event["msg_id"] for event in frame] == ["m1", "m2"]
    assert sent_at - queued_at < BATCH_S * 2
    # A lone event goes out as an object, not as an array of one.
    hub.push_started("k", "m3", 3.0)
    await asyncio.sleep(BATCH_S * 3)
    assert socket.frames[-1][1]["msg_id"] == "m3"


async def test_an_event_sent_at_once_follows_what_was_batched_before_it() -> None:
    hub, socket = _hub()
    hub.push_started("k", "m1", 1.0)
    hub.push_budget("k", "m1", {"text": "1kJ"})
    assert [frame for _, frame in socket.frames] == [
        {"type": "execution-started", "kernel_id": "k", "msg_id": "m1", "started_at": 1.0},
        {"type": "budget", "kernel_id": "k", "msg_id": "m1", "budget": {"text": "1kJ"}},
    ]
    await asyncio.sleep(BATCH_S * 3)
    assert len(socket.frames) == 2  # the batch left with the budget event, and only then


async def test_a_burst_of_cells_arrives_started_then_stored_for_each(jp_fetch: Any, jp_ws_fetch: Any) -> None:
    events_socket = await jp_ws_fetch(NAMESPACE, "events")
    kernel_id = await start_kernel(jp_fetch)
    channel = await KernelChannel.open(jp_ws_fetch, kernel_id)
    try:
        msg_ids = [(await channel.run(f"{n} + 1"))[0] for n in range(20)]
        await runs_for(jp_fetch, 20, kernel_id=kernel_id)
        seen: list[tuple[str, str]] = []
        frames = 0
        while {("run", m) for m in msg_ids} - set(seen):
            frame = json.loads(await asyncio.wait_for(events_socket.read_message(), 10))
            before = len(seen)
            for event in frame if isinstance(frame, list) else [frame]:
                if event["type"] == "execution-started" and event["kernel_id"] == kernel_id:
                    seen.append(("started", event["msg_id"]))
                elif event["type"] == "run" and event["run"]["kernel_id"] == kernel_id:
                    seen.append(("run", event["run"]["msg_id"]))
            frames += len(seen) > before
        for msg_id in msg_ids:
            assert seen.count(("started", msg_id)) == 1 and seen.count(("run", msg_id)) == 1
            assert seen.index(("started", msg_id)) < seen.index(("run", msg_id))
        assert [m for kind, m in seen if kind == "started"] == msg_ids
        assert frames < len(seen)  # some frames carried several of these events
    finally:
        channel.ws.close()
        events_socket.close()
        await jp_fetch("api", "kernels", kernel_id, method="DELETE")
