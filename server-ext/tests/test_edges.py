"""Window edges read late, as the server reads them: power steps at a cell's start and end.

The server reads the meters when a kernel's busy/idle message arrives, 1-50 ms after the
kernel's own timestamp (``benchmarks/edge_delays.json``), while compute starts or stops at that
timestamp. These tests drive a real RaplSource and Sampler on a manual clock through exactly
that sequence: periodic reads, a late read at each edge, the record built right after the end
read (its one extra read included), and compare with the exact integral of the profile.
"""

from __future__ import annotations

import bisect
import itertools
from collections.abc import Sequence
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jupyterlab_carbon.attribution import window_energy
from jupyterlab_carbon.meters import Channel, Domain, Kind, MeterSet, MeterSource, Method, Reading
from jupyterlab_carbon.meters.rapl import RaplSource
from jupyterlab_carbon.sampler import AFTER_READ_S, READ_AT_EDGE_S, Sampler, cumulative_at

from .fakesysfs import FakePowercap

WALL0 = 1_800_000_000.0
PERIOD_S = 0.5
IDLE_W, BUSY_W = 10.0, 60.0


class Profile:
    """Piecewise-constant watts: ``watts[i]`` from ``starts[i]`` on (``starts[0]`` is 0)."""

    def __init__(self, starts: Sequence[float], watts: Sequence[float]) -> None:
        self.starts, self.watts = list(starts), list(watts)

    def __call__(self, t: float) -> float:
        return self.watts[max(bisect.bisect_right(self.starts, t) - 1, 0)]

    def energy(self, t0: float, t1: float) -> float:
        bounds = sorted({t0, t1, *(s for s in self.starts if t0 < s < t1)})
        return sum(self(a) * (b - a) for a, b in itertools.pairwise(bounds))


class Timeline:
    """A fake RAPL zone following ``profile``, read by a real Sampler on a manual clock.

    The tree is advanced exactly (midpoint rule on each constant piece), so the counter and
    ``profile.energy`` describe the same joules.
    """

    def __init__(
        self, tmp_path: Path, profile: Profile, max_range_uj: int = 262_143_328_850, start_uj: int = 0
    ) -> None:
        self.profile = profile
        self.fake = FakePowercap(tmp_path / "pc")
        self.fake.root.mkdir()
        self.fake.add_zone("intel-rapl:0", "package-0", profile, max_range_uj=max_range_uj, start_uj=start_uj)
        meters = MeterSet([RaplSource(self.fake.root, clock=self.now)])
        self.sleeps: list[float] = []
        self.sampler = Sampler(
            meters, period_s=PERIOD_S, clock=self.now, wall_clock=lambda: WALL0 + self.now(), sleep=self.sleep
        )
        self.next_periodic = 0.0

    def now(self) -> float:
        return self.fake.now

    def advance_to(self, target: float) -> None:
        while self.fake.now < target - 1e-12:
            nxt = min([s for s in self.profile.starts if s > self.fake.now + 1e-12] + [target])
            self.fake.advance(nxt - self.fake.now, step=nxt - self.fake.now)

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.run_until(self.fake.now + seconds)

    def run_until(self, target: float, edge_reads: Sequence[float] = ()) -> None:
        """Periodic reads every PERIOD_S and reads at ``edge_reads``, up to ``target``."""
        pending = sorted(edge_reads)
        while True:
            due = min([self.next_periodic, *pending[:1]])
            if due > target:
                break
            self.advance_to(due)
            self.sampler.sample_once()
            if pending and due == pending[0]:
                pending.pop(0)
            else:
                self.next_periodic += PERIOD_S
        self.advance_to(target)

    def cell(self, t0: float, t1: float, start_delay: float, end_delay: float) -> float:
        """A cell over [t0, t1] read late at both edges; its energy as the server records it."""
        self.run_until(t1 + end_delay, edge_reads=[t0 + start_delay, t1 + end_delay])
        self.advance_to(self.fake.now + 0.001)  # the record is built right after the end read
        return window_energy(self.sampler, WALL0 + t0, WALL0 + t1).node_j["cpu/package-0"]


