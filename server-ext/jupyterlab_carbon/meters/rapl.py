"""Intel/AMD RAPL energy counters through the Linux powercap sysfs interface."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ..reread import RereadFile
from .base import Channel, Diagnosis, Domain, Kind, MeterSource, Method, Reading, Status

ZONE_DIR = re.compile(r"^(intel-rapl|intel-rapl-mmio|amd-rapl)((?::\d+)+)$")
# One RAPL energy-status unit is 1/2**16 J on current Intel and AMD parts (~15.3 uJ).
RAPL_RESOLUTION_J = 1 / 2**16
# Without a zone power limit to go by, no CPU package or platform draws more than this.
DEFAULT_MAX_PLAUSIBLE_W = 1000.0

PERMISSION_FIX = (
    "RAPL counters are readable by root only since Linux 5.10 (CVE-2020-8694, the 'Platypus' "
    "power side channel). Until reboot: sudo chmod a+r {root}/*/energy_uj {root}/*/*/energy_uj . "
    "To keep it, add a udev rule (/etc/udev/rules.d/99-rapl.rules): "
    'SUBSYSTEM=="powercap", ACTION=="add", RUN+="/bin/chgrp power /sys%p/energy_uj", '
    'RUN+="/bin/chmod g+r /sys%p/energy_uj" and add the Jupyter user to the group "power" '
    "(this lets that group observe the side channel)."
)


@dataclass
class _Zone:
    path: Path
    family: str  # intel-rapl, intel-rapl-mmio, amd-rapl
    indices: tuple[int, ...]
    name: str  # package-0, dram, psys, core, uncore
    energy_file: Path = field(init=False)
    # Read at every sample and cell edge: kept open.
    energy: RereadFile = field(init=False)

    def __post_init__(self) -> None:
        self.energy_file = self.path / "energy_uj"
        self.energy = RereadFile(self.energy_file, 64)


@dataclass
class _CounterState:
    zone: _Zone
    max_range_uj: int
    max_plausible_w: float
    last_raw_uj: int
    last_time: float
    joules: float = 0.0


def _read_int(path: Path) -> int:
    return RereadFile(path, 64).read_int()


def _zone_sort_key(zone: _Zone) -> tuple[str, tuple[int, ...]]:
    return (zone.family, zone.indices)


class RaplSource(MeterSource):
    """Non-overlapping RAPL zones: psys alone, or packages plus DRAM; never core/uncore."""

    name = "rapl"
    reads_in_microseconds = True

    def __init__(self, root: Path, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__(clock)
        self._root = root
        self._states: dict[str, _CounterState] = {}
        self._open()

    def _open(self) -> None:
        if not self._root.is_dir():
            self._diagnoses.append(
                Diagnosis(
                    self.name,
                    Status.NOT_PRESENT,
                    f"No RAPL powercap interface at {self._root}: not Linux, a VM or container "
                    "without RAPL, or the RAPL driver is not loaded.",
                    path=str(self._root),
                    fix="On bare-metal Linux: sudo modprobe intel_rapl_msr (Intel and AMD). In a "
                    "container, mount the host's /sys/class/powercap read-only.",
                )
            )
            return
        zones = self._discover()
        selected = self._select(zones)
        for channel_id, label, domain, zone in selected:
            self._open_counter(channel_id, label, domain, zone)
        if not zones:
            self._diagnoses.append(
                Diagnosis(
                    self.name,
                    Status.NOT_PRESENT,
                    f"{self._root} exists but holds no RAPL zones.",
                    path=str(self._root),
                    fix="Load the RAPL driver: sudo modprobe intel_rapl_msr",
                )
            )

    def _discover(self) -> list[_Zone]:
        zones: list[_Zone] = []
        for entry in self._root.iterdir():
            match = ZONE_DIR.match(entry.name)
            if not match or not (entry / "name").is_file():
                continue
            indices = tuple(int(i) for i in match.group(2).strip(":").split(":"))
            try:
                name = (entry / "name").read_text().strip()
            except OSError:
                continue
            zones.append(_Zone(entry, match.group(1), indices, name))
        return sorted(zones, key=_zone_sort_key)

    def _select(self, zones: list[_Zone]) -> list[tuple[str, str, Domain, _Zone]]:
        """Pick zones whose energies add up without overlap."""
        msr_names = {z.name for z in zones if z.family != "intel-rapl-mmio"}
        # The same package is sometimes exposed twice (MSR and MMIO interfaces): keep one.
        unique = [z for z in zones if z.family != "intel-rapl-mmio" or z.name not in msr_names]
        psys = [z for z in unique if z.name == "psys"]
        if psys:
            return [("psys", "Platform (RAPL psys)", Domain.PSYS, psys[0])]
        selected: list[tuple[str, str, Domain, _Zone]] = []
        packages = {z.indices[0]: z for z in unique if len(z.indices) == 1 and z.name.startswith("package")}
        for zone in unique:
            if len(zone.indices) == 1 and zone.name.startswith("package"):
                suffix = zone.name.removeprefix("package-")
                selected.append((f"cpu/package-{suffix}", f"CPU package {suffix}", Domain.CPU, zone))
            elif zone.name == "dram":
                parent = packages.get(zone.indices[0]) if len(zone.indices) > 1 else None
                suffix = parent.name.removeprefix("package-") if parent else f"{zone.indices[0]}"
                selected.append((f"dram/package-{suffix}", f"DRAM of package {suffix}", Domain.DRAM, zone))
        return selected

    def _open_counter(self, channel_id: str, label: str, domain: Domain, zone: _Zone) -> None:
        try:
            raw = _read_int(zone.energy_file)
        except PermissionError:
            self._diagnoses.append(
                Diagnosis(
                    self.name,
                    Status.PERMISSION_DENIED,
                    f"Cannot read {zone.energy_file} ({label}): permission denied.",
                    path=str(zone.energy_file),
                    fix=PERMISSION_FIX.format(root=self._root),
                )
            )
            return
        except (OSError, ValueError) as err:
            self._diagnoses.append(
                Diagnosis(self.name, Status.ERROR, f"Cannot read {zone.energy_file}: {err}", path=str(zone.energy_file))
            )
            return
        try:
            max_range = _read_int(zone.path / "max_energy_range_uj")
        except (OSError, ValueError):
            max_range = 2**32  # the architectural counter width in energy units, as a safe default
        max_w = DEFAULT_MAX_PLAUSIBLE_W
        try:
            limit_uw = _read_int(zone.path / "constraint_0_max_power_uw")
            if limit_uw > 0:
                max_w = 2 * limit_uw / 1e6
        except (OSError, ValueError):
            pass
        self._states[channel_id] = _CounterState(zone, max_range, max_w, raw, self._clock())
        self._channels.append(
            Channel(
                id=channel_id,
                domain=domain,
                label=label,
                kind=Kind.ENERGY,
                method=Method.MEASURED_COUNTER,
                source=self.name,
                resolution_j=RAPL_RESOLUTION_J,
                device={"path": str(zone.path), "zone": zone.name},
            )
        )

    def read(self) -> dict[str, Reading]:
        readings: dict[str, Reading] = {}
        for channel in self._channels:
            state = self._states[channel.id]
            now = self._clock()
            try:
                raw = state.zone.energy.read_int()
            except (OSError, ValueError):
                readings[channel.id] = self._stamped(Reading(state.joules, ("read-error",)), now)
                continue
            flags: tuple[str, ...] = ()
            if raw >= state.last_raw_uj:
                delta_uj = raw - state.last_raw_uj
            else:
                wrapped_uj = raw + state.max_range_uj - state.last_raw_uj
                elapsed = max(now - state.last_time, 1e-3)
                if wrapped_uj / 1e6 / elapsed <= state.max_plausible_w:
                    delta_uj = wrapped_uj
                else:
                    # A drop no wrap explains: the counter was reset. Count what it shows since.
                    delta_uj = raw
                    flags = ("counter-reset",)
            state.joules += delta_uj / 1e6
            state.last_raw_uj = raw
            state.last_time = now
            readings[channel.id] = self._stamped(Reading(state.joules, flags), now)
        return readings

    def min_wrap_seconds(self) -> float | None:
        times = [s.max_range_uj / 1e6 / s.max_plausible_w for s in self._states.values() if s.max_plausible_w > 0]
        return min(times) if times else None
