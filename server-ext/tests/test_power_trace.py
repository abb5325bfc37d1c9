"""The power trace kept with each run: the sampler's reads turned into at most N points of attributed power."""

from __future__ import annotations

import pytest

from jupyterlab_carbon.sampler import Sample, power_trace


def reads(watts: list[float], period: float = 0.5, start: float = 1000.0) -> list[Sample]:
    """Samples of two channels, 0.5 s apart; channel 0 at ``watts[i]`` over gap i, channel 1 at 10 W."""
    samples = [Sample(mono=0.0, wall=start, joules=(0.0, 0.0), flags=())]
    for i, power in enumerate(watts, start=1):
        last = samples[-1]
        samples.append(
            Sample(
                mono=i * period,
                wall=start + i * period,
                joules=(last.joules[0] + power * period, last.joules[1] + 10.0 * period),
                flags=(),
            )
        )
    return samples


def energy(trace: dict[str, list[float]], width: float) -> float:
    return sum(w * width for w in trace["w"])


def test_each_gap_is_a_point_weighted_by_the_shares() -> None:
    trace = power_trace(reads([20.0, 40.0, 30.0, 10.0]), [0.5, 0.0], 1000.0, 1002.0, 200)
    assert trace == {"t": [0.25, 0.75, 1.25, 1.75], "w": [10.0, 20.0, 15.0, 5.0]}


def test_gaps_are_clipped_to_the_window() -> None:
    # The run starts mid-gap and ends mid-gap: the first and last points sit in its part of them.
    trace = power_trace(reads([20.0, 40.0, 30.0]), [1.0, 1.0], 1000.25, 1001.25, 200)
    assert trace == {"t": [0.125, 0.5, 0.875], "w": [30.0, 50.0, 40.0]}


def test_a_long_run_is_downsampled_keeping_its_energy() -> None:
    watts = [float(i % 37) for i in range(2000)]  # 1000 s of reads
    trace = power_trace(reads(watts), [1.0, 0.5], 1000.0, 2000.0, 200)
    assert trace is not None
    assert len(trace["t"]) == len(trace["w"]) == 200
    assert trace["t"][0] == 2.5 and trace["t"][-1] == 997.5
    assert trace["t"] == sorted(trace["t"])
    exact = sum(w * 0.5 for w in watts) + 5.0 * 1000
    assert energy(trace, 1000 / 200) == pytest.approx(exact, rel=1e-3)


def test_a_counter_going_back_adds_no_negative_power() -> None:
    samples = reads([20.0, 20.0])
    samples[2] = Sample(mono=1.0, wall=1001.0, joules=(0.0, 10.0), flags=())
    trace = power_trace(samples, [1.0, 0.0], 1000.0, 1001.0, 200)
    assert trace == {"t": [0.25, 0.75], "w": [20.0, 0.0]}


@pytest.mark.parametrize(
    ("samples", "t0", "t1"),
    [
        ([], 1000.0, 1001.0),  # no reads
        (reads([20.0]), 1000.0, 1000.0),  # an empty window
        (reads([20.0]), 1002.0, 1003.0),  # reads all before the window
    ],
)
def test_no_trace_without_reads_over_the_window(samples: list[Sample], t0: float, t1: float) -> None:
    assert power_trace(samples, [1.0, 1.0], t0, t1, 200) is None