def stepped(t0: float, t1: float, at_start: bool, at_end: bool) -> Profile:
    """Busy over the cell; idle before it if the power steps at its start, after it if at its end."""
    starts, watts = [0.0], [IDLE_W if at_start else BUSY_W]
    if at_start:
        starts.append(t0)
        watts.append(BUSY_W)
    if at_end:
        starts.append(t1)
        watts.append(IDLE_W)
    if not at_start and not at_end and t1 - t0 >= 1.0:
        starts.append((t0 + t1) / 2)  # a step inside the window, far from its edge reads
        watts.append(BUSY_W * 1.5)
    return Profile(starts, watts)


def target(length_s: float) -> float:
    return 0.005 if length_s >= 1.0 else 0.05


STEPS = {"start": (True, False), "end": (False, True), "both": (True, True), "none": (False, False)}


@pytest.mark.parametrize("length", [0.1, 0.3, 1.0, 2.0, 10.0])
@pytest.mark.parametrize("where", list(STEPS))
# (start, end) delays: CPU-bound cells' typical, equal, late, and a start read just before a 0.1 s cell's end
@pytest.mark.parametrize("delays", [(0.029, 0.004), (0.012, 0.012), (0.045, 0.030), (0.095, 0.003)])
def test_steps_at_the_edges_with_late_reads_are_within_target(
    tmp_path: Path, length: float, where: str, delays: tuple[float, float]
) -> None:
    t0 = 20.137  # between two periodic reads, never aligned with them
    t1 = t0 + length
    line = Timeline(tmp_path, stepped(t0, t1, *STEPS[where]))
    measured = line.cell(t0, t1, *delays)
    truth = line.profile.energy(t0, t1)
    assert measured == pytest.approx(truth, rel=target(length))


def test_linear_interpolation_would_miss_the_targets(tmp_path: Path) -> None:
    """The same cell, interpolated between the reads around each edge (the old estimate), is
    off by (busy - idle) x delay: the case above is a real test, not a tolerance wide enough
    for anything."""
    t0, t1 = 20.137, 21.137
    line = Timeline(tmp_path, stepped(t0, t1, True, True))
    line.cell(t0, t1, 0.029, 0.004)
    samples = line.sampler.snapshot()
    times = [s.wall - WALL0 for s in samples]
    joules = [s.joules[0] for s in samples]

    def linear(t: float) -> float:
        i = bisect.bisect_left(times, t)
        return joules[i - 1] + (joules[i] - joules[i - 1]) * (t - times[i - 1]) / (times[i] - times[i - 1])

    truth = line.profile.energy(t0, t1)
    assert abs(linear(t1) - linear(t0) - truth) / truth > 0.02


def test_the_record_waits_for_one_read_after_the_end_and_no_longer(tmp_path: Path) -> None:
    t0, t1 = 20.137, 21.137
    line = Timeline(tmp_path, stepped(t0, t1, True, True))
    line.cell(t0, t1, 0.029, 0.004)
    assert line.sleeps == [pytest.approx(AFTER_READ_S - 0.001)]
    # After the end read, exactly one more: AFTER_READ_S after it.
    after_end = [s.wall - WALL0 for s in line.sampler.snapshot() if s.wall > WALL0 + t1]
    assert after_end == [pytest.approx(t1 + 0.004), pytest.approx(t1 + 0.004 + AFTER_READ_S)]
    # A later read already there (here: a second query of the same window): no wait, no read.
    count = len(line.sampler.snapshot())
    window_energy(line.sampler, WALL0 + t0, WALL0 + t1)
    assert line.sleeps == [pytest.approx(AFTER_READ_S - 0.001)]
    assert len(line.sampler.snapshot()) == count


@pytest.mark.parametrize("length", [0.1, 1.0, 10.0])
@pytest.mark.parametrize("where", list(STEPS))
def test_edges_read_at_the_edge_wait_for_nothing_and_stay_within_target(
    tmp_path: Path, length: float, where: str
) -> None:
    """A window timed and read in one process (in-kernel %%carbon, measure(), headless runs): each
    edge read 0.3 ms after it. No read after the end is waited for, and the figure is off by at most
    the power step over those 0.3 ms at each edge, whatever the step."""
    t0 = 20.137
    t1 = t0 + length
    line = Timeline(tmp_path, stepped(t0, t1, *STEPS[where]))
    measured = line.cell(t0, t1, 0.0003, 0.0003)
    assert line.sleeps == []
    truth = line.profile.energy(t0, t1)
    largest_step_w = BUSY_W * 1.5 - IDLE_W
    assert abs(measured - truth) <= 2 * largest_step_w * 0.0003 + 1e-3
    assert measured == pytest.approx(truth, rel=target(length))


