"""One background thread per host that reads every meter into a bounded ring buffer.

Each sample holds the cumulative joules of every channel (counters as read, power gauges
integrated by the trapezoid rule), so the energy of any window is a difference of two
interpolated cumulative values.
"""

from __future__ import annotations

import bisect
import itertools
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .meters import Channel, Domain, Kind, MeterSet

# Figures within this many seconds of the newest sample describe "now".
POWER_WINDOW_S = 2.0
# Percentile of a channel's recent power taken as its idle baseline.
IDLE_PERCENTILE = 0.05


@dataclass(frozen=True, slots=True)
class Sample:
    """The node at one instant: wall and monotonic time, cumulative joules per channel."""

    mono: float
    wall: float
    joules: tuple[float, ...]  # in the order of Sampler.channels
    flags: tuple[str, ...]  # "<channel id>:<flag>" for any channel that flagged this read
    gpu_use: dict[str, dict[int, float]] | None = None  # GPU channel -> pid -> share of the device


class Sampler:
    """Reads the meters every ``period_s`` on its own thread; keeps ``history_s`` of samples."""

    def __init__(
        self,
        meters: MeterSet,
        period_s: float = 0.5,
        history_s: float = 3600.0,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self.meters = meters
        self.channels: list[Channel] = meters.channels
        wrap_s = meters.min_wrap_seconds()
        # Read at least four times per shortest wrap so that a wrap can never be missed.
        self.period_s = min(period_s, wrap_s / 4) if wrap_s else period_s
        self._clock = clock
        self._wall_clock = wall_clock
        self._samples: deque[Sample] = deque(maxlen=max(int(history_s / self.period_s), 2))
        self._lock = threading.Lock()  # guards the buffer
        # One read at a time: the sampler thread and the edge reads at cell starts and ends.
        self._read_lock = threading.Lock()
        self._baseline: tuple[float, list[float]] | None = None  # (computed at, watts per channel)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._last_power: dict[str, float] = {}
        self._listeners: list[Callable[[Sample], None]] = []
        gpu_channels = {c.id for c in self.channels if c.domain is Domain.GPU}
        self._gpu_sources = [s for s in meters.sources if any(c.id in gpu_channels for c in s.channels())]

    @property
    def capacity(self) -> int:
        return self._samples.maxlen or 0

    def add_listener(self, listener: Callable[[Sample], None]) -> None:
        """Call ``listener(sample)`` on the sampler thread after each sample (keep it cheap)."""
        self._listeners.append(listener)

    def start(self) -> None:
        self.sample_once()
        self._thread = threading.Thread(target=self._run, name="jupyterlab-carbon-sampler", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self.meters.close()

    def _run(self) -> None:
        next_due = self._clock() + self.period_s
        while not self._stop.wait(max(next_due - self._clock(), 0)):
            self.sample_once()
            next_due += self.period_s
            now = self._clock()
            if next_due < now:  # fell behind (suspend, overload): resume the cadence from now
                next_due = now + self.period_s

    def sample_once(self) -> Sample:
        """Read every channel once and append the sample.

        Called by the sampling thread, and at the edges of each cell execution so that a
        window's ends are read from the counters rather than interpolated across a period.
        """
        with self._read_lock:
            sample = self._read_and_append()
        for listener in self._listeners:
            listener(sample)
        return sample

    def _read_and_append(self) -> Sample:
        readings = self.meters.read()
        mono, wall = self._clock(), self._wall_clock()
        with self._lock:
            previous = self._samples[-1] if self._samples else None
        joules: list[float] = []
        flags: list[str] = []
        for index, channel in enumerate(self.channels):
            reading = readings[channel.id]
            flags.extend(f"{channel.id}:{flag}" for flag in reading.flags)
            if channel.kind is Kind.ENERGY:
                joules.append(reading.value)
                continue
            # Power gauge: integrate (trapezoid) since the previous sample.
            last_watts = self._last_power.get(channel.id, reading.value)
            self._last_power[channel.id] = reading.value
            before = previous.joules[index] if previous else 0.0
            elapsed = mono - previous.mono if previous else 0.0
            joules.append(before + (last_watts + reading.value) / 2 * elapsed)
        gpu_use: dict[str, dict[int, float]] | None = None
        if self._gpu_sources:
            gpu_use = {}
            for source in self._gpu_sources:
                gpu_use.update(source.process_gpu_use())
        sample = Sample(mono, wall, tuple(joules), tuple(flags), gpu_use)
        with self._lock:
            self._samples.append(sample)
        return sample

    def snapshot(self) -> list[Sample]:
        with self._lock:
            return list(self._samples)

    def around(self, t0: float, t1: float) -> list[Sample]:
        """The samples from the last one before wall time ``t0`` to the first one after ``t1``.

        Windows are recent, so the buffer is walked from its newest end: the cost follows the
        window's length, not the buffer's.
        """
        picked: list[Sample] = []
        with self._lock:
            for sample in reversed(self._samples):
                if sample.wall > t1 and picked and picked[-1].wall > t1:
                    picked[-1] = sample  # keep only the first sample after t1
                    continue
                picked.append(sample)
                if sample.wall < t0:
                    break
        picked.reverse()
        return picked

    def idle_baseline(self, max_age_s: float = 60.0) -> list[float]:
        """Each channel's idle power (a low percentile over the buffer), recomputed once a minute."""
        now = self._clock()
        cached = self._baseline
        if cached is None or now - cached[0] > max_age_s:
            cached = (now, idle_baseline_watts(self.snapshot(), len(self.channels)))
            self._baseline = cached
        return cached[1]

    def power_now(self) -> dict[str, Any]:
        """Average power per channel over the last ~2 s, with the node total."""
        with self._lock:
            if len(self._samples) < 2:
                last = self._samples[-1].wall if self._samples else self._wall_clock()
                return {"time": last, "total_w": None, "channels": []}
            newest, oldest = self._samples[-1], self._samples[-2]
            for sample in itertools.islice(reversed(self._samples), 2, None):
                if newest.mono - sample.mono > POWER_WINDOW_S:
                    break
                oldest = sample
        elapsed = newest.mono - oldest.mono
        channels = []
        for index, channel in enumerate(self.channels):
            watts = (newest.joules[index] - oldest.joules[index]) / elapsed
            channels.append({"id": channel.id, "label": channel.label, "domain": channel.domain.value,
                             "method": channel.method.value, "watts": watts})
        return {
            "time": newest.wall,
            "window_s": elapsed,
            "total_w": sum(c["watts"] for c in channels),
            "modeled": self.meters.modeled,
            "channels": channels,
        }

    def series(self, since_wall: float, step_s: float) -> list[dict[str, Any]]:
        """Node power over time since ``since_wall``, one point per ``step_s`` (for charts)."""
        samples = [s for s in self.snapshot() if s.wall >= since_wall]
        points: list[dict[str, Any]] = []
        last: Sample | None = None
        for sample in samples:
            if last is None:
                last = sample
                continue
            if sample.mono - last.mono >= step_s:
                elapsed = sample.mono - last.mono
                watts = [(b - a) / elapsed for a, b in zip(last.joules, sample.joules)]
                points.append({"time": sample.wall, "total_w": sum(watts), "channels": dict(zip((c.id for c in self.channels), watts))})
                last = sample
        return points

    def joules_at(self, wall: float, samples: list[Sample] | None = None) -> tuple[tuple[float, ...], bool] | None:
        """Cumulative joules per channel at wall time ``wall``, linearly interpolated.

        Returns the values and whether ``wall`` lay outside the buffer (then the nearest
        sample is extrapolated at its current power), or None when there are no samples.
        """
        samples = self.snapshot() if samples is None else samples
        if not samples:
            return None
        walls = [s.wall for s in samples]
        index = bisect.bisect_left(walls, wall)
        if len(samples) == 1:
            return samples[0].joules, True
        outside = index == 0 and wall < walls[0] or index >= len(samples)
        lo = samples[min(max(index - 1, 0), len(samples) - 2)]
        hi = samples[min(max(index, 1), len(samples) - 1)]
        span = hi.wall - lo.wall
        fraction = (wall - lo.wall) / span if span > 0 else 1.0
        return tuple(a + (b - a) * fraction for a, b in zip(lo.joules, hi.joules)), outside

    def gpu_use_between(self, channel_id: str, t0: float, t1: float, pids: set[int]) -> tuple[float, float]:
        """Mean use of a GPU over [t0, t1] by ``pids`` and by every process (0 when never seen)."""
        mine = everyone = 0.0
        count = 0
        for sample in self.around(t0, t1):
            if sample.gpu_use is None or not t0 <= sample.wall <= t1:
                continue
            shares = sample.gpu_use.get(channel_id, {})
            mine += sum(v for pid, v in shares.items() if pid in pids)
            everyone += sum(shares.values())
            count += 1
        return (mine / count, everyone / count) if count else (0.0, 0.0)


def idle_baseline_watts(samples: Sequence[Sample], channel_count: int) -> list[float]:
    """A low percentile of each channel's power over the buffer: what the node draws doing nothing."""
    powers: list[list[float]] = [[] for _ in range(channel_count)]
    for before, after in zip(samples, samples[1:]):
        elapsed = after.mono - before.mono
        if elapsed <= 0:
            continue
        for index in range(channel_count):
            powers[index].append((after.joules[index] - before.joules[index]) / elapsed)
    baseline = []
    for values in powers:
        values.sort()
        baseline.append(values[int(IDLE_PERCENTILE * (len(values) - 1))] if values else 0.0)
    return baseline
