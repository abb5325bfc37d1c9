"""The edge estimate finds its reads by bisection: it gives what the rules give read by read.

An edge's estimate uses a few reads (the two around it and one at each side's far end), and
``cumulative_at`` finds them by bisection, over views of the samples that compute a channel's
read time when looked at. The reference below is its earlier form, which walked every read; on
random read times (bursts of edge reads, spacings at the rules' exact bounds), edges before and
after, both must agree to the last bit.
"""

from __future__ import annotations

import bisect
import random

import pytest

from jupyterlab_carbon.sampler import (
    MAX_POWER_SPAN_S,
    MIN_POWER_SPAN_S,
    READ_AT_EDGE_S,
    STEP_FRACTION,
    Sample,
    Sampler,
    cumulative_at,
    neighbourhood,
)


def reference_cumulative_at(
    times: list[float],
    joules: list[float],
    t: float,
    next_edge: tuple[float, float] | None = None,
    previous_edge: float | None = None,
) -> tuple[float, bool]:
    """The rules of ``sampler.cumulative_at``, applied point by point (its form before bisection)."""
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
        return reference_interpolated(times, joules, t, index), False
    # For each side of t with a power measured beyond its near read: (watts, span measured over,
    # distance from t to the near read, the near read's index).
    sides: list[tuple[float, float, float, int]] = []
    across: tuple[float, float] | None = None
    if index < count:
        beyond = list(zip(times[index + 1 :], joules[index + 1 :], strict=True))
        if next_edge is None:
            far = reference_far_point(times[index], beyond)
        elif next_edge[0] > times[index]:
            far = reference_far_point(
                times[index], [point for point in beyond if point[0] < next_edge[0]] + [next_edge]
            )
        else:
            far = None  # the read comes after the next edge: its power is not the power at t
        if far is not None:
            span = far[0] - times[index]
            sides.append(((far[1] - joules[index]) / span, span, times[index] - t, index))
        elif (crossing := reference_far_point(times[index], beyond)) is not None:
            across = ((crossing[1] - joules[index]) / (crossing[0] - times[index]), times[index] - t)
    if index > 0 and (previous_edge is None or times[index - 1] > previous_edge):
        near = index - 1
        earlier = list(zip(times[near - 1 :: -1], joules[near - 1 :: -1], strict=True)) if near > 0 else []
        far = reference_far_point(times[near], [p for p in earlier if previous_edge is None or p[0] >= previous_edge])
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
    return reference_interpolated(times, joules, t, index), outside


def reference_interpolated(times: list[float], joules: list[float], t: float, index: int) -> float:
    """Linear between the two reads around ``t`` (``index``: where ``t`` falls among ``times``;
    at either end, the two nearest reads extended)."""
    lo = min(max(index - 1, 0), len(times) - 2)
    span = times[lo + 1] - times[lo]
    fraction = (t - times[lo]) / span if span > 0 else 1.0
    return joules[lo] + (joules[lo + 1] - joules[lo]) * fraction


def reference_far_point(near_t: float, points: list[tuple[float, float]]) -> tuple[float, float] | None:
    """Of ``points`` (time, joules) moving away from a read at ``near_t``, the one to measure the
    power next to that read against: the farthest within MAX_POWER_SPAN_S, else the nearest at
    least MIN_POWER_SPAN_S away; None if none is that far."""
    chosen: tuple[float, float] | None = None
    for point in points:
        span = abs(point[0] - near_t)
        if span < MIN_POWER_SPAN_S:
            continue
        if span > MAX_POWER_SPAN_S:
            return chosen or point
        chosen = point
    return chosen


def _read_times(rng: random.Random) -> list[float]:
    """Ascending read times: periodic reads, bursts of edge reads, and spans at the rules' bounds
    (from 0 or a random start, where a bound's float sum and difference may round apart)."""
    times: list[float] = []
    t = 0.0 if rng.random() < 0.3 else rng.uniform(0, 100)
    for _ in range(rng.randint(1, 120)):
        times.append(t)
        t += rng.choice(
            [
                rng.uniform(0.0005, 0.004),  # a burst of trivial cells
                rng.uniform(0.004, 0.5),
                MIN_POWER_SPAN_S,
                MAX_POWER_SPAN_S,
                MAX_POWER_SPAN_S / 2,
                MAX_POWER_SPAN_S - MIN_POWER_SPAN_S,
                READ_AT_EDGE_S,
            ]
        )
    return times