@settings(max_examples=60, deadline=None)
@given(
    t0=st.floats(5.0, 6.0),
    length=st.floats(1.0, 12.0),
    # Reads later than READ_AT_EDGE_S, as a server's are (the in-process case is tested below).
    start_delay=st.floats(1.5 * READ_AT_EDGE_S, 0.08),
    end_delay=st.floats(1.5 * READ_AT_EDGE_S, 0.08),
    idle=st.floats(2.0, 30.0),
    step=st.floats(1.4, 20.0),
)
def test_a_cell_stepping_from_idle_and_back_is_exact(
    tmp_path_factory: pytest.TempPathFactory,
    t0: float,
    length: float,
    start_delay: float,
    end_delay: float,
    idle: float,
    step: float,
) -> None:
    """Power constant on each side of each edge: the estimate is exact whatever the delays.

    (Steps of less than STEP_FRACTION are interpolated as if there were none: not exact.)"""
    t1, busy = t0 + length, idle * step
    line = Timeline(tmp_path_factory.mktemp("edge"), Profile([0.0, t0, t1], [idle, busy, idle]))
    measured = line.cell(t0, t1, start_delay, end_delay)
    # 1 uJ counter steps, truncated at each read, over spans of 10 ms and more: well under a
    # millijoule, while linear interpolation is off by (busy - idle) x delay, 14 mJ at the least.
    assert measured == pytest.approx(line.profile.energy(t0, t1), abs=1e-3)


def test_wraps_next_to_late_edge_reads_are_counted(tmp_path: Path) -> None:
    # A 2 kJ range (the sampler keeps its period) that wraps 300 J after the start: inside the cell.
    t0, t1 = 20.137, 30.137
    line = Timeline(tmp_path, stepped(t0, t1, True, True), max_range_uj=2_000_000_000, start_uj=1_700_000_000)
    assert line.sampler.period_s == PERIOD_S
    measured = line.cell(t0, t1, 0.029, 0.004)
    zone = line.fake.zones["intel-rapl:0"]
    assert zone.energy_uj + zone.offset_uj > zone.max_range_uj  # it did wrap
    assert measured == pytest.approx(line.profile.energy(t0, t1), abs=1e-4)


class TimedSource(MeterSource):
    """Two counters on one manual clock; reading ``slow`` takes ``slow_read_s`` of that clock.

    Each counter returns its exact cumulative joules at the middle of its own read, as a
    device does whose call takes a while.
    """

    name = "timed"

    def __init__(self, clock: list[float], profiles: dict[str, Profile], slow_read_s: float) -> None:
        super().__init__(clock=lambda: clock[0])
        self.time = clock
        self.profiles = profiles
        self.slow_read_s = slow_read_s
        self._channels = [
            Channel("cpu/fast", Domain.CPU, "fast", Kind.ENERGY, Method.MEASURED_COUNTER, self.name),
            Channel("gpu/slow", Domain.GPU, "slow", Kind.ENERGY, Method.MEASURED_COUNTER, self.name),
        ]

    def read(self) -> dict[str, Reading]:
        readings: dict[str, Reading] = {}
        for channel in self._channels:
            started = self._clock()
            took = self.slow_read_s if channel.id == "gpu/slow" else 0.0
            value = self.profiles[channel.id].energy(0.0, started + took / 2)
            self.time[0] += took
            readings[channel.id] = self._stamped(Reading(value), started)
        return readings


