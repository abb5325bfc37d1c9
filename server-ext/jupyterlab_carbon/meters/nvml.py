"""NVIDIA GPUs through NVML (the ``nvidia-ml-py`` package, imported as ``pynvml``)."""

from __future__ import annotations

import contextlib
import importlib
import time
from collections.abc import Callable
from types import ModuleType
from typing import Any

from .base import Channel, Diagnosis, Domain, Kind, MeterSource, Method, Reading, Status

# NVML return codes (nvml.h) the diagnosis distinguishes.
NVML_ERROR_NO_PERMISSION = 4
NVML_ERROR_NOT_SUPPORTED = 3
NVML_ERROR_DRIVER_NOT_LOADED = 9
NVML_ERROR_LIBRARY_NOT_FOUND = 12


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


class NvmlSource(MeterSource):
    """One channel per GPU: the total-energy counter (Volta and newer), else the power gauge."""

    name = "nvml"

    def __init__(self, nvml: ModuleType | None = None, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__(clock)
        self._nvml: Any = nvml
        self._handles: dict[str, Any] = {}
        self._initialised = False
        self._last_energy_mj: dict[str, int] = {}
        self._joules: dict[str, float] = {}
        self._last_power_w: dict[str, float] = {}
        self._util_timestamp: dict[str, int] = {}
        self._open()

    def _open(self) -> None:
        if self._nvml is None:
            try:
                self._nvml = importlib.import_module("pynvml")
            except ImportError:
                self._diagnoses.append(
                    Diagnosis(
                        self.name,
                        Status.UNAVAILABLE,
                        "NVIDIA GPUs are not read: the Python package nvidia-ml-py is not installed.",
                        fix="pip install nvidia-ml-py",
                    )
                )
                return
        nvml = self._nvml
        try:
            nvml.nvmlInit()
        except nvml.NVMLError as err:
            code = getattr(err, "value", None)
            if code in (NVML_ERROR_LIBRARY_NOT_FOUND, NVML_ERROR_DRIVER_NOT_LOADED):
                self._diagnoses.append(
                    Diagnosis(
                        self.name,
                        Status.NOT_PRESENT,
                        f"No NVIDIA driver found ({_text(err)}): no NVIDIA GPU on this node, or "
                        "libnvidia-ml.so.1 is not visible to the server.",
                        fix="If this node has an NVIDIA GPU, install its driver; in a container, run "
                        "with the NVIDIA container toolkit (--gpus all).",
                    )
                )
            else:
                self._diagnoses.append(Diagnosis(self.name, Status.ERROR, f"NVML failed to start: {_text(err)}"))
            return
        self._initialised = True
        count = nvml.nvmlDeviceGetCount()
        if count == 0:
            self._diagnoses.append(Diagnosis(self.name, Status.NOT_PRESENT, "NVML runs but reports no GPU."))
        for index in range(count):
            self._open_device(index)

    def _open_device(self, index: int) -> None:
        nvml = self._nvml
        handle = nvml.nvmlDeviceGetHandleByIndex(index)
        name = _text(nvml.nvmlDeviceGetName(handle))
        uuid = _text(nvml.nvmlDeviceGetUUID(handle))
        channel_id = f"gpu/{index}"
        device = {"index": str(index), "name": name, "uuid": uuid}
        try:
            self._last_energy_mj[channel_id] = int(nvml.nvmlDeviceGetTotalEnergyConsumption(handle))
            self._joules[channel_id] = 0.0
            kind, method, resolution = Kind.ENERGY, Method.MEASURED_COUNTER, 1e-3
        except nvml.NVMLError as err:
            # Pre-Volta GPUs have no energy counter: integrate the power reading instead.
            try:
                self._last_power_w[channel_id] = nvml.nvmlDeviceGetPowerUsage(handle) / 1000.0
            except nvml.NVMLError as power_err:
                self._diagnoses.append(
                    Diagnosis(
                        self.name,
                        Status.UNAVAILABLE,
                        f"GPU {index} ({name}) reports neither energy ({_text(err)}) nor power ({_text(power_err)}).",
                    )
                )
                return
            kind, method, resolution = Kind.POWER, Method.MEASURED_POWER, 0.0
        self._handles[channel_id] = handle
        self._channels.append(
            Channel(
                id=channel_id,
                domain=Domain.GPU,
                label=f"GPU {index}: {name}",
                kind=kind,
                method=method,
                source=self.name,
                resolution_j=resolution,
                device=device,
            )
        )

    def read(self) -> dict[str, Reading]:
        nvml = self._nvml
        readings: dict[str, Reading] = {}
        for channel in self._channels:
            handle = self._handles[channel.id]
            started = self._clock()  # an NVML call can take milliseconds: date each GPU on its own
            try:
                if channel.kind is Kind.ENERGY:
                    raw = int(nvml.nvmlDeviceGetTotalEnergyConsumption(handle))
                    last = self._last_energy_mj[channel.id]
                    # The counter only resets when the driver reloads: count from there.
                    flags: tuple[str, ...] = () if raw >= last else ("counter-reset",)
                    self._joules[channel.id] += (raw - last if raw >= last else raw) / 1000.0
                    self._last_energy_mj[channel.id] = raw
                    readings[channel.id] = self._stamped(Reading(self._joules[channel.id], flags), started)
                else:
                    watts = nvml.nvmlDeviceGetPowerUsage(handle) / 1000.0
                    self._last_power_w[channel.id] = watts
                    readings[channel.id] = self._stamped(Reading(watts), started)
            except nvml.NVMLError:
                # Survive transient NVML errors (GPU busy resetting, Xid): repeat the last value, flagged.
                last_value = (
                    self._joules[channel.id] if channel.kind is Kind.ENERGY else self._last_power_w.get(channel.id, 0.0)
                )
                readings[channel.id] = self._stamped(Reading(last_value, ("read-error",)), started)
        return readings

    def power_now(self, channel_id: str) -> float | None:
        """The driver's own power reading, used to cross-check the energy counter."""
        try:
            return float(self._nvml.nvmlDeviceGetPowerUsage(self._handles[channel_id])) / 1000.0
        except (self._nvml.NVMLError, KeyError):
            return None

    def process_gpu_use(self) -> dict[str, dict[int, float]]:
        nvml = self._nvml
        use: dict[str, dict[int, float]] = {}
        for channel in self._channels:
            handle = self._handles[channel.id]
            shares: dict[int, float] = {}
            try:
                samples = nvml.nvmlDeviceGetProcessUtilization(handle, self._util_timestamp.get(channel.id, 0))
                for sample in samples:
                    shares[int(sample.pid)] = shares.get(int(sample.pid), 0.0) + float(sample.smUtil) / 100.0
                    self._util_timestamp[channel.id] = max(
                        self._util_timestamp.get(channel.id, 0), int(sample.timeStamp)
                    )
            except nvml.NVMLError:
                # No per-process utilisation (older GPUs, MIG): share by GPU memory in use instead.
                try:
                    procs = nvml.nvmlDeviceGetComputeRunningProcesses(handle)
                except nvml.NVMLError:
                    procs = []
                total = sum(int(p.usedGpuMemory or 0) for p in procs)
                for proc in procs:
                    shares[int(proc.pid)] = int(proc.usedGpuMemory or 0) / total if total else 1.0 / len(procs)
            use[channel.id] = shares
        return use

    def close(self) -> None:
        if self._initialised:
            with contextlib.suppress(self._nvml.NVMLError):
                self._nvml.nvmlShutdown()
            self._initialised = False
