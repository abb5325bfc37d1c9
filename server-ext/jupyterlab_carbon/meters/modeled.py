"""The fallback when no CPU meter can be read: utilisation x TDP, plus memory at W/GB.

Every channel here is labelled ``modeled`` and says which assumptions it rests on, so a
modeled figure is never mistaken for a measurement.
"""

from __future__ import annotations

import platform
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ..data import MEMORY_WATTS_PER_GB, cpu_tdp
from ..process_tree import node_busy_and_total
from .base import Channel, Diagnosis, Domain, Kind, MeterSource, Method, Reading, Status

# Green Algorithms' per-core power for an unknown CPU ("Any" row of TDP_cpu.csv, v3.0).
DEFAULT_WATTS_PER_CORE = 12.0


@dataclass(frozen=True)
class CpuPowerModel:
    """The TDP the model uses and where it comes from."""

    tdp_watts: float
    basis: str  # a sentence for the user: which table row or default


def cpu_model_name(cpuinfo: Path = Path("/proc/cpuinfo")) -> str:
    """The CPU brand string as the OS reports it."""
    try:
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def choose_cpu_model(model_name: str, cores: int, tdp_override: float | None) -> CpuPowerModel:
    """TDP from the user's setting, else the bundled table, else a per-core default."""
    if tdp_override:
        return CpuPowerModel(
            tdp_override,
            f"TDP {tdp_override:g} W set by the user (CarbonConfig.cpu_tdp_watts or JUPYTERLAB_CARBON_CPU_TDP_WATTS)",
        )
    match = cpu_tdp(model_name)
    if match is not None:
        return CpuPowerModel(match.tdp_watts, f"TDP {match.tdp_watts:g} W of '{match.model}' ({match.source})")
    watts = DEFAULT_WATTS_PER_CORE * cores
    return CpuPowerModel(
        watts,
        f"'{model_name}' is not in the bundled TDP table: {DEFAULT_WATTS_PER_CORE:g} W per core x {cores} "
        "cores (Green Algorithms default). Set CarbonConfig.cpu_tdp_watts to your CPU's TDP.",
    )


class ModeledSource(MeterSource):
    """CPU power = TDP x (idle fraction + (1 - idle fraction) x utilisation); DRAM = GB x W/GB."""

    name = "model"
    reads_in_microseconds = True

    def __init__(
        self,
        cpu_model: CpuPowerModel,
        idle_fraction: float,
        memory_bytes: int,
        cpu_times: Callable[[], tuple[float, float]] | None = None,
    ) -> None:
        super().__init__()
        self._model = cpu_model
        self._idle_fraction = idle_fraction
        self._cpu_times = cpu_times or node_busy_and_total
        self._last_times = self._cpu_times()
        self._memory_watts = memory_bytes / 1e9 * MEMORY_WATTS_PER_GB
        self._channels = [
            Channel(
                "cpu/model",
                Domain.CPU,
                "CPU (modeled)",
                Kind.POWER,
                Method.MODELED,
                self.name,
                device={"basis": cpu_model.basis, "idle_fraction": f"{idle_fraction:g}"},
            ),
            Channel(
                "dram/model",
                Domain.DRAM,
                "Memory (modeled)",
                Kind.POWER,
                Method.MODELED,
                self.name,
                device={"basis": f"{memory_bytes / 1e9:.1f} GB x {MEMORY_WATTS_PER_GB} W/GB (Green Algorithms)"},
            ),
        ]
        self._diagnoses.append(
            Diagnosis(
                self.name,
                Status.OK,
                f"No CPU power meter could be read: CPU power is modeled from utilisation ({cpu_model.basis}; "
                f"idle at {idle_fraction:.0%} of TDP) and memory at {MEMORY_WATTS_PER_GB} W/GB.",
            )
        )

    def read(self) -> dict[str, Reading]:
        busy, total = self._cpu_times()
        last_busy, last_total = self._last_times
        self._last_times = (busy, total)
        elapsed = total - last_total
        utilisation = min(max((busy - last_busy) / elapsed, 0.0), 1.0) if elapsed > 0 else 0.0
        cpu_watts = self._model.tdp_watts * (self._idle_fraction + (1 - self._idle_fraction) * utilisation)
        readings = {"cpu/model": Reading(cpu_watts), "dram/model": Reading(self._memory_watts)}
        return {c.id: readings[c.id] for c in self._channels}
