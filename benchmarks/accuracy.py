"""Attributed-vs-true energy of ``window_energy`` on a synthetic RAPL meter, edges read late.

Why this exists: every per-cell figure the extension shows is ``window_energy(sampler, t0, t1)``
over the kernel's busy/idle timestamps. The counters are exact, so the error comes from the edges:
the server reads the meters when the kernel's messages arrive, some milliseconds after t0 and t1
(measured on a real server by ``benchmarks/edge_delays.py``, stored in ``edge_delays.json``),
and between periodic samples (every 0.5 s by default) it does not know how the power moved. A
compute cell that starts from idle steps the power exactly at its start; one that ends steps it
down at its end: that is the common case, and the hardest one for an estimate made from reads that
come late.

The script replays that sequence on a manual clock: periodic reads, a read at each edge a delay
after it (drawn from the measured delays of CPU-bound cells, the largest), and the record built
right after the end read by calling ``window_energy`` then, as the server does, its own waiting
(one read after the end) advancing the simulated time. The estimate is compared with the exact
integral of the profile, computed from the profile alone. Cases:

* ``constant``: the control, where any error is a bug;
* ``steps-and-spikes`` and ``noisy-load``: random windows on random profiles (steps anywhere);
* ``step-at-start``, ``step-at-end``, ``step-at-both``: cells of 0.1-10 s whose power steps
  exactly at their start, at their end, or both (idle before, busy during, idle after).

The fake powercap tree, the RAPL source and the sampler are the package's own code; nothing else
is mocked. Run from the repository root: ``python benchmarks/accuracy.py`` (one JSON object on
stdout, progress on stderr; exit status 1 when a target is missed). ``--package DIR`` measures
another copy of the package (for example the previous commit's, unpacked with ``git archive``).
"""

from __future__ import annotations

import argparse
import bisect
import heapq
import importlib
import json
import math
import os
import platform
import random
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
DELAYS_FILE = Path(__file__).resolve().parent / "edge_delays.json"
WALL0 = 1_800_000_000.0  # the fake tree's t=0 on the wall clock (as in test_attribution.py)
GRID_S = 0.01  # power values change on a 10 ms grid (and at the steps of the step cases)
ZONE = "intel-rapl:0"
CHANNEL = "cpu/package-0"
RANDOM_WINDOW_LENGTHS_S = (0.1, 0.3, 1.0, 2.0, 10.0, 60.0)
STEP_WINDOW_LENGTHS_S = (0.1, 0.3, 1.0, 2.0, 10.0)
DEFAULT_PERIOD_S = 0.5  # CarbonConfig.sample_period_s
# The record is built on the recorder's thread once the end read has returned: this much later.
BUILD_LATENCY_S = (0.0005, 0.005)

@dataclass(frozen=True)
class Ripple:
    """How power wanders around its level every 10 ms: level x (1 + sd N(0, 1)), floored at 0.2,
    and with ``bursts``, a 10-40 ms turbo burst at 1.8x starting in 0.5 % of the 10 ms steps."""

    sd: float
    bursts: bool


NOISY = Ripple(0.2, True)  # the noisy-load case's: an uneven load
STEADY = Ripple(0.05, False)  # a steady computation's (the step cases' by default; see --step-ripple)


def target_for(length_s: float) -> float | None:
    """The accuracy target: 0.5 % for windows of 1 s and more, 5 % at 0.1 s (none in between)."""
    if length_s >= 1.0:
        return 0.005
    if length_s <= 0.1 + 1e-9:
        return 0.05
    return None


class PiecewiseConstant:
    """A power profile that holds ``watts[i]`` on ``[edges[i], edges[i+1])``.

    The fake tree is advanced one constant piece at a time (midpoint rule on a constant: exact),
    so the counter the sampler reads and the integral we compare against describe the very same
    energy (checked at the end of each run).
    """

    def __init__(self, edges: Sequence[float], watts: Sequence[float]) -> None:
        if len(edges) != len(watts) + 1:
            raise ValueError("need one more edge than values")
        self.edges = list(edges)
        self.watts = list(watts)
        self._cumulative = [0.0]
        for index, value in enumerate(self.watts):
            self._cumulative.append(self._cumulative[-1] + value * (self.edges[index + 1] - self.edges[index]))

    def _index(self, t: float) -> int:
        return min(max(bisect.bisect_right(self.edges, t) - 1, 0), len(self.watts) - 1)

    def __call__(self, t: float) -> float:
        return self.watts[self._index(t)]

    def energy_until(self, t: float) -> float:
        """Exact joules from 0 to ``t`` (the last value holds past the last edge)."""
        index = self._index(t)
        return self._cumulative[index] + self.watts[index] * (t - self.edges[index])

    def integral(self, t0: float, t1: float) -> float:
        return self.energy_until(t1) - self.energy_until(t0)

    def next_edge_after(self, t: float) -> float:
        index = bisect.bisect_right(self.edges, t + 1e-12)
        return self.edges[index] if index < len(self.edges) else math.inf