def test_a_slow_channel_does_not_misdate_the_others() -> None:
    """The fast channel is read 40 ms before the sample is complete; dated at the sample's
    end, its step at t0 would be shifted by 40 ms (4 % of this 1 s cell)."""
    clock = [0.0]
    t0, t1 = 20.137, 21.137
    profiles = {
        "cpu/fast": Profile([0.0, t0, t1], [IDLE_W, 100.0, IDLE_W]),
        "gpu/slow": Profile([0.0, t0, t1], [50.0, 250.0, 50.0]),
    }
    source = TimedSource(clock, profiles, slow_read_s=0.04)

    def sleep(seconds: float) -> None:
        clock[0] += seconds

    sampler = Sampler(
        MeterSet([source]), period_s=PERIOD_S, clock=lambda: clock[0], wall_clock=lambda: WALL0 + clock[0], sleep=sleep
    )
    reads = sorted([k * PERIOD_S for k in range(int(t1 / PERIOD_S) + 1)] + [t0 + 0.02, t1 + 0.003])
    for at in reads:
        clock[0] = max(clock[0], at)
        sampler.sample_once()
    clock[0] += 0.001  # the record is built right after the end read
    window = window_energy(sampler, WALL0 + t0, WALL0 + t1)
    for channel_id, profile in profiles.items():
        assert window.node_j[channel_id] == pytest.approx(profile.energy(t0, t1), rel=1e-3), channel_id
    newest = sampler.snapshot()[-1]
    assert newest.channel_mono(1) - newest.channel_mono(0) == pytest.approx(0.02)


class ForeignClockSource(TimedSource):
    """Dates its reads by a clock other than the sampler's (a misconfiguration)."""

    def read(self) -> dict[str, Reading]:
        readings = super().read()
        for reading in readings.values():
            reading.read_at = 1e9
        return readings


def test_reads_dated_by_another_clock_fall_back_to_the_whole_read() -> None:
    clock = [5.0]
    profiles = {"cpu/fast": Profile([0.0], [10.0]), "gpu/slow": Profile([0.0], [10.0])}
    sampler = Sampler(
        MeterSet([ForeignClockSource(clock, profiles, 0.04)]),
        clock=lambda: clock[0],
        wall_clock=lambda: WALL0 + clock[0],
    )
    sample = sampler.sample_once()
    assert sample.read_mono == (pytest.approx(5.02), pytest.approx(5.02))
    assert sample.wall == WALL0 + clock[0]


class SlowGauge(MeterSource):
    """A power gauge read before a slow channel: its trapezoid must use its own read times."""

    name = "gauge"

    def __init__(self, clock: list[float], delays: list[float]) -> None:
        super().__init__(clock=lambda: clock[0])
        self.time, self.delays, self.watts = clock, delays, 0.0
        self._channels = [Channel("gpu/0", Domain.GPU, "GPU 0", Kind.POWER, Method.MEASURED_POWER, self.name)]

    def read(self) -> dict[str, Reading]:
        reading = self._stamped(Reading(self.watts), self.time[0])
        self.time[0] += self.delays.pop(0)  # the slow channel read after this one
        return {"gpu/0": reading}


def test_power_gauges_integrate_between_their_own_reads() -> None:
    clock = [0.0]
    gauge = SlowGauge(clock, delays=[0.0, 0.3, 0.0, 0.0])
    sampler = Sampler(MeterSet([gauge]), period_s=1.0, clock=lambda: clock[0], wall_clock=lambda: clock[0])
    for t, watts in [(0.0, 100.0), (1.0, 100.0), (2.0, 300.0), (3.0, 300.0)]:
        clock[0], gauge.watts = t, watts
        sampler.sample_once()
    # Read at 0, 1, 2 and 3 s although the second sample completes at 1.3 s.
    assert sampler.snapshot()[-1].joules[0] == pytest.approx(100 + 200 + 300)
    assert [s.channel_mono(0) for s in sampler.snapshot()] == pytest.approx([0.0, 1.0, 2.0, 3.0])
    assert sampler.snapshot()[1].mono == pytest.approx(1.3)


@pytest.mark.parametrize(
    "t,expected",
    [
        (1.0, 10.0),  # on a read
        (1.99, 20.0 - 0.01 * 50.0),  # just before a read: the power after it (50 W)
        (1.01, 10.0 + 0.01 * 10.0),  # just after a read: the power before it (10 W)
        (3.5, 70.0 + 0.5 * 50.0),  # after the last read: extrapolated, outside
    ],
)
def test_cumulative_at_takes_the_nearest_read_and_the_power_beyond_it(t: float, expected: float) -> None:
    times, joules = [0.0, 1.0, 2.0, 3.0], [0.0, 10.0, 20.0, 70.0]
    value, outside = cumulative_at(times, joules, t)
    assert value == pytest.approx(expected)
    assert outside == (t > 3.0)


