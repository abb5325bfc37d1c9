"""One background thread per host that reads every meter into a bounded ring buffer.

Each sample holds the cumulative joules of every channel (counters as read, power gauges
integrated by the trapezoid rule) and when each channel was read, so the energy of any window
is a difference of two cumulative values estimated at its edges (:func:`cumulative_at`).
"""

from __future__ import annotations

import bisect
import itertools
import math
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from .meters import Channel, Domain, Kind, MeterSet

# Figures within this many seconds of the newest sample describe "now".
POWER_WINDOW_S = 2.0
# Percentile of a channel's recent power taken as its idle baseline.
IDLE_PERCENTILE = 0.05
# The power next to an edge read is measured over at least this span: shorter, a counter's
# own update interval (RAPL: ~1 ms) would make the figure noisy.
MIN_POWER_SPAN_S = 0.01
# ...and over as much as this span where reads allow, to average the power's own ripple, but no
# more: further away the power has less to do with the edge's.
MAX_POWER_SPAN_S = 0.25
# Powers on either side of an edge closer than this fraction of the larger are no step: within
# what power ripples by between reads. The reads around the edge are then interpolated, which
# uses the energy measured across it.
STEP_FRACTION = 0.25
# After the read that follows a window's end, one more read this long after it gives the
# power after the end (see Sampler.read_power_after): the latency it adds to a record.
AFTER_READ_S = 0.02
# A read this close after a window's end was taken at the end itself: a window timed and read in
# one process (in-kernel %%carbon, measure(), headless runs), not by a server told of it later.
# No later read is waited for; the newest read is taken as the end's value (interpolated with the
# read before it): whatever the power did in between moves the figure by at most that power for
# this long.
READ_AT_EDGE_S = 0.001


@dataclass(frozen=True, slots=True)
class Sample:
    """The node at one instant: wall and monotonic time, cumulative joules per channel."""

    mono: float  # when the read of every channel had finished
    wall: float
    joules: tuple[float, ...]  # in the order of Sampler.channels
    flags: tuple[str, ...]  # "<channel id>:<flag>" for any channel that flagged this read
    gpu_use: dict[str, dict[int, float]] | None = None  # GPU channel -> pid -> share of the device
    # When each channel was read (monotonic, in the order of Sampler.channels); None: all at ``mono``.
    read_mono: tuple[float, ...] | None = None

    def channel_mono(self, index: int) -> float:
        return self.read_mono[index] if self.read_mono is not None else self.mono


