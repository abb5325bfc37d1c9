"""The Python API of a run: ``log_metric``, ``tag``, ``set_experiment`` and ``measure``.

In a kernel, each call attaches to the execution being run: it is published to the server's
watcher (see :mod:`.channel`) and kept here for the in-kernel record and the magic's summary.
Outside a kernel (a script, a headless run) the calls are kept for whoever records the run.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from ..measurement import Monitor, WindowMeasurement
from ..run_notes import RunNotes
from . import channel

_lock = threading.Lock()
_notes = RunNotes(msg_id=None)
_monitor: Monitor | None = None


def current_notes() -> RunNotes:
    """The notes of the execution being run (fresh ones when a new execution started)."""
    global _notes
    request = channel.current_request()
    msg_id = request.get("msg_id") if request else None
    with _lock:
        if _notes.msg_id != msg_id or (msg_id is None and _notes.msg_id is not None):
            _notes = RunNotes(msg_id=msg_id)
        return _notes


def annotate(update: dict[str, Any]) -> None:
    """Attach ``update`` to the current execution, here and on the server."""
    if not update:
        return
    current_notes().merge(update)
    channel.publish(update)


def log_metric(name: str, value: float) -> None:
    """Keep a metric (accuracy, loss...) with this execution's run: ``log_metric("accuracy", 0.93)``."""
    from ..ledger.annotations import metrics

    annotate({"metrics": metrics({name: value})})


def tag(*tags: str) -> None:
    """Tag this execution's run: ``tag("baseline", "lr=0.1")``."""
    from ..ledger.annotations import tag_list

    annotate({"tags": tag_list(tags)})


def set_experiment(name: str) -> None:
    """Put this execution's run in the experiment ``name`` (by default, its notebook's)."""
    from ..ledger.annotations import experiment_name

    annotate({"experiment": experiment_name(name)})


def monitor() -> Monitor:
    """This process's monitor, opened at first use (a sampler thread at 0.5 s, 0.06 % of a core)."""
    global _monitor
    with _lock:
        if _monitor is None:
            _monitor = Monitor.open()
        return _monitor


@dataclass
class Measurement:
    """A window measured by ``measure()``: filled in when the ``with`` block ends."""

    name: str
    result: WindowMeasurement | None = None

    @property
    def energy_j(self) -> float | None:
        return None if self.result is None else self.result.attributed_j

    @property
    def duration_s(self) -> float | None:
        return None if self.result is None else self.result.duration_s

    def to_json(self) -> dict[str, Any]:
        result = self.result
        if result is None:
            return {"name": self.name}
        return {
            "name": self.name,
            "started_at": result.started_at,
            "ended_at": result.ended_at,
            "attributed_j": result.attributed_j,
            "node_j": result.node_j,
            "devices": {c.channel_id: {"j": c.attributed_j, "method": c.method} for c in result.channels},
            "methods": result.methods,
            "flags": result.flags,
        }

    def __repr__(self) -> str:
        if self.result is None:
            return f"<measurement {self.name!r}: running>"
        from ..units import describe_window

        return describe_window(self.name, self.result)


@contextmanager
def measure(name: str = "") -> Iterator[Measurement]:
    """Measure a block inside a cell, kept with the cell's run as a sub-window::

        with jupyterlab_carbon.measure("epoch 3") as m:
            train_one_epoch()
        m.energy_j  # the process tree's share of the node's energy over the block

    The counters are read when the block begins and ends (as Zeus does); the figure carries
    its method per device (measured or modeled) and its flags.
    """
    measurement = Measurement(name)
    meter = monitor()
    window = meter.begin(name)
    try:
        yield measurement
    finally:
        measurement.result = meter.end(window)
        annotate({"windows": [measurement.to_json()]})