def test_cumulative_at_interpolates_without_a_far_read() -> None:
    # Reads 1 ms apart only: no span long enough to measure the power next to them.
    value, outside = cumulative_at([0.0, 0.001], [0.0, 1.0], 0.0004)
    assert value == pytest.approx(0.4)
    assert not outside


def test_sample_once_without_arguments_still_returns_a_dated_sample(tmp_path: Path) -> None:
    line = Timeline(tmp_path, Profile([0.0], [IDLE_W]))
    line.advance_to(1.25)
    sample = line.sampler.sample_once()
    assert sample.wall == WALL0 + 1.25
    assert sample.read_mono == (1.25,)


def test_no_step_at_t_interpolates_the_reads_around_it() -> None:
    """Equal power on both sides (within STEP_FRACTION): the energy measured across t, a burst
    included, is spread linearly rather than ignored by an extrapolation from one side."""
    times = [0.0, 0.25, 0.5, 0.52, 0.77]
    joules = [0.0, 2.5, 6.0, 6.2, 8.7]  # 10 W, except 14 W between 0.25 and 0.5
    value, outside = cumulative_at(times, joules, 0.49)
    assert value == pytest.approx(2.5 + 3.5 * 0.24 / 0.25)
    assert not outside
    # A real step at t (10 W before, 40 W after): the nearer read, extrapolated.
    stepped = [0.0, 2.5, 3.5, 4.3, 14.3]
    value, _ = cumulative_at(times, stepped, 0.49)
    assert value == pytest.approx(3.5 - 40.0 * 0.01)


def test_the_power_before_an_end_is_not_measured_across_the_start() -> None:
    """A 0.1 s cell at 60 W from idle 10 W: its end's nearest read before it is its start read,
    and the power before that read would mix the idle before the start."""
    t0, t1 = 10.0, 10.1
    times = [8.0, t0 + 0.09, t1 + 0.004, t1 + 0.024]
    profile = Profile([0.0, t0, t1], [IDLE_W, BUSY_W, IDLE_W])
    joules = [profile.energy(0.0, t) for t in times]
    value, _ = cumulative_at(times, joules, t1, previous_edge=t0)
    assert value == pytest.approx(profile.energy(0.0, t1))
    # Unbounded, the power before the start read is mostly the idle before the cell: "no step".
    unbounded, _ = cumulative_at(times, joules, t1)
    assert abs(unbounded - profile.energy(0.0, t1)) > 0.1


class CoarseTimeline(Timeline):
    """A counter that moves only every ``tick`` seconds (a fake tree's driver, or a meter slower
    than the cells), read at any moment in between."""

    def __init__(self, tmp_path: Path, profile: Profile, tick: float) -> None:
        self.t = 0.0
        self.tick = tick
        super().__init__(tmp_path, profile)

    def now(self) -> float:
        return self.t

    def advance_to(self, target: float) -> None:
        ticks = int(target / self.tick + 1e-9)
        if ticks * self.tick > self.fake.now + 1e-12:
            self.fake.advance(ticks * self.tick - self.fake.now, step=self.tick)
        self.t = max(self.t, target)


@settings(max_examples=300, deadline=None)
@given(
    t0=st.floats(20.0, 21.0),
    length=st.floats(0.0005, 0.006),
    start_delay=st.floats(0.0005, 0.015),
    end_delay=st.floats(0.0005, 0.015),
)
def test_a_cell_shorter_than_the_counter_s_tick_gets_some_energy(
    tmp_path_factory: pytest.TempPathFactory, t0: float, length: float, start_delay: float, end_delay: float
) -> None:
    """Both edges' reads may see the same counter value, the end's read later after its edge than
    the start's: the step-aware estimate then comes out at or below zero, which a node drawing
    power over a real window cannot use. The figure is then the reads interpolated across each
    edge: above zero, and no more than the power over the window and the reads around it."""
    watts = 23.0
    line = CoarseTimeline(tmp_path_factory.mktemp("coarse"), Profile([0.0], [watts]), tick=0.01)
    t1 = t0 + length
    if t0 + start_delay > t1 + end_delay:
        return  # the start's read after the end's: not an order the server reads in
    measured = line.cell(t0, t1, start_delay, end_delay)
    assert 0 < measured <= watts * (length + 0.2)
