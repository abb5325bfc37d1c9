"""Sampling, window energy and attribution on a synthetic meter driven by a manual clock."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jupyterlab_carbon.attribution import WindowEnergy, attribute, cpu_shares, gpu_shares, window_energy
from jupyterlab_carbon.meters import Channel, Domain, Kind, MeterSet, MeterSource, Method, Reading
from jupyterlab_carbon.meters.rapl import RaplSource
from jupyterlab_carbon.sampler import Sampler

from .fakesysfs import FakePowercap, steps

WALL0 = 1_800_000_000.0  # the fake tree's t=0 on the wall clock


def synthetic(tmp_path: Path, max_range_uj: int = 262_143_328_850) -> tuple[FakePowercap, Sampler]:
    fake = FakePowercap(tmp_path / "pc")
    fake.root.mkdir()
    # 15 W, a 60 W step, a 200 W spike, back to 15 W.
    fake.add_zone("intel-rapl:0", "package-0", steps((10, 15.0), (40, 60.0), (41, 200.0), (1e9, 15.0)),
                  max_range_uj=max_range_uj)
    meters = MeterSet([RaplSource(fake.root, clock=lambda: fake.now)])
    sampler = Sampler(meters, period_s=0.5, clock=lambda: fake.now, wall_clock=lambda: WALL0 + fake.now)
    return fake, sampler


def drive(fake: FakePowercap, sampler: Sampler, seconds: float, skip: tuple[float, float] | None = None) -> None:
    sampler.sample_once()
    end = fake.now + seconds
    while fake.now < end - 1e-9:
        fake.advance(sampler.period_s)
        if skip is None or not skip[0] <= fake.now <= skip[1]:
            sampler.sample_once()


def true_energy(t0: float, t1: float) -> float:
    profile = steps((10, 15.0), (40, 60.0), (41, 200.0), (1e9, 15.0))
    n = 20000
    dt = (t1 - t0) / n
    return sum(profile(t0 + (i + 0.5) * dt) * dt for i in range(n))


@pytest.mark.parametrize("t0,length", [(12.3, 1.0), (5.0, 10.0), (0.7, 60.0), (39.5, 2.0), (20.1, 0.5)])
def test_window_energy_matches_the_true_integral(tmp_path: Path, t0: float, length: float) -> None:
    fake, sampler = synthetic(tmp_path)
    drive(fake, sampler, 70)
    window = window_energy(sampler, WALL0 + t0, WALL0 + t0 + length)
    expected = true_energy(t0, t0 + length)
    tolerance = 0.005 if length >= 1 else 0.05
    assert window.node_j["cpu/package-0"] == pytest.approx(expected, rel=tolerance)
    assert ("below-resolution" in window.flags) == (length < 2 * sampler.period_s)


def test_wraps_during_the_window_are_counted(tmp_path: Path) -> None:
    # A 2 kJ range wraps every ~33 s at 60 W: several wraps over the run.
    fake, sampler = synthetic(tmp_path, max_range_uj=2_000_000_000)
    drive(fake, sampler, 70)
    window = window_energy(sampler, WALL0 + 1, WALL0 + 65)
    assert window.node_j["cpu/package-0"] == pytest.approx(true_energy(1, 65), rel=0.005)
    assert not [f for f in window.flags if "reset" in f]


def test_a_hole_in_the_samples_is_flagged(tmp_path: Path) -> None:
    fake, sampler = synthetic(tmp_path)
    drive(fake, sampler, 30, skip=(12, 18))
    window = window_energy(sampler, WALL0 + 10, WALL0 + 20)
    assert "sampling-gap" in window.flags
    # Counters still give the right total across the hole (only the split inside it is unknown).
    assert window.node_j["cpu/package-0"] == pytest.approx(true_energy(10, 20), rel=0.01)


def test_idle_baseline_is_the_low_power_level(tmp_path: Path) -> None:
    fake, sampler = synthetic(tmp_path)
    drive(fake, sampler, 70)
    window = window_energy(sampler, WALL0 + 20, WALL0 + 30)
    assert window.idle_j["cpu/package-0"] == pytest.approx(15.0 * 10, rel=0.01)


class GaugeSource(MeterSource):
    """A power gauge whose reading the test sets."""

    name = "gauge"

    def __init__(self) -> None:
        super().__init__()
        self.watts = 0.0
        self._channels = [Channel("gpu/0", Domain.GPU, "GPU 0", Kind.POWER, Method.MEASURED_POWER, self.name)]

    def read(self) -> dict[str, Reading]:
        return {"gpu/0": Reading(self.watts)}


def test_power_gauges_are_integrated_by_the_trapezoid_rule() -> None:
    now = [0.0]
    gauge = GaugeSource()
    sampler = Sampler(MeterSet([gauge]), period_s=1.0, clock=lambda: now[0], wall_clock=lambda: now[0])
    for t, watts in [(0, 100.0), (1, 100.0), (2, 300.0), (3, 300.0)]:
        now[0], gauge.watts = t, watts
        sampler.sample_once()
    window = window_energy(sampler, 0.0, 3.0)
    assert window.node_j["gpu/0"] == pytest.approx(100 + 200 + 300)
    assert sampler.power_now()["total_w"] == pytest.approx((200 + 300) / 2)


CHANNELS = [
    Channel("cpu/package-0", Domain.CPU, "CPU", Kind.ENERGY, Method.MEASURED_COUNTER, "rapl"),
    Channel("dram/package-0", Domain.DRAM, "DRAM", Kind.ENERGY, Method.MEASURED_COUNTER, "rapl"),
    Channel("gpu/0", Domain.GPU, "GPU", Kind.ENERGY, Method.MEASURED_COUNTER, "nvml"),
]


@settings(max_examples=300, deadline=None)
@given(
    node=st.lists(st.floats(0, 1e6), min_size=3, max_size=3),
    idle=st.lists(st.floats(0, 1e6), min_size=3, max_size=3),
    cpu=st.dictionaries(st.sampled_from("abcdefgh"), st.floats(0, 1e4), min_size=1),
    node_busy=st.floats(0, 1e4),
    gpu=st.dictionaries(st.sampled_from("abcdefgh"), st.floats(0, 8)),
    gpu_all=st.floats(0, 8),
)
def test_attribution_is_conserved(
    node: list[float], idle: list[float], cpu: dict[str, float], node_busy: float,
    gpu: dict[str, float], gpu_all: float,
) -> None:
    node_j = {c.id: e for c, e in zip(CHANNELS, node, strict=True)}
    window = WindowEnergy(node_j, {c.id: e for c, e in zip(CHANNELS, idle, strict=True)}, [])
    result = attribute(CHANNELS, window, cpu_shares(cpu, node_busy), {"gpu/0": gpu_shares(gpu, gpu_all)})
    for index, channel in enumerate(CHANNELS):
        taken = [next(e for e in energies if e.channel_id == channel.id) for energies in result.per_kernel.values()]
        total = sum(e.attributed_j for e in taken) + result.unattributed_j[channel.id]
        assert total == pytest.approx(node[index], rel=1e-9, abs=1e-6)
        assert result.unattributed_j[channel.id] >= -1e-6 * max(node[index], 1)
        for energy in taken:
            assert 0.0 <= energy.share <= 1.0
            assert energy.idle_j + energy.active_j == pytest.approx(energy.attributed_j, rel=1e-9, abs=1e-6)
            assert energy.idle_j >= 0 and energy.active_j >= -1e-6
