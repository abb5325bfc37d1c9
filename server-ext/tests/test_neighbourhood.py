"""Estimating an edge from the reads near it gives exactly what all the reads give, for less."""

from __future__ import annotations

import random

import pytest

from jupyterlab_carbon.sampler import NEIGHBOURHOOD_S, Sample, cumulative_at, neighbourhood


def _samples(rng: random.Random, count: int, span_s: float) -> list[Sample]:
    """Reads at random times (bursts of edge reads among periodic ones), power stepping at random."""
    times = sorted(rng.uniform(0, span_s) for _ in range(count))
    joules, total, last, watts = [], 0.0, 0.0, 20.0
    for t in times:
        if rng.random() < 0.2:
            watts = rng.choice([5.0, 20.0, 80.0])
        total += watts * (t - last)
        last = t
        joules.append(total)
    return [Sample(mono=t, wall=1000.0 + t, joules=(j,), flags=()) for t, j in zip(times, joules, strict=True)]


@pytest.mark.parametrize("seed", range(40))
def test_the_neighbourhood_changes_no_estimate(seed: int) -> None:
    rng = random.Random(seed)
    dense = rng.random() < 0.5
    samples = _samples(rng, rng.randint(2, 400 if dense else 30), rng.uniform(0.2, 5.0))
    for _ in range(30):
        wall = 1000.0 + rng.uniform(-0.5, samples[-1].mono + 0.5)
        near = neighbourhood(samples, wall)
        assert len(near) <= len(samples)
        full = cumulative_at([s.wall for s in samples], [s.joules[0] for s in samples], wall)
        trimmed = cumulative_at([s.wall for s in near], [s.joules[0] for s in near], wall)
        assert trimmed == full


def test_the_neighbourhood_of_a_burst_is_small() -> None:
    burst = [Sample(mono=i * 0.003, wall=i * 0.003, joules=(i * 0.06,), flags=()) for i in range(1000)]
    near = neighbourhood(burst, 1.5)
    span = near[-1].wall - near[0].wall
    assert span <= 2 * NEIGHBOURHOOD_S + 0.02 and len(near) < 250
