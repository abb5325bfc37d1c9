"""The run record: what one cell execution cost, with the provenance of every number."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, fields
from typing import Any

RECORD_VERSION = 1
# Code previews are the first line of a cell, cut to this many characters.
PREVIEW_CHARS = 120
# The flag a run carries for how it ended (the server's, the kernel's and headless runs alike).
STATUS_FLAGS = {"error": "errored", "interrupted": "interrupted"}


def code_fields(code: str | None, keep_preview: bool = True) -> dict[str, Any]:
    """A run's ``code_hash`` (sha256 of the cell) and ``code_preview`` (its first line, unless not kept)."""
    stripped = (code or "").strip()
    return {
        "code_hash": hashlib.sha256(code.encode()).hexdigest() if code is not None else None,
        "code_preview": stripped.splitlines()[0][:PREVIEW_CHARS] if stripped and keep_preview else None,
    }


# At most this many points in a run's power trace.
TRACE_POINTS = 200


@dataclass
class ChannelEnergy:
    """One channel's energy over an execution window."""

    channel_id: str  # e.g. "cpu/package-0"
    label: str
    domain: str  # psys, cpu, dram, gpu, other
    method: str  # measured-counter, measured-power, modeled
    node_j: float  # the whole node on this channel during the window
    share: float  # the kernel's share of it (0..1): CPU time for cpu/dram/psys, GPU use for gpu
    attributed_j: float  # share x node_j
    idle_j: float  # the kernel's part of the channel's idle baseline
    active_j: float  # the kernel's part above the idle baseline

    def to_json(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in _CHANNEL_FIELDS}


_CHANNEL_FIELDS = tuple(f.name for f in fields(ChannelEnergy))


@dataclass
class RunRecord:
    """One execution of one cell by one kernel."""

    run_id: str  # uuid4 hex, minted by the server
    kernel_id: str
    msg_id: str  # the execute_request's msg_id (the frontend maps it to its cell)
    started_at: float  # epoch seconds, from the kernel's own "busy" status timestamp
    ended_at: float  # epoch seconds, from the kernel's "idle" status timestamp
    status: str  # ok, error, interrupted
    node_j: float  # all channels, whole node, over the window
    attributed_j: float  # this kernel's share, all channels
    idle_j: float  # attributed, idle baseline part
    active_j: float  # attributed, above-idle part
    channels: list[ChannelEnergy]
    methods: list[str]  # distinct methods of the channels used
    flags: list[str]  # below-resolution, sampling-gap, interrupted, errored, counter-reset, ...
    host: str
    session_id: str | None = None
    notebook_path: str | None = None
    execution_count: int | None = None
    code_hash: str | None = None  # sha256 of the cell's code
    code_preview: str | None = None  # the first line of the code, for lists
    kernel_name: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)  # annotations (experiment, tags...)
    # gCO2e, cost and equivalents under the intensity, PUE and price in force when it ran
    impact: dict[str, Any] | None = None
    version: int = RECORD_VERSION
    # The ledger's annotations (schema version 3).
    experiment: str = ""  # never empty once stored: the recorder defaults it to the notebook or kernel
    tags: list[str] = field(default_factory=list)  # sorted, unique
    note: str | None = None
    user: str | None = None  # the Jupyter user owning the server that ran it; None for old runs
    source: str = "server"  # server, in-kernel (%%carbon without a server), headless or imported
    metrics: dict[str, float] = field(default_factory=dict)  # e.g. {"accuracy": 0.93}
    deleted_at: float | None = None  # epoch seconds of a soft delete
    # Power over the run: {"t": seconds since started_at, "w": watts attributed to the kernel},
    # at most TRACE_POINTS points. Left out of lists (read with one run or a comparison).
    trace: dict[str, list[float]] | None = None

    @property
    def duration_s(self) -> float:
        return self.ended_at - self.started_at

    def to_json(self, include_trace: bool = False) -> dict[str, Any]:
        """The record as JSON-ready values, to serialise at once: its lists and dicts are the
        record's own, not copies (``dataclasses.asdict`` deep-copied the power trace of every
        run announced, ~0.8 ms each on the server's event loop, even when it was left out)."""
        data = {name: getattr(self, name) for name in _RUN_FIELDS if include_trace or name != "trace"}
        data["channels"] = [channel.to_json() for channel in self.channels]
        data["duration_s"] = self.duration_s
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RunRecord:
        fields = {k: v for k, v in data.items() if k != "duration_s"}
        fields["channels"] = [ChannelEnergy(**c) for c in data.get("channels", [])]
        return cls(**fields)


_RUN_FIELDS = tuple(f.name for f in fields(RunRecord))


def default_experiment(notebook_path: str | None, kernel_name: str | None, kernel_id: str) -> str:
    """The experiment a run belongs to unless told otherwise: its notebook, else its kernel."""
    if notebook_path:
        return notebook_path
    return f"kernel {kernel_name or kernel_id}"