def _on_grid(t: float) -> float:
    return round(t / GRID_S) * GRID_S


Windows = dict[float, list[tuple[float, float]]]


@dataclass
class Run:
    """What a case draws: the power, its noise-free levels, and the windows per length."""

    profile: PiecewiseConstant
    levels: PiecewiseConstant  # the profile without its 10 ms noise (the profile itself if it has none)
    windows: Windows


def noisy(
    levels: Sequence[tuple[float, float]], end: float, ripple: Ripple, rng: random.Random
) -> tuple[PiecewiseConstant, PiecewiseConstant]:
    """Levels ``(from_t, watts)`` held until the next one, with ``ripple`` on top; returns the
    profile and the levels alone.

    Real package power is never constant over a sample period. Which part of that ripple falls
    between an edge and its late read, no read can tell: the levels let the report say how much
    of the error that is.
    """
    starts = [t for t, _ in levels]
    bounds = sorted({*(i * GRID_S for i in range(math.ceil(end / GRID_S) + 1)), *starts})
    watts: list[float] = []
    level_watts: list[float] = []
    burst = 0
    for left in bounds[:-1]:
        level = levels[max(bisect.bisect_right(starts, left + 1e-12) - 1, 0)][1]
        if ripple.bursts and burst == 0 and rng.random() < 0.005:
            burst = rng.randint(1, 4)
        factor = 1.8 if burst > 0 else max(0.2, 1.0 + ripple.sd * rng.gauss(0.0, 1.0))
        burst = max(burst - 1, 0)
        watts.append(level * factor)
        level_watts.append(level)
    return PiecewiseConstant(bounds, watts), PiecewiseConstant(bounds, level_watts)


def random_windows(duration_s: float, period_s: float, count: int, rng: random.Random) -> Windows:
    windows: Windows = {}
    for length in RANDOM_WINDOW_LENGTHS_S:
        low, high = 2 * period_s, duration_s - length - 2 * period_s
        windows[length] = [(t0, t0 + length) for t0 in (rng.uniform(low, high) for _ in range(count))]
    return windows


MakeRun = Callable[[float, float, int, random.Random], Run]


def constant_run(duration_s: float, period_s: float, count: int, rng: random.Random) -> Run:
    """Control case: constant power, where the estimate must be exact."""
    profile = PiecewiseConstant([0.0, duration_s + 10.0], [rng.uniform(20.0, 40.0)])
    return Run(profile, profile, random_windows(duration_s, period_s, count, rng))


def steps_and_spikes_run(duration_s: float, period_s: float, count: int, rng: random.Random) -> Run:
    """Levels held 2-20 s (idle to full load) with short spikes of 50-300 ms up to 220 W, on the
    10 ms grid, and windows anywhere: steps rarely at a window's edges."""
    levels = (12.0, 25.0, 45.0, 60.0, 85.0)
    edges, watts = [0.0], []
    t = 0.0
    while t < duration_s + 10.0:
        level = rng.choice(levels)
        hold = _on_grid(rng.uniform(2.0, 20.0))
        spike_at = _on_grid(rng.uniform(0.5, hold - 0.5)) if rng.random() < 0.6 else None
        if spike_at is None:
            edges.append(t + hold)
            watts.append(level)
        else:
            spike_len = _on_grid(rng.uniform(0.05, 0.3))
            edges += [t + spike_at, t + spike_at + spike_len, t + hold]
            watts += [level, rng.uniform(150.0, 220.0), level]
        t += hold
    profile = PiecewiseConstant([_on_grid(e) for e in edges], watts)
    return Run(profile, profile, random_windows(duration_s, period_s, count, rng))


