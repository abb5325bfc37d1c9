"""One measurement API for every host: read an edge, and measure the window between two.

The server's watcher reads an edge when a kernel says busy and idle; the in-kernel ``%%carbon``
magic and ``measure()`` read them around a block of code (begin/end, as Zeus does). Both end in
:func:`measure_window`, so a figure means the same thing whichever host produced it: the node's
energy over the window from the counters, and the share of it that the process tree used.

Nothing here imports tornado or the Jupyter server: kernels and headless runs use it.
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from .attribution import attribute, cpu_shares, gpu_shares, window_energy
from .meters import Domain, MeterConfig, open_meters
from .process_tree import ProcessTree, node_busy_cpu_s
from .records import ChannelEnergy
from .sampler import Sampler

# The key of the measured process tree in the attribution (one tree per measurement).
_TREE = "tree"


@dataclass
class Edge:
    """What was read at a window's start (or end): its processes' and the node's CPU time."""

    pids: frozenset[int]
    kernel_cpu_s: float
    node_busy_s: float
    read_at: float  # wall time of the meter read (for the server, some ms after the kernel's timestamp)


def read_edge(sampler: Sampler, tree: ProcessTree, refresh: bool) -> Edge:
    """Read the meters now, and the CPU time of the tree and of the node."""
    sample = sampler.sample_once()
    if refresh:
        tree.refresh()  # catch processes started since the last edge
    pids, cpu = tree.cpu_s()
    return Edge(pids, cpu, node_busy_cpu_s(), sample.wall)


@dataclass(frozen=True)
class WindowMeasurement:
    """A window's energy: the node's over all channels, and the tree's share per channel."""

    started_at: float
    ended_at: float
    node_j: float
    attributed_j: float
    idle_j: float
    active_j: float
    channels: list[ChannelEnergy]
    methods: list[str]
    flags: list[str]

    @property
    def duration_s(self) -> float:
        return self.ended_at - self.started_at

    def record_fields(self) -> dict[str, Any]:
        """The run record's fields this measurement fills (its flags are the caller's to merge)."""
        return {
            "started_at": self.started_at,
            "ended_at": self.ended_at,
            "node_j": self.node_j,
            "attributed_j": self.attributed_j,
            "idle_j": self.idle_j,
            "active_j": self.active_j,
            "channels": self.channels,
            "methods": self.methods,
        }


def measure_window(
    sampler: Sampler, start: Edge, end: Edge, started_at: float, ended_at: float, read_after: bool = True
) -> WindowMeasurement:
    """The energy over [started_at, ended_at] and the tree's share of it.

    CPU and DRAM channels are shared by CPU time (the tree's against the node's busy time between
    the edges), GPU channels by the tree's processes' GPU use. May wait for one more meter read
    after the window (see :func:`window_energy`): call it off any event loop.
    """
    window = window_energy(sampler, started_at, ended_at, read_after)
    cpu = cpu_shares({_TREE: end.kernel_cpu_s - start.kernel_cpu_s}, end.node_busy_s - start.node_busy_s)
    pids = set(start.pids | end.pids)
    gpu: dict[str, dict[str, float]] = {}
    for channel in sampler.channels:
        if channel.domain is Domain.GPU:
            mine, everyone = sampler.gpu_use_between(channel.id, started_at, ended_at, pids)
            gpu[channel.id] = gpu_shares({_TREE: mine}, everyone)
    channels = attribute(sampler.channels, window, cpu, gpu).per_kernel[_TREE]
    return WindowMeasurement(
        started_at=started_at,
        ended_at=ended_at,
        node_j=sum(window.node_j.values()),
        attributed_j=sum(c.attributed_j for c in channels),
        idle_j=sum(c.idle_j for c in channels),
        active_j=sum(c.active_j for c in channels),
        channels=channels,
        methods=sorted({c.method for c in channels}),
        flags=sorted(set(window.flags)),
    )


@dataclass
class Window:
    """An open window of a :class:`Monitor`."""

    name: str
    started_at: float
    start: Edge


@dataclass
class Monitor:
    """Windows over this process's tree on this node's meters (the kernel's and headless runs' host).

    The sampler runs on its own thread for as long as the monitor is open, so counters cannot
    wrap unseen and power-only channels are integrated between the edges.
    """

    sampler: Sampler
    tree: ProcessTree
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def open(cls, config: MeterConfig | None = None, period_s: float = 0.5, pid: int | None = None) -> Monitor:
        meters = open_meters(config or MeterConfig.from_environment())
        sampler = Sampler(meters, period_s=period_s, history_s=3600.0)
        sampler.start()
        return cls(sampler, ProcessTree(os.getpid() if pid is None else pid))

    @property
    def diagnoses(self) -> list[Any]:
        return list(self.sampler.meters.diagnoses)

    def begin(self, name: str = "") -> Window:
        started_at = time.time()
        with self._lock:
            return Window(name, started_at, read_edge(self.sampler, self.tree, refresh=True))

    def end(self, window: Window) -> WindowMeasurement:
        """The window up to now; the code measured waits for no meter read but its own end's."""
        ended_at = time.time()
        with self._lock:
            end = read_edge(self.sampler, self.tree, refresh=True)
        return measure_window(self.sampler, window.start, end, window.started_at, ended_at, read_after=False)

    def close(self) -> None:
        self.sampler.stop()
        self.sampler.meters.close()
