"""From node energy over a window to each kernel's share: conserved, with idle and active parts.

The node total is the truth. A kernel's share of the CPU-side channels (psys, cpu, dram,
other) is its process tree's CPU time over the node's busy CPU time in the window; its share
of a GPU channel is its processes' use of that GPU over all processes' use. Whatever no kernel
takes is "unattributed", so that for any window the kernels plus unattributed add up to the node.
"""

from __future__ import annotations

import bisect
import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from .meters import Channel, Domain
from .records import ChannelEnergy
from .sampler import Sampler

# Samples further apart than this many periods leave a hole the interpolation bridges.
GAP_PERIODS = 3.0
# Reads this far beyond a window's edges are looked at for the power next to its edge reads.
EDGE_CONTEXT_S = 1.0


@dataclass
class WindowEnergy:
    """The node's energy per channel over [t0, t1], and what limits its accuracy."""

    node_j: dict[str, float]
    idle_j: dict[str, float]
    flags: list[str]


@dataclass
class Attribution:
    per_kernel: dict[str, list[ChannelEnergy]]
    unattributed_j: dict[str, float]


def cpu_shares(kernel_cpu_s: Mapping[str, float], node_busy_s: float) -> dict[str, float]:
    """Each kernel's share of the node's busy CPU time; they never add up to more than 1."""
    used = {k: max(v, 0.0) for k, v in kernel_cpu_s.items()}
    total = max(node_busy_s, sum(used.values()))
    return {k: v / total if total > 0 else 0.0 for k, v in used.items()}


def gpu_shares(kernel_use: Mapping[str, float], all_use: float) -> dict[str, float]:
    """Each kernel's share of a GPU's use by all processes (0 when nobody used it)."""
    used = {k: max(v, 0.0) for k, v in kernel_use.items()}
    total = max(all_use, sum(used.values()))
    return {k: v / total if total > 0 else 0.0 for k, v in used.items()}


def attribute(
    channels: Sequence[Channel],
    window: WindowEnergy,
    cpu_share: Mapping[str, float],
    gpu_share: Mapping[str, Mapping[str, float]],
) -> Attribution:
    """Split every channel's node energy among kernels; the rest is unattributed.

    ``cpu_share[kernel]`` applies to CPU-side channels, ``gpu_share[channel_id][kernel]`` to GPUs.
    """
    kernels = {*cpu_share, *(k for shares in gpu_share.values() for k in shares)}
    per_kernel: dict[str, list[ChannelEnergy]] = {k: [] for k in kernels}
    unattributed: dict[str, float] = {}
    for channel in channels:
        node_j = window.node_j[channel.id]
        idle_j = min(window.idle_j.get(channel.id, 0.0), node_j) if node_j > 0 else 0.0
        shares = gpu_share.get(channel.id, {}) if channel.domain is Domain.GPU else cpu_share
        taken = 0.0
        for kernel in per_kernel:
            share = shares.get(kernel, 0.0)
            taken += share * node_j
            per_kernel[kernel].append(
                ChannelEnergy(
                    channel_id=channel.id,
                    label=channel.label,
                    domain=channel.domain.value,
                    method=channel.method.value,
                    node_j=node_j,
                    share=share,
                    attributed_j=share * node_j,
                    idle_j=share * idle_j,
                    active_j=share * (node_j - idle_j),
                )
            )
        unattributed[channel.id] = node_j - taken
    return Attribution(per_kernel, unattributed)


def window_energy(sampler: Sampler, t0: float, t1: float, read_after: bool = True) -> WindowEnergy:
    """Node energy per channel over wall-clock [t0, t1], the kernel's own timestamps of a cell.

    The cumulative joules at each edge come from the read that follows it, corrected by the
    power measured next to that read (:func:`~.sampler.cumulative_at`). Right after a cell's
    end this may wait up to ``AFTER_READ_S`` for one more read (:meth:`Sampler.read_power_after`):
    call it from a worker thread, never from the event loop. ``read_after=False`` when the
    caller read the end itself, at once (the in-kernel monitor): the edge read is the end's, and
    the millisecond between ``t1`` and it is interpolated rather than waited for.
    """
    if read_after:
        sampler.read_power_after(t1)
    samples = sampler.around(t0, t1, margin_s=EDGE_CONTEXT_S)
    # The end first: the start's estimate must not measure power across it.
    end = sampler.joules_at(t1, samples, previous_edge=t0)
    start = sampler.joules_at(t0, samples, next_edge=None if end is None else (t1, end[0]))
    channels = sampler.channels
    flags: list[str] = []
    if start is None or end is None:
        return WindowEnergy({c.id: 0.0 for c in channels}, {}, ["no-samples"])
    (joules0, outside0), (joules1, outside1) = start, end
    # The samples that bracket the window: from the last before t0 to the first after t1.
    walls = [s.wall for s in samples]
    bracket = samples[max(bisect.bisect_left(walls, t0) - 1, 0) : bisect.bisect_right(walls, t1) + 1]
    gaps = [b.mono - a.mono for a, b in itertools.pairwise(bracket)]
    if outside0 or outside1 or any(gap > GAP_PERIODS * sampler.period_s for gap in gaps):
        flags.append("sampling-gap")
    duration = max(t1 - t0, 0.0)
    node_j = {c.id: max(b - a, 0.0) for c, a, b in zip(channels, joules0, joules1, strict=False)}
    if duration > 0 and any(b <= a for a, b in zip(joules0, joules1, strict=False)):
        # No energy over a real window: a counter that moves more coarsely than the cell is short
        # showed one value to the reads around both edges, the end's read later after its edge
        # than the start's, so each edge's estimate took away what the other did not. The window
        # then gets the mean power across it, over reads far enough apart to see it move.
        watts = sampler.mean_watts_across(t0, t1, samples)
        for channel, a, b, mean in zip(channels, joules0, joules1, watts, strict=False):
            if b <= a:
                node_j[channel.id] = max(mean * duration, 0.0)
    if duration < 2 * sampler.period_s or any(c.resolution_j > 0 and node_j[c.id] < c.resolution_j for c in channels):
        # Fewer than two samples inside: the figure is interpolated, a best estimate.
        flags.append("below-resolution")
    flags.extend(sorted({f.split(":", 1)[1] for s in bracket for f in s.flags}))
    baseline = sampler.idle_baseline()
    idle_j = {c.id: watts * duration for c, watts in zip(channels, baseline, strict=False)}
    return WindowEnergy(node_j, idle_j, flags)