def noisy_load_run(duration_s: float, period_s: float, count: int, rng: random.Random) -> Run:
    """Idle (8-15 W, 1-10 s) and busy (35-90 W, 2-30 s) phases under 10 ms noise; random windows."""
    levels: list[tuple[float, float]] = []
    t, busy = 0.0, False
    while t < duration_s + 10.0:
        busy = not busy
        levels.append((t, rng.uniform(35.0, 90.0) if busy else rng.uniform(8.0, 15.0)))
        t = _on_grid(t + (rng.uniform(2.0, 30.0) if busy else rng.uniform(1.0, 10.0)))
    profile, level_profile = noisy(levels, duration_s + 10.0, NOISY, rng)
    return Run(profile, level_profile, random_windows(duration_s, period_s, count, rng))


def cells_run(at_start: bool, at_end: bool, ripple: Ripple) -> MakeRun:
    """Cells one after another, each busy at 35-90 W, idle (8-15 W) between them, all with
    ``ripple``; the power steps up exactly at a cell's start (``at_start``) or 0.3-2 s before
    it, and down exactly at its end (``at_end``) or 0.3-2 s after it. ``count`` cells of each
    length, shuffled, at any phase of the periodic sampling (never on the 10 ms grid)."""

    def make(duration_s: float, period_s: float, count: int, rng: random.Random) -> Run:
        lengths = [length for length in STEP_WINDOW_LENGTHS_S for _ in range(count)]
        rng.shuffle(lengths)
        levels: list[tuple[float, float]] = [(0.0, rng.uniform(8.0, 15.0))]
        windows: Windows = {length: [] for length in STEP_WINDOW_LENGTHS_S}
        t = 2 * period_s
        for length in lengths:
            t0 = t + 2.3 + rng.uniform(0.0, 1.0)  # leaves room for a 2 s lead, never on the grid
            t1 = t0 + length
            busy_from = t0 if at_start else t0 - rng.uniform(0.3, 2.0)
            busy_until = t1 if at_end else t1 + rng.uniform(0.3, 2.0)
            levels += [(busy_from, rng.uniform(35.0, 90.0)), (busy_until, rng.uniform(8.0, 15.0))]
            windows[length].append((t0, t1))
            t = busy_until
        profile, level_profile = noisy(levels, t + 3.0, ripple, rng)
        return Run(profile, level_profile, windows)

    return make


@dataclass
class Case:
    """One synthetic meter: how its profile and windows are made, the counter's range and start."""

    name: str
    description: str
    make_run: MakeRun
    duration_s: float  # for the random-window cases; the cell cases last as long as their cells
    max_range_uj: int
    start_uj: int
    lengths: tuple[float, ...]


def percentile(values: Sequence[float], q: float) -> float:
    """Linear-interpolated percentile (q in 0..1) without numpy."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    position = q * (len(ordered) - 1)
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


@dataclass
class EdgeDelays:
    """The measured delays (seconds) between a kernel's timestamp and the server's edge read."""

    kind: str
    start_s: list[float]
    end_s: list[float]
    source: str

    @classmethod
    def load(cls, path: Path, kind: str) -> EdgeDelays:
        data = json.loads(path.read_text())
        measured = data["kinds"][kind]
        return cls(kind, list(measured["start_s"]), list(measured["end_s"]), f"{path.name} ({data['date']})")


@dataclass
class CaseRun:
    """One realisation of a case: the meter's bookkeeping and the raw errors per window length."""

    meta: dict[str, Any]
    errors: dict[float, list[float]]
    # The part of each error no read could see: the ripple (profile minus levels) between each
    # edge and the read nearest to it, relative to the window's energy.
    unseen: dict[float, list[float]]
    flags: dict[str, int]
    query_s: float