class Sampler:
    """Reads the meters every ``period_s`` on its own thread; keeps ``history_s`` of samples."""

    def __init__(
        self,
        meters: MeterSet,
        period_s: float = 0.5,
        history_s: float = 3600.0,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        """``clock`` must be the clock the meters date their reads with (both monotonic in the server)."""
        self.meters = meters
        self.channels: list[Channel] = meters.channels
        wrap_s = meters.min_wrap_seconds()
        # Read at least four times per shortest wrap so that a wrap can never be missed.
        self.period_s = min(period_s, wrap_s / 4) if wrap_s else period_s
        self._clock = clock
        self._wall_clock = wall_clock
        self._sleep = sleep
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

    def read_power_after(self, wall: float) -> None:
        """Make sure the first read after wall time ``wall`` is followed by one at least
        ``AFTER_READ_S`` later, waiting for it (at most ``AFTER_READ_S``) if need be.

        A window's end is dated by the kernel, and read a moment later: the energy between
        the two is estimated at the power measured after that read (:func:`cumulative_at`),
        which needs the next read. Nothing happens when no read follows ``wall`` yet, when
        a later one already exists (the periodic sampler's, or another cell's edge), or when
        the read came within ``READ_AT_EDGE_S`` of ``wall`` (nothing to estimate between them).
        """
        with self._lock:
            if not self._samples or self._samples[-1].wall <= wall:
                return
            newest = first_after = self._samples[-1]
            for sample in reversed(self._samples):
                if sample.wall <= wall:
                    break
                first_after = sample
        if first_after.wall - wall <= READ_AT_EDGE_S:
            return
        due = first_after.mono + AFTER_READ_S
        if newest.mono >= due:
            return
        wait = min(due - self._clock(), AFTER_READ_S)
        if wait > 0:
            self._sleep(wait)
        self.sample_once()

    def _read_and_append(self) -> Sample:
        started = self._clock()
        readings = self.meters.read(self._clock)
        mono, wall = self._clock(), self._wall_clock()
        with self._lock:
            previous = self._samples[-1] if self._samples else None
        joules: list[float] = []
        read_mono: list[float] = []
        flags: list[str] = []
        for index, channel in enumerate(self.channels):
            reading = readings[channel.id]
            flags.extend(f"{channel.id}:{flag}" for flag in reading.flags)
            # A source dating its reads by another clock than ours would misdate them: ignore its dates.
            read_at = reading.read_at
            read_mono.append(read_at if read_at is not None and started <= read_at <= mono else (started + mono) / 2)
            if channel.kind is Kind.ENERGY:
                joules.append(reading.value)
                continue
            # Power gauge: integrate (trapezoid) since the previous sample, between this channel's reads.
            last_watts = self._last_power.get(channel.id, reading.value)
            self._last_power[channel.id] = reading.value
            before = previous.joules[index] if previous else 0.0
            elapsed = read_mono[index] - previous.channel_mono(index) if previous else 0.0
            joules.append(before + (last_watts + reading.value) / 2 * elapsed)
        gpu_use: dict[str, dict[int, float]] | None = None
        if self._gpu_sources:
            gpu_use = {}
            for source in self._gpu_sources:
                gpu_use.update(source.process_gpu_use())
        sample = Sample(mono, wall, tuple(joules), tuple(flags), gpu_use, tuple(read_mono))
        with self._lock:
            self._samples.append(sample)
        return sample

    def latest(self) -> Sample | None:
        with self._lock:
            return self._samples[-1] if self._samples else None

    def snapshot(self) -> list[Sample]:
        with self._lock:
            return list(self._samples)

    def around(self, t0: float, t1: float, margin_s: float = 0.0) -> list[Sample]:
        """The samples from the last one before wall time ``t0`` to the first one after ``t1``,
        and those within ``margin_s`` beyond them.

        Windows are recent, so the buffer is walked from its newest end: the cost follows the
        window's length, not the buffer's.
        """
        t0, t1 = t0 - margin_s, t1 + margin_s
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
            channels.append(
                {
                    "id": channel.id,
                    "label": channel.label,
                    "domain": channel.domain.value,
                    "method": channel.method.value,
                    "watts": watts,
                }
            )
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
                watts = [(b - a) / elapsed for a, b in zip(last.joules, sample.joules, strict=False)]
                channels = dict(zip((c.id for c in self.channels), watts, strict=False))
                points.append({"time": sample.wall, "total_w": sum(watts), "channels": channels})
                last = sample
        return points

    def joules_at(
        self,
        wall: float,
        samples: list[Sample] | None = None,
        next_edge: tuple[float, tuple[float, ...]] | None = None,
        previous_edge: float | None = None,
    ) -> tuple[tuple[float, ...], bool] | None:
        """Cumulative joules per channel at wall time ``wall`` (see :func:`cumulative_at`),
        each channel on its own read times; ``next_edge`` is the (wall time, joules per channel)
        of the next moment the power is known to change, such as the window's end, and
        ``previous_edge`` the wall time of the one before, such as its start.

        Returns the values and whether ``wall`` lay outside the samples (then the nearest one
        is extrapolated), or None when there are no samples.
        """
        samples = self.snapshot() if samples is None else samples
        if not samples:
            return None
        near = neighbourhood(samples, wall)
        values: list[float] = []
        outside = False
        for index in range(len(self.channels)):
            value, off = cumulative_at(
                _ChannelTimes(near, index),
                _ChannelJoules(near, index),
                wall,
                None if next_edge is None else (next_edge[0], next_edge[1][index]),
                previous_edge,
            )
            values.append(value)
            outside = outside or off
        return tuple(values), outside

    def mean_watts_across(self, t0: float, t1: float, samples: Sequence[Sample]) -> tuple[float, ...]:
        """Mean power per channel across [t0, t1] (``samples`` not empty), from the reads that
        bracket it, widened one read at a time on the nearer side until they are at least
        MIN_POWER_SPAN_S apart and the counter moved between them (a counter that moves in steps
        coarser than the window); 0 where it never moved."""
        count = len(samples)
        watts: list[float] = []
        for index in range(len(self.channels)):
            times, joules = _ChannelTimes(samples, index), _ChannelJoules(samples, index)
            before = max(bisect.bisect_right(times, t0) - 1, 0)
            after = min(max(bisect.bisect_left(times, t1), before), count - 1)
            while times[after] - times[before] < MIN_POWER_SPAN_S or joules[after] == joules[before]:
                earlier = t0 - times[before - 1] if before > 0 else math.inf
                later = times[after + 1] - t1 if after + 1 < count else math.inf
                if earlier == later == math.inf:
                    break
                if later <= earlier:
                    after += 1
                else:
                    before -= 1
            span = times[after] - times[before]
            watts.append((joules[after] - joules[before]) / span if span > 0 else 0.0)
        return tuple(watts)

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


# Reads further than this beyond the ones around a time are never looked at to estimate it:
# the power next to a read is measured over at most MAX_POWER_SPAN_S, and a channel's own read
# time differs from its sample's by the few ms a read takes.
NEIGHBOURHOOD_S = MAX_POWER_SPAN_S + 0.05


def neighbourhood(samples: Sequence[Sample], wall: float) -> Sequence[Sample]:
    """The samples that can matter to the cumulative joules at ``wall``: the reads around it,
    those within NEIGHBOURHOOD_S beyond them, and one more on each side.

    Cells in quick succession leave three reads each (start, end, one after), so a window's
    context can hold hundreds of reads; estimating an edge from all of them would cost the
    recorder milliseconds per cell for nothing.
    """
    walls = [sample.wall for sample in samples]
    index = bisect.bisect_left(walls, wall)
    before = walls[max(index - 1, 0)]
    after = walls[min(index, len(walls) - 1)]
    first = max(bisect.bisect_left(walls, before - NEIGHBOURHOOD_S) - 1, 0)
    last = bisect.bisect_right(walls, after + NEIGHBOURHOOD_S) + 1
    return samples[first:last]


def idle_baseline_watts(samples: Sequence[Sample], channel_count: int) -> list[float]:
    """A low percentile of each channel's power over the buffer: what the node draws doing nothing."""
    powers: list[list[float]] = [[] for _ in range(channel_count)]
    for before, after in itertools.pairwise(samples):
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


def cumulative_at(
    times: Reads,
    joules: Reads,
    t: float,
    next_edge: tuple[float, float] | None = None,
    previous_edge: float | None = None,
) -> tuple[float, bool]:
    """One channel's cumulative joules at ``t`` from its reads (``times`` ascending, not empty),
    and whether ``t`` lay outside them.

    Window edges are a kernel's busy and idle timestamps: the moments when a cell's compute
    starts and stops, so the power changes there, and the server reads the meters some
    milliseconds after each (ipykernel's IOPub thread waits for the GIL while a cell computes).
    Interpolating linearly between the reads around ``t`` would spread the step over their whole
    interval. Instead ``t`` is taken from the read nearest to it, and the energy between the two
    at the power measured on the far side of that read (over ``MIN_POWER_SPAN_S`` to
    ``MAX_POWER_SPAN_S``): the power after a read that follows ``t``, or before one that precedes
    it. Without such a neighbour, the reads around ``t`` are interpolated linearly.

    ``next_edge`` (time, joules) is the next change known after ``t``, such as a cell's end
    when ``t`` is its start: the power after a read is not measured across it, so that a
    short cell's start is not estimated at a power diluted by the idle after its end.
    ``previous_edge``, such as a cell's start when ``t`` is its end, bounds the power before a
    read likewise.

    A newest read within ``READ_AT_EDGE_S`` after ``t`` was made at the edge (in the process that
    timed it, which waits for no later read): the reads around ``t`` are interpolated, the far
    side's power being unneeded.

    When the powers on both sides differ by less than ``STEP_FRACTION``, there was no step at
    ``t`` to speak of, and the reads around it are interpolated linearly: that uses the energy
    measured across ``t``, which knows the power's ripple there better than any extrapolation.
    """
    count = len(times)
    if count == 1:
        return joules[0], True
    index = bisect.bisect_left(times, t)
    if index < count and times[index] == t:
        return joules[index], False
    outside = index in (0, count)
    if 0 < index == count - 1 and times[index] - t <= READ_AT_EDGE_S:
        # The newest read, made at the edge itself: no read after it was waited for (see
        # READ_AT_EDGE_S), and none is needed. (With later reads, the rules below apply.)
        return _interpolated(times, joules, t, index), False
    # For each side of t with a power measured beyond its near read: (watts, span measured over,
    # distance from t to the near read, the near read's index).
    sides: list[tuple[float, float, float, int]] = []
    across: tuple[float, float] | None = None
    if index < count:
        near_t = times[index]
        if next_edge is None:
            far = _far_after(times, joules, index, count)
        elif next_edge[0] > near_t:
            # The reads before the next edge, then the edge itself.
            far = _far_after(times, joules, index, bisect.bisect_left(times, next_edge[0], index + 1), next_edge)
        else:
            far = None  # the read comes after the next edge: its power is not the power at t
        if far is not None:
            span = far[0] - near_t
            sides.append(((far[1] - joules[index]) / span, span, near_t - t, index))
        elif (crossing := _far_after(times, joules, index, count)) is not None:
            across = ((crossing[1] - joules[index]) / (crossing[0] - near_t), near_t - t)
    if index > 0 and (previous_edge is None or times[index - 1] > previous_edge):
        near = index - 1
        # The reads from the previous edge on.
        first = 0 if previous_edge is None else bisect.bisect_left(times, previous_edge, 0, near)
        far = _far_before(times, joules, near, first)
        if far is not None:
            span = times[near] - far[0]
            sides.append(((joules[near] - far[1]) / span, span, t - times[near], near))
    if len(sides) == 2 and not outside:
        watts_after, watts_before = sides[0][0], sides[1][0]
        if abs(watts_after - watts_before) <= STEP_FRACTION * max(abs(watts_after), abs(watts_before)):
            sides = []  # no step at t: interpolate below
    if sides:
        # The read nearer to t; a power measured over more than MAX_POWER_SPAN_S (a spike or a
        # step may hide in it) counts as if its read were twice as far.
        watts, _, _, read = min(sides, key=lambda side: side[2] * (2.0 if side[1] > MAX_POWER_SPAN_S else 1.0))
        return joules[read] + watts * (t - times[read]), outside
    if across is not None:  # only a power measured across the next edge: better than nothing
        return joules[index] - across[0] * across[1], outside
    return _interpolated(times, joules, t, index), outside


def _interpolated(times: Reads, joules: Reads, t: float, index: int) -> float:
    """Linear between the two reads around ``t`` (``index``: where ``t`` falls among ``times``;
    at either end, the two nearest reads extended)."""
    lo = min(max(index - 1, 0), len(times) - 2)
    span = times[lo + 1] - times[lo]
    fraction = (t - times[lo]) / span if span > 0 else 1.0
    return joules[lo] + (joules[lo + 1] - joules[lo]) * fraction


def _far_after(
    times: Reads, joules: Reads, near: int, stop: int, edge: tuple[float, float] | None = None
) -> tuple[float, float] | None:
    """The point (time, joules) to measure the power after the read ``near`` against, among the
    reads ``near + 1`` to ``stop - 1`` and then ``edge``: the farthest within MAX_POWER_SPAN_S,
    else the nearest beyond it; None if none is at least MIN_POWER_SPAN_S away.

    Found by bisection: in a burst of short cells the reads are dense (three a cell), and an
    edge's estimate looked at each of them, for every channel.
    """
    near_t = times[near]
    if edge is not None and edge[0] - near_t <= MAX_POWER_SPAN_S:
        # The edge is the farthest point, within reach: it, unless every point is too near.
        return edge if edge[0] - near_t >= MIN_POWER_SPAN_S else None
    # The last read within MAX_POWER_SPAN_S, the spans computed as the rule reads them.
    last = bisect.bisect_right(times, near_t + MAX_POWER_SPAN_S, near + 1, stop) - 1
    while last > near and times[last] - near_t > MAX_POWER_SPAN_S:
        last -= 1
    while last + 1 < stop and times[last + 1] - near_t <= MAX_POWER_SPAN_S:
        last += 1
    if last > near and times[last] - near_t >= MIN_POWER_SPAN_S:
        return times[last], joules[last]
    if last + 1 < stop:
        return times[last + 1], joules[last + 1]
    return edge


def _far_before(times: Reads, joules: Reads, near: int, first: int) -> tuple[float, float] | None:
    """As :func:`_far_after`, for the power before the read ``near``, among the reads ``near - 1``
    down to ``first``."""
    near_t = times[near]
    # The earliest read within MAX_POWER_SPAN_S.
    earliest = bisect.bisect_left(times, near_t - MAX_POWER_SPAN_S, first, near)
    while earliest < near and near_t - times[earliest] > MAX_POWER_SPAN_S:
        earliest += 1
    while earliest - 1 >= first and near_t - times[earliest - 1] <= MAX_POWER_SPAN_S:
        earliest -= 1
    if earliest < near and near_t - times[earliest] >= MIN_POWER_SPAN_S:
        return times[earliest], joules[earliest]
    if earliest - 1 >= first:
        return times[earliest - 1], joules[earliest - 1]
    return None


class Reads(Protocol):
    """A channel's read times or cumulative joules, oldest first: a list, or a view of samples."""

    def __len__(self) -> int: ...

    def __getitem__(self, index: int, /) -> float: ...


class _ChannelView:
    """One channel's values in ``samples``, computed when looked at (an edge's estimate looks at
    a few of the hundreds of reads around it)."""

    __slots__ = ("_index", "_samples")

    def __init__(self, samples: Sequence[Sample], index: int) -> None:
        self._samples, self._index = samples, index

    def __len__(self) -> int:
        return len(self._samples)


class _ChannelTimes(_ChannelView):
    """The wall times of the channel's reads."""

    __slots__ = ()

    def __getitem__(self, position: int) -> float:
        sample = self._samples[position]
        read = sample.read_mono
        return sample.wall if read is None else sample.wall - sample.mono + read[self._index]


class _ChannelJoules(_ChannelView):
    """The channel's cumulative joules."""

    __slots__ = ()

    def __getitem__(self, position: int) -> float:
        return self._samples[position].joules[self._index]


def power_trace(
    samples: Sequence[Sample], shares: Sequence[float], t0: float, t1: float, max_points: int
) -> dict[str, list[float]] | None:
    """A run's attributed power over wall time [t0, t1], at most ``max_points`` points.

    ``samples`` are the sampler's reads around the window (:meth:`Sampler.around`) and
    ``shares`` the run's share of each channel (0 for a channel it was given none of). Between
    two reads each channel's power is its energy over the gap; the run's is the sum weighted by
    its shares (the run's shares of the whole window: a run's share is measured once, over its
    window). The gaps are clipped to the window; with more gaps than points they are merged into
    equal spans of time whose power is their energy over their time, so the trace keeps the
    run's energy. Points: ``t`` seconds since ``t0`` (the middle of each span), ``w`` watts.
    None when no two reads bracket any part of the window.
    """
    duration = t1 - t0
    spans: list[tuple[float, float, float]] = []  # (start, end) since t0, watts
    for before, after in itertools.pairwise(samples):
        elapsed = after.mono - before.mono
        start, end = max(before.wall, t0) - t0, min(after.wall, t1) - t0
        if elapsed <= 0 or end <= start:
            continue
        joules = sum(share * max(b - a, 0.0) for share, a, b in zip(shares, before.joules, after.joules, strict=False))
        spans.append((start, end, joules / elapsed))
    if not spans or not duration > 0:
        return None
    if len(spans) <= max_points:
        points = [((start + end) / 2, watts) for start, end, watts in spans]
    else:
        width = duration / max_points
        energy = [0.0] * max_points
        covered = [0.0] * max_points
        for start, end, watts in spans:
            for index in range(int(start / width), min(int(end / width), max_points - 1) + 1):
                overlap = min(end, (index + 1) * width) - max(start, index * width)
                if overlap > 0:
                    energy[index] += watts * overlap
                    covered[index] += overlap
        points = [((i + 0.5) * width, energy[i] / covered[i]) for i in range(max_points) if covered[i] > 0]
    return {"t": [round(t, 3) for t, _ in points], "w": [round(w, 3) for _, w in points]}
