"""A run record's JSON form: every field, the channels as objects, the trace only when asked."""

from __future__ import annotations

import json
from dataclasses import fields

from jupyterlab_carbon.records import ChannelEnergy, RunRecord


def _record() -> RunRecord:
    channel = ChannelEnergy("cpu/package-0", "package 0", "cpu", "measured-counter", 10.0, 0.5, 5.0, 1.0, 4.0)
    return RunRecord(
        "a" * 32,
        "kernel",
        "msg",
        100.0,
        102.5,
        "ok",
        10.0,
        5.0,
        1.0,
        4.0,
        [channel],
        ["measured-counter"],
        [],
        "host",
        extra={"budget": {"limit": 1.0}},
        impact={"gco2e": 0.2},
        tags=["x"],
        metrics={"acc": 0.9},
        trace={"t": [0.0, 1.0], "w": [2.0, 3.0]},
    )


def test_json_has_every_field_but_the_trace_unless_asked() -> None:
    record = _record()
    data = record.to_json()
    assert set(data) == {f.name for f in fields(RunRecord)} - {"trace"} | {"duration_s"}
    assert data["duration_s"] == 2.5 and data["channels"] == [
        {
            "channel_id": "cpu/package-0",
            "label": "package 0",
            "domain": "cpu",
            "method": "measured-counter",
            "node_j": 10.0,
            "share": 0.5,
            "attributed_j": 5.0,
            "idle_j": 1.0,
            "active_j": 4.0,
        }
    ]
    assert record.to_json(include_trace=True)["trace"] == {"t": [0.0, 1.0], "w": [2.0, 3.0]}


def test_json_round_trips_through_text() -> None:
    record = _record()
    assert RunRecord.from_json(json.loads(json.dumps(record.to_json(include_trace=True)))) == record