@dataclass
class Simulation:
    """The fake tree, a real Sampler, and the reads due: periodic ones and each edge's read.

    ``sleep`` is the sampler's: when ``window_energy`` waits for a read, simulated time moves on
    and every read due meanwhile happens, as it would on a server.
    """

    fake: Any
    profile: PiecewiseConstant
    period_s: float
    edge_reads: list[float] = field(default_factory=list)  # a heap
    next_periodic: float = 0.0
    sampler: Any = None

    def advance_to(self, target: float) -> None:
        """Integrate the profile one constant piece at a time (exact), write the counter once."""
        zone = self.fake.zones[ZONE]
        now = self.fake.now
        while now < target - 1e-12:
            end = min(self.profile.next_edge_after(now), target)
            zone.energy_uj += self.profile(now + (end - now) / 2) * (end - now) * 1e6
            now = end
        self.fake.now = max(now, self.fake.now)
        zone.write()

    def run_reads_until(self, target: float) -> None:
        while True:
            due = min(self.next_periodic, self.edge_reads[0] if self.edge_reads else math.inf)
            if due > target:
                break
            self.advance_to(due)
            self.sampler.sample_once()
            if self.edge_reads and due == self.edge_reads[0]:
                heapq.heappop(self.edge_reads)
            else:
                self.next_periodic += self.period_s
        self.advance_to(target)

    def sleep(self, seconds: float) -> None:
        self.run_reads_until(self.fake.now + seconds)


def make_sampler(package: Any, meters: Any, period_s: float, fake: Any, sleep: Callable[[float], None]) -> Any:
    kwargs: dict[str, Any] = {"period_s": period_s, "history_s": 1e7, "clock": lambda: fake.now,
                              "wall_clock": lambda: WALL0 + fake.now}
    try:
        return package.sampler.Sampler(meters, sleep=sleep, **kwargs)
    except TypeError:  # a package from before the sampler could wait (it never waits)
        return package.sampler.Sampler(meters, **kwargs)


def run_case(
    package: Any, case: Case, period_s: float, count: int, seed: int, delays: EdgeDelays, workdir: Path
) -> CaseRun:
    """Drive the fake meter and a real Sampler through every window's edges and records."""
    rng = random.Random(seed)
    drawn = case.make_run(case.duration_s, period_s, count, rng)
    profile, windows = drawn.profile, drawn.windows
    fake = package.fakesysfs.FakePowercap(workdir / f"{case.name}-{period_s:g}-{seed}")
    fake.root.mkdir(parents=True)
    fake.add_zone(ZONE, "package-0", profile, max_range_uj=case.max_range_uj, start_uj=case.start_uj)
    meters = package.meters.MeterSet([package.rapl.RaplSource(fake.root, clock=lambda: fake.now)])
    sim = Simulation(fake, profile, period_s)
    sampler = sim.sampler = make_sampler(package, meters, period_s, fake, sim.sleep)
    if [c.id for c in sampler.channels] != [CHANNEL] or sampler.period_s != period_s:
        raise RuntimeError(f"expected one channel {CHANNEL} read every {period_s} s")

    # Each window: a read a measured delay after each edge, the record a moment after the end read.
    builds: list[tuple[float, int, float, float, float]] = []  # (when, seq, length, t0, t1)
    for length, pairs in windows.items():
        for t0, t1 in pairs:
            start_read = t0 + rng.choice(delays.start_s)
            end_read = t1 + rng.choice(delays.end_s)
            heapq.heappush(sim.edge_reads, start_read)
            heapq.heappush(sim.edge_reads, end_read)
            when = max(start_read, end_read) + rng.uniform(*BUILD_LATENCY_S)
            builds.append((when, len(builds), length, t0, t1))
    builds.sort()
    errors: dict[float, list[float]] = {length: [] for length in windows}
    unseen: dict[float, list[float]] = {length: [] for length in windows}
    flags: dict[str, int] = {}
    query_s = 0.0
    started = time.perf_counter()
    sampler.sample_once()
    sim.next_periodic = period_s
    for when, _, length, t0, t1 in builds:
        sim.run_reads_until(max(when, fake.now))
        tic = time.perf_counter()
        window = package.attribution.window_energy(sampler, WALL0 + t0, WALL0 + t1)
        query_s += time.perf_counter() - tic
        for flag in window.flags:
            flags[flag] = flags.get(flag, 0) + 1
        truth = profile.integral(t0, t1)
        errors[length].append(abs(window.node_j[CHANNEL] - truth) / truth)
        read_times = [s.wall - WALL0 for s in sampler.around(WALL0 + t0, WALL0 + t1)]
        ripple = [ripple_to_nearest_read(profile, drawn.levels, read_times, t) for t in (t0, t1)]
        unseen[length].append(abs(ripple[1] - ripple[0]) / truth)
    sim.run_reads_until(fake.now + 2 * period_s)
    drive_s = time.perf_counter() - started
    zone = fake.zones[ZONE]
    wraps = (int(zone.energy_uj) + zone.offset_uj) // zone.max_range_uj - zone.offset_uj // zone.max_range_uj
    samples = sampler.snapshot()
    counted_j = samples[-1].joules[0] - samples[0].joules[0]
    exact_j = profile.integral(samples[0].wall - WALL0, samples[-1].wall - WALL0)
    print(
        f"[accuracy] {case.name} period {period_s:g} s seed {seed}: {len(samples)} samples over {fake.now:.0f} s "
        f"(driven in {drive_s:.1f} s), {wraps} wraps, counted {counted_j:.3f} J vs exact {exact_j:.3f} J",
        file=sys.stderr,
    )
    meta = {
        "seed": seed,
        "simulated_s": fake.now,
        "samples": len(samples),
        "wraps": wraps,
        "mean_power_w": exact_j / (samples[-1].wall - samples[0].wall),
        # The counters must lose nothing across the wraps: what the sampler accumulated against
        # the exact integral, and what the fake tree wrote against it (1 uJ steps, float sums).
        "counted_vs_exact_total_j": counted_j - exact_j,
        "fake_tree_vs_exact_total_j": fake.true_joules(ZONE) - profile.integral(0.0, fake.now),
    }
    return CaseRun(meta, errors, unseen, flags, query_s)


