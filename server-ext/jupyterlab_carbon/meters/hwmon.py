"""hwmon sensors: ``energy*_input`` counters (uJ) and ``power*_input``/``power*_average`` gauges (uW)."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from pathlib import Path

from ..reread import RereadFile
from .base import Channel, Diagnosis, Domain, Kind, MeterSource, Method, Reading, Status

SENSOR_FILE = re.compile(r"^(energy|power)(\d+)_(input|average)$")
# Drivers whose sensors are known to cover a CPU or GPU; others count as "other".
DRIVER_DOMAINS = {"amd_energy": Domain.CPU, "zenpower": Domain.CPU, "amdgpu": Domain.GPU}
# ACPI power_meter measures the whole node, which overlaps every other channel.
OVERLAPPING_DRIVERS = {"power_meter"}


class HwmonSource(MeterSource):
    """hwmon sensors of known drivers; per-core amd_energy sensors are left to their socket total."""

    name = "hwmon"
    reads_in_microseconds = True

    def __init__(
        self, root: Path, skip_domains: frozenset[Domain] = frozenset(), clock: Callable[[], float] = time.monotonic
    ) -> None:
        super().__init__(clock)
        self._root = root
        self._files: dict[str, RereadFile] = {}
        self._last_uj: dict[str, int] = {}
        self._joules: dict[str, float] = {}
        self._last_w: dict[str, float] = {}
        self._open(skip_domains)

    def _open(self, skip_domains: frozenset[Domain]) -> None:
        if not self._root.is_dir():
            self._diagnoses.append(
                Diagnosis(self.name, Status.NOT_PRESENT, f"No hwmon sensors at {self._root}.", path=str(self._root))
            )
            return
        for device in sorted(self._root.iterdir()):
            try:
                driver = (device / "name").read_text().strip()
            except OSError:
                continue
            domain = DRIVER_DOMAINS.get(driver, Domain.OTHER)
            sensors = sorted(f for f in device.iterdir() if SENSOR_FILE.match(f.name))
            if not sensors:
                continue
            if driver in OVERLAPPING_DRIVERS or domain in skip_domains:
                self._diagnoses.append(
                    Diagnosis(
                        self.name,
                        Status.SKIPPED,
                        f"hwmon {device.name} ({driver}) not used: it overlaps meters already read.",
                        path=str(device),
                    )
                )
                continue
            self._open_device(device, driver, domain, sensors)

    def _open_device(self, device: Path, driver: str, domain: Domain, sensors: list[Path]) -> None:
        energy_indices = {SENSOR_FILE.match(f.name).group(2) for f in sensors if f.name.startswith("energy")}  # type: ignore[union-attr]
        for path in sensors:
            match = SENSOR_FILE.match(path.name)
            assert match is not None
            quantity, index, _ = match.groups()
            if quantity == "power" and energy_indices:
                continue  # a device with energy counters needs no power integration
            label_file = device / f"{quantity}{index}_label"
            label = label_file.read_text().strip() if label_file.is_file() else f"{quantity}{index}"
            if driver == "amd_energy" and not label.startswith("Esocket"):
                continue  # per-core counters are part of the socket's
            channel_id = f"{domain.value}/hwmon-{driver}-{quantity}{index}"
            if channel_id in self._files:
                continue  # power*_input and power*_average of one sensor: keep the first
            try:
                raw = int(path.read_text().strip())
            except PermissionError:
                self._diagnoses.append(
                    Diagnosis(
                        self.name,
                        Status.PERMISSION_DENIED,
                        f"Cannot read {path}: permission denied.",
                        path=str(path),
                        fix=f"sudo chmod a+r {path}",
                    )
                )
                continue
            except (OSError, ValueError) as err:
                self._diagnoses.append(Diagnosis(self.name, Status.ERROR, f"Cannot read {path}: {err}", path=str(path)))
                continue
            self._files[channel_id] = RereadFile(path, 64)
            if quantity == "energy":
                self._last_uj[channel_id] = raw
                self._joules[channel_id] = 0.0
                kind, method, resolution = Kind.ENERGY, Method.MEASURED_COUNTER, 1e-6
            else:
                self._last_w[channel_id] = raw / 1e6
                kind, method, resolution = Kind.POWER, Method.MEASURED_POWER, 0.0
            self._channels.append(
                Channel(
                    channel_id,
                    domain,
                    f"{driver} {label}",
                    kind,
                    method,
                    self.name,
                    resolution,
                    {"path": str(path), "driver": driver},
                )
            )

    def read(self) -> dict[str, Reading]:
        readings: dict[str, Reading] = {}
        for channel in self._channels:
            started = self._clock()
            try:
                raw = self._files[channel.id].read_int()
            except (OSError, ValueError):
                value = self._joules.get(channel.id, self._last_w.get(channel.id, 0.0))
                readings[channel.id] = self._stamped(Reading(value, ("read-error",)), started)
                continue
            if channel.kind is Kind.ENERGY:
                last = self._last_uj[channel.id]
                flags: tuple[str, ...] = () if raw >= last else ("counter-reset",)
                self._joules[channel.id] += (raw - last if raw >= last else raw) / 1e6
                self._last_uj[channel.id] = raw
                readings[channel.id] = self._stamped(Reading(self._joules[channel.id], flags), started)
            else:
                self._last_w[channel.id] = raw / 1e6
                readings[channel.id] = self._stamped(Reading(raw / 1e6), started)
        return readings
