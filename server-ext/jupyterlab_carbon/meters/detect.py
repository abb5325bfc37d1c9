"""Open every meter this node offers, without overlaps, and validate the counters."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import psutil

from .amd import AmdSmiSource
from .base import Channel, Diagnosis, Domain, Kind, MeterSource, Method, Reading, Status
from .hwmon import HwmonSource
from .modeled import ModeledSource, choose_cpu_model, cpu_model_name
from .nvml import NvmlSource
from .rapl import RaplSource

# Below this a counter-vs-power disagreement is within the noise of an idle device.
CROSS_CHECK_MIN_WATTS = 5.0
CROSS_CHECK_MAX_RATIO = 2.0


@dataclass
class MeterConfig:
    """Where to look for meters; tests point the paths at fake sysfs trees."""

    powercap_root: Path = Path("/sys/class/powercap")
    hwmon_root: Path = Path("/sys/class/hwmon")
    use_nvml: bool = True
    use_amdsmi: bool = True
    cpu_tdp_watts: float | None = None
    model_idle_fraction: float = 0.1
    nvml_module: ModuleType | None = None  # injected fakes in tests
    amdsmi_module: ModuleType | None = None
    clock: Callable[[], float] = time.monotonic
    validate_wait_s: float = 0.25  # 0 skips validation (tests that drive counters by hand)

    @classmethod
    def from_environment(cls) -> MeterConfig:
        """The kernel side has no server config: it honours the same options as variables."""
        env = os.environ
        tdp = env.get("JUPYTERLAB_CARBON_CPU_TDP_WATTS")
        return cls(
            powercap_root=Path(env.get("JUPYTERLAB_CARBON_POWERCAP_ROOT", cls.powercap_root)),
            hwmon_root=Path(env.get("JUPYTERLAB_CARBON_HWMON_ROOT", cls.hwmon_root)),
            cpu_tdp_watts=float(tdp) if tdp else None,
        )


@dataclass
class MeterSet:
    """The opened sources and everything they found out."""

    sources: list[MeterSource] = field(default_factory=list)
    extra_diagnoses: list[Diagnosis] = field(default_factory=list)

    @property
    def channels(self) -> list[Channel]:
        return [c for s in self.sources for c in s.channels()]

    @property
    def diagnoses(self) -> list[Diagnosis]:
        return [d for s in self.sources for d in s.diagnoses()] + self.extra_diagnoses

    @property
    def reads_in_microseconds(self) -> bool:
        """True when every source reads files only (no driver call that can take milliseconds)."""
        return all(source.reads_in_microseconds for source in self.sources)

    @property
    def modeled(self) -> bool:
        """True when any channel is modeled (the totals are then partly modeled)."""
        return any(c.method is Method.MODELED for c in self.channels)

    def read(self, clock: Callable[[], float] | None = None) -> dict[str, Reading]:
        """Every channel's reading; with ``clock``, a source that does not date its channels
        gets its whole read's midpoint as their ``read_at``."""
        readings: dict[str, Reading] = {}
        for source in self.sources:
            started = clock() if clock is not None else 0.0
            source_readings = source.read()
            if clock is not None:
                read_at = (started + clock()) / 2
                for reading in source_readings.values():
                    if reading.read_at is None:
                        reading.read_at = read_at
            readings.update(source_readings)
        return readings

    def min_wrap_seconds(self) -> float | None:
        times = [t for s in self.sources if (t := s.min_wrap_seconds()) is not None]
        return min(times) if times else None

    def source_of(self, channel_id: str) -> MeterSource:
        return next(s for s in self.sources if any(c.id == channel_id for c in s.channels()))

    def to_json(self) -> dict[str, Any]:
        return {
            "channels": [c.to_json() for c in self.channels],
            "diagnoses": [d.to_json() for d in self.diagnoses],
            "modeled": self.modeled,
        }

    def close(self) -> None:
        for source in self.sources:
            source.close()


def open_meters(config: MeterConfig) -> MeterSet:
    """Open RAPL, NVML, amdsmi and hwmon, validate their counters, then model what nothing measures."""
    meters = MeterSet()
    meters.sources.append(RaplSource(config.powercap_root, clock=config.clock))
    if config.use_nvml:
        meters.sources.append(NvmlSource(config.nvml_module, clock=config.clock))
    if config.use_amdsmi:
        meters.sources.append(AmdSmiSource(config.amdsmi_module, clock=config.clock))
    covered = {c.domain for c in meters.channels}
    if Domain.PSYS in covered:
        covered.add(Domain.CPU)
    skip = frozenset(covered & {Domain.CPU, Domain.GPU})
    meters.sources.append(HwmonSource(config.hwmon_root, skip_domains=skip, clock=config.clock))
    if config.validate_wait_s > 0:
        validate_meters(meters, config.validate_wait_s)
    covered = {c.domain for c in meters.channels}
    if not covered & {Domain.CPU, Domain.PSYS}:
        cores = psutil.cpu_count(logical=False) or psutil.cpu_count() or 1
        model = choose_cpu_model(cpu_model_name(), cores, config.cpu_tdp_watts)
        meters.sources.append(ModeledSource(model, config.model_idle_fraction, psutil.virtual_memory().total))
    return meters


def validate_meters(meters: MeterSet, wait_s: float = 0.25, sleep: Callable[[float], None] = time.sleep) -> None:
    """Drop counters that do not advance, run backwards, or disagree with their device's power.

    A dropped counter falls back to the same device's power gauge when it has one.
    """
    counters = [c for c in meters.channels if c.kind is Kind.ENERGY]
    if not counters:
        return
    first = meters.read()
    power_before = {c.id: meters.source_of(c.id).power_now(c.id) for c in counters}
    started = time.monotonic()
    sleep(wait_s)
    second = meters.read()
    elapsed = max(time.monotonic() - started, wait_s)
    for channel in counters:
        source = meters.source_of(channel.id)
        delta = second[channel.id].value - first[channel.id].value
        problem: str | None = None
        if "counter-reset" in second[channel.id].flags or delta < 0:
            problem = "ran backwards during validation"
        elif delta == 0:
            problem = f"did not advance in {wait_s:g} s"
        else:
            before, after = power_before[channel.id], source.power_now(channel.id)
            if before is not None and after is not None:
                reported = (before + after) / 2
                counted = delta / elapsed
                if max(reported, counted) > CROSS_CHECK_MIN_WATTS and not (
                    1 / CROSS_CHECK_MAX_RATIO <= counted / max(reported, 1e-9) <= CROSS_CHECK_MAX_RATIO
                ):
                    problem = f"disagrees with the power reading ({counted:.1f} W counted vs {reported:.1f} W reported)"
        if problem:
            source.fall_back_to_power(
                channel.id,
                Diagnosis(
                    source.name,
                    Status.DROPPED,
                    f"The energy counter of {channel.label} {problem}; it is not used.",
                    path=channel.device.get("path"),
                ),
            )