def ripple_to_nearest_read(
    profile: PiecewiseConstant, levels: PiecewiseConstant, reads: Sequence[float], t: float
) -> float:
    """Joules of ripple (profile minus its levels) from ``t`` to the read nearest to it, signed
    as an error of the cumulative energy at ``t``."""
    index = bisect.bisect_left(reads, t)
    nearest = min(reads[max(index - 1, 0) : index + 1], key=lambda r: abs(r - t))
    low, high = sorted((t, nearest))
    return (profile.integral(low, high) - levels.integral(low, high)) * (1 if nearest >= t else -1)


def summarise(
    errors: Sequence[float], unseen: Sequence[float], length: float, per_repeat_p95: Sequence[float]
) -> dict[str, Any]:
    """Statistics of one window length, pooled over the repeats, judged by p95."""
    target = target_for(length)
    p95 = percentile(errors, 0.95)
    return {
        "length_s": length,
        "count": len(errors),
        "mean_abs_rel_error": sum(errors) / len(errors),
        "p50_rel_error": percentile(errors, 0.5),
        "p95_rel_error": p95,
        "max_rel_error": max(errors),
        "unseen_ripple_p95_rel": percentile(unseen, 0.95),
        "p95_rel_error_range_over_repeats": [min(per_repeat_p95), max(per_repeat_p95)],
        "target_rel_error": target,
        "share_within_target": (sum(e <= target for e in errors) / len(errors)) if target else None,
        "met": (p95 <= target) if target is not None else None,
    }


def run_pooled(
    package: Any, case: Case, period_s: float, count: int, repeats: int, seed: int, delays: EdgeDelays, workdir: Path
) -> dict[str, Any]:
    """Repeat a case with fresh profiles and offsets (another seed each) and pool the windows."""
    runs = [run_case(package, case, period_s, count, seed + 1000 * r, delays, workdir) for r in range(repeats)]
    flags: dict[str, int] = {}
    for run in runs:
        for flag, number in run.flags.items():
            flags[flag] = flags.get(flag, 0) + number
    lengths = []
    for length in case.lengths:
        pooled = [e for run in runs for e in run.errors[length]]
        pooled_unseen = [e for run in runs for e in run.unseen[length]]
        per_repeat = [percentile(run.errors[length], 0.95) for run in runs]
        lengths.append(summarise(pooled, pooled_unseen, length, per_repeat))
        row = lengths[-1]
        print(
            f"[accuracy] {case.name} period {period_s:g} s, {length:>4g} s windows (n={row['count']}): "
            f"mean {row['mean_abs_rel_error']:.3%} p95 {row['p95_rel_error']:.3%} max {row['max_rel_error']:.3%} "
            f"(unseen ripple p95 {row['unseen_ripple_p95_rel']:.3%})"
            + (
                f" target {row['target_rel_error']:.1%} {'met' if row['met'] else 'NOT met'}"
                if row["target_rel_error"]
                else ""
            ),
            file=sys.stderr,
        )
    return {
        "name": case.name,
        "description": case.description,
        "sample_period_s": period_s,
        "repeats": repeats,
        "simulated_s_per_repeat": [round(run.meta["simulated_s"], 1) for run in runs],
        "max_energy_range_uj": case.max_range_uj,
        "counter_start_uj": case.start_uj,
        "wraps": sum(run.meta["wraps"] for run in runs),
        "worst_counted_vs_exact_total_j": max((run.meta["counted_vs_exact_total_j"] for run in runs), key=abs),
        "worst_fake_tree_vs_exact_total_j": max((run.meta["fake_tree_vs_exact_total_j"] for run in runs), key=abs),
        "mean_power_w": [round(run.meta["mean_power_w"], 2) for run in runs],
        "window_flags": flags,
        "window_energy_mean_ms": 1000
        * sum(r.query_s for r in runs)
        / sum(len(e) for r in runs for e in r.errors.values()),
        "windows": lengths,
    }