def _joules(rng: random.Random, times: list[float]) -> list[float]:
    joules, total, watts = [], 0.0, 20.0
    for before, after in zip([times[0], *times], times, strict=False):
        if rng.random() < 0.3:
            watts = rng.choice([5.0, 20.0, 21.0, 80.0])
        total += watts * (after - before)
        joules.append(total)
    return joules


def _moment(rng: random.Random, times: list[float]) -> float:
    """A time to estimate at: on a read, near one, a bound away from one, between or outside them."""
    read = rng.choice(times)
    bound = rng.choice([MIN_POWER_SPAN_S, MAX_POWER_SPAN_S, READ_AT_EDGE_S])
    return rng.choice(
        [
            read,
            read + rng.uniform(-0.002, 0.002),
            read + bound,
            read - bound,
            rng.uniform(times[0] - 0.5, times[-1] + 0.5),
        ]
    )


@pytest.mark.parametrize("seed", range(1000))
def test_bisection_gives_what_the_rules_give_read_by_read(seed: int) -> None:
    rng = random.Random(seed)
    times = _read_times(rng)
    joules = _joules(rng, times)
    for _ in range(20):
        t = _moment(rng, times)
        next_edge = None
        if rng.random() < 0.5:
            edge_t = _moment(rng, times)
            next_edge = (edge_t, rng.uniform(0, joules[-1] + 10))
        previous_edge = _moment(rng, times) if rng.random() < 0.5 else None
        assert cumulative_at(times, joules, t, next_edge, previous_edge) == reference_cumulative_at(
            times, joules, t, next_edge, previous_edge
        ), (seed, t, next_edge, previous_edge)


@pytest.mark.parametrize("seed", range(40))
def test_the_sampler_estimates_each_channel_on_its_own_read_times(seed: int) -> None:
    rng = random.Random(seed)
    channels = 3
    base = _read_times(rng)
    samples: list[Sample] = []
    totals = [0.0] * channels
    # Each channel read a fixed moment after the one before it, as the meters are read in turn.
    delays = [0.0, *sorted(rng.uniform(0, 0.003) for _ in range(channels - 1))]
    for mono in base:
        totals = [total + rng.uniform(0, 2) for total in totals]
        read_mono = tuple(mono - 0.003 + delay for delay in delays)
        samples.append(Sample(mono=mono, wall=mono + 1000.0, joules=tuple(totals), flags=(), read_mono=read_mono))
    sampler = Sampler.__new__(Sampler)
    sampler.channels = [object()] * channels  # type: ignore[list-item]  # only their count is used
    for _ in range(10):
        wall = _moment(rng, [s.wall for s in samples])
        next_t = _moment(rng, [s.wall for s in samples])
        next_edge = (next_t, tuple(rng.uniform(0, 100) for _ in range(channels))) if rng.random() < 0.5 else None
        previous_edge = _moment(rng, [s.wall for s in samples]) if rng.random() < 0.5 else None
        got = sampler.joules_at(wall, samples, next_edge, previous_edge)
        near = neighbourhood(samples, wall)
        expected = []
        for index in range(channels):
            own_times = [s.wall - s.mono + s.read_mono[index] for s in near if s.read_mono is not None]
            expected.append(
                reference_cumulative_at(
                    own_times,
                    [s.joules[index] for s in near],
                    wall,
                    None if next_edge is None else (next_edge[0], next_edge[1][index]),
                    previous_edge,
                )
            )
        assert got == (tuple(value for value, _ in expected), any(off for _, off in expected))


# Reads a bound apart where the float sum and difference disagree: the second read is at
# near + MAX_POWER_SPAN_S as summed, yet their difference exceeds the bound (after), or it lies
# below near - MAX_POWER_SPAN_S as subtracted, yet their difference is within it (before).
ROUNDING_PAIRS = [(3.791653059858058, 4.041653059858058), (0.21060533511106927, -0.03939466488893074)]


@pytest.mark.parametrize(("near", "other"), ROUNDING_PAIRS)
def test_reads_at_a_bound_are_judged_by_their_difference(near: float, other: float) -> None:
    # A read between the two, and one beyond the far one: which is the far point matters.
    times = sorted([near, near + (other - near) * 0.3, other, other + (1 if other > near else -1) * 0.3])
    joules = [10.0 * index + time for index, time in enumerate(times)]
    for t in (near - 0.001, near + 0.001, near):
        for previous_edge in (None, min(times) - 1):
            got = cumulative_at(times, joules, t, None, previous_edge)
            assert got == reference_cumulative_at(times, joules, t, None, previous_edge), (t, previous_edge)