def load_package(root: Path) -> Any:
    """The package under test (and the fake tree of its tests), from ``root``/server-ext."""
    sys.path.insert(0, str(root / "server-ext"))
    names = {
        "attribution": "jupyterlab_carbon.attribution",
        "meters": "jupyterlab_carbon.meters",
        "rapl": "jupyterlab_carbon.meters.rapl",
        "sampler": "jupyterlab_carbon.sampler",
        "fakesysfs": "tests.fakesysfs",
    }
    modules = {key: importlib.import_module(name) for key, name in names.items()}
    return argparse.Namespace(**modules)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--windows", type=int, default=200, help="random windows per length and case (per repeat)")
    parser.add_argument("--cells", type=int, default=100, help="cells per length in the step cases (per repeat)")
    parser.add_argument("--duration", type=float, default=600.0, help="simulated seconds per random-window case")
    parser.add_argument("--seed", type=int, default=20240601, help="seed of the profiles, offsets and delays")
    parser.add_argument("--repeats", type=int, default=5, help="profiles drawn per case (pooled)")
    parser.add_argument("--delays", type=Path, default=DELAYS_FILE, help="measured edge delays (edge_delays.py)")
    parser.add_argument("--delay-kind", default="cpu", help="which kind of cell's delays to replay")
    parser.add_argument("--package", type=Path, default=REPO, help="checkout whose server-ext/ is measured")
    parser.add_argument("--step-ripple", choices=("steady", "noisy"), default="steady",
                        help="the step cases' 10 ms ripple: steady (sd 5 %%) or noisy-load's (sd 20 %% and bursts)")
    parser.add_argument(
        "--sweep-periods", type=lambda text: [float(v) for v in text.split(",") if v], default=[0.1],
        help="comma-separated sample periods to compare with the default (empty: no sweep)",
    )
    args = parser.parse_args(argv)
    step_ripple = STEADY if args.step_ripple == "steady" else NOISY
    ripple_text = f"10 ms ripple of sd {step_ripple.sd:g}{' with bursts' if step_ripple.bursts else ''}."
    package = load_package(args.package.resolve())
    delays = EdgeDelays.load(args.delays, args.delay_kind)

    # A 2 kJ range: the sampler reads at least 4 times per shortest wrap (2 kJ / 1000 W = 2 s),
    # so the 0.5 s default period is kept, and at 10-90 W the counter wraps every 20-200 s.
    max_range_uj = 2_000_000_000
    top = max_range_uj - 5_000_000
    cases = [
        Case("constant", "Control: constant power; any error here is a bug, not sampling.",
             constant_run, args.duration, max_range_uj, top, RANDOM_WINDOW_LENGTHS_S),
        Case("steps-and-spikes",
             "Levels of 12-85 W held 2-20 s, 60 % of them with one 50-300 ms spike of 150-220 W; random windows.",
             steps_and_spikes_run, args.duration, max_range_uj, top, RANDOM_WINDOW_LENGTHS_S),
        Case("noisy-load",
             "A new value every 10 ms: level x (1 + 0.2 N(0,1)), with rare 10-40 ms bursts at 1.8x; the level "
             "alternates between idle (8-15 W, 1-10 s) and busy (35-90 W, 2-30 s); random windows.",
             noisy_load_run, args.duration, max_range_uj, max_range_uj // 2, RANDOM_WINDOW_LENGTHS_S),
        Case("step-at-start",
             "Cells busy at 35-90 W from exactly their start, staying busy 0.3-2 s past their end; idle 8-15 W "
             "between; " + ripple_text,
             cells_run(True, False, step_ripple), 0.0, max_range_uj, top, STEP_WINDOW_LENGTHS_S),
        Case("step-at-end",
             "Cells busy at 35-90 W from 0.3-2 s before their start until exactly their end; idle 8-15 W between; "
             + ripple_text,
             cells_run(False, True, step_ripple), 0.0, max_range_uj, top, STEP_WINDOW_LENGTHS_S),
        Case("step-at-both",
             "Cells busy at 35-90 W exactly from their start to their end, idle 8-15 W before and after; "
             + ripple_text,
             cells_run(True, True, step_ripple), 0.0, max_range_uj, top, STEP_WINDOW_LENGTHS_S),
    ]
    started = time.perf_counter()
    results: list[dict[str, Any]] = []
    sweep: list[dict[str, Any]] = []
    # The fake tree is rewritten at every read: in memory where the system offers it (10x faster).
    shm = Path("/dev/shm")
    with tempfile.TemporaryDirectory(prefix="carbon-accuracy-", dir=shm if shm.is_dir() else None) as tmp:
        for index, case in enumerate(cases):
            count = args.cells if case.name.startswith("step-") else args.windows
            results.append(
                run_pooled(package, case, DEFAULT_PERIOD_S, count, args.repeats, args.seed + index, delays, Path(tmp))
            )
        # What a faster sampler would buy (same profiles, offsets and delays: same seeds).
        for period in args.sweep_periods:
            for index, case in enumerate(cases):
                if case.name == "constant":
                    continue
                count = args.cells if case.name.startswith("step-") else args.windows
                pooled = run_pooled(package, case, period, count, args.repeats, args.seed + index, delays, Path(tmp))
                sweep.append(
                    {
                        "case": case.name,
                        "sample_period_s": period,
                        "p95_rel_error": {f"{w['length_s']:g}s": w["p95_rel_error"] for w in pooled["windows"]},
                        "max_rel_error": {f"{w['length_s']:g}s": w["max_rel_error"] for w in pooled["windows"]},
                        "met": {f"{w['length_s']:g}s": w["met"] for w in pooled["windows"] if w["met"] is not None},
                    }
                )
    judged = [w["met"] for r in results for w in r["windows"] if w["met"] is not None]
    output = {
        "benchmark": "accuracy",
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "package": str(args.package.resolve()),
        "machine": {
            "platform": platform.platform(),
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "power_meters": "none used: synthetic powercap tree (tests/fakesysfs.py)",
        },
        "method": (
            "A FakePowercap package zone follows each profile; a real RaplSource + Sampler read it every "
            "period on a manual clock and once per window edge, a delay after the edge drawn from the "
            "measured delays; window_energy() is called right after each window's end read (its own wait for a "
            "read moving the simulated clock) and compared with the exact integral of the profile. "
            "Relative error = |estimate - exact| / exact."
        ),
        "edge_delays": {
            "replayed": f"{delays.kind} cells' delays from {delays.source}",
            "start_ms_p50_p95_max": [round(1000 * percentile(delays.start_s, q), 2) for q in (0.5, 0.95, 1.0)],
            "end_ms_p50_p95_max": [round(1000 * percentile(delays.end_s, q), 2) for q in (0.5, 0.95, 1.0)],
        },
        "statistic_held_against_target": "p95_rel_error (the max is reported too)",
        "targets": {"windows_ge_1s": 0.005, "windows_0_1s": 0.05},
        "seed": args.seed,
        "windows_per_length_per_repeat": args.windows,
        "cells_per_length_per_repeat": args.cells,
        "step_cases_ripple": {"sd": step_ripple.sd, "bursts": step_ripple.bursts},
        "repeats": args.repeats,
        "cases": results,
        "all_targets_met": all(judged),
        "period_sweep": sweep,
        "elapsed_s": round(time.perf_counter() - started, 2),
    }
    json.dump(output, sys.stdout, indent=2)
    sys.stdout.write("\n")
    return 0 if output["all_targets_met"] else 1


if __name__ == "__main__":
    sys.exit(main())
