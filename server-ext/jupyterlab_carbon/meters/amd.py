"""AMD GPUs through ROCm's ``amdsmi`` Python package, when it is importable."""

from __future__ import annotations

import contextlib
import importlib
import time
from collections.abc import Callable
from types import ModuleType
from typing import Any

from .base import Channel, Diagnosis, Domain, Kind, MeterSource, Method, Reading, Status


def _energy_uj(amdsmi: Any, handle: Any) -> tuple[float, float]:
    """(accumulated counter, resolution in uJ); the key was renamed across ROCm releases."""
    info = amdsmi.amdsmi_get_energy_count(handle)
    raw = info.get("energy_accumulator", info.get("power"))
    return float(raw), float(info.get("counter_resolution", 1.0))


def _power_w(amdsmi: Any, handle: Any) -> float:
    info = amdsmi.amdsmi_get_power_info(handle)
    for key in ("current_socket_power", "average_socket_power", "socket_power"):
        value = info.get(key)
        if isinstance(value, (int, float)):
            return float(value)
    raise ValueError(f"no power field in {sorted(info)}")


class AmdSmiSource(MeterSource):
    """One channel per AMD GPU: the energy accumulator x resolution, else the power reading."""

    name = "amdsmi"

    def __init__(self, amdsmi: ModuleType | None = None, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__(clock)
        self._amdsmi: Any = amdsmi
        self._handles: dict[str, Any] = {}
        self._resolution_uj: dict[str, float] = {}
        self._last_counter: dict[str, float] = {}
        self._joules: dict[str, float] = {}
        self._last_power_w: dict[str, float] = {}
        self._initialised = False
        self._open()

    def _open(self) -> None:
        if self._amdsmi is None:
            try:
                self._amdsmi = importlib.import_module("amdsmi")
            except ImportError:
                self._diagnoses.append(
                    Diagnosis(
                        self.name,
                        Status.UNAVAILABLE,
                        "AMD GPUs are not read: the ROCm amdsmi Python package is not importable.",
                        fix="On a node with AMD GPUs, install ROCm and its amdsmi package "
                        "(pip install /opt/rocm/share/amd_smi).",
                    )
                )
                return
        amdsmi = self._amdsmi
        try:
            amdsmi.amdsmi_init()
            handles = amdsmi.amdsmi_get_processor_handles()
        except Exception as err:  # amdsmi raises its own AmdSmi*Exception family
            self._diagnoses.append(Diagnosis(self.name, Status.NOT_PRESENT, f"amdsmi found no usable GPU: {err}"))
            return
        self._initialised = True
        for index, handle in enumerate(handles):
            self._open_device(index, handle)

    def _open_device(self, index: int, handle: Any) -> None:
        amdsmi = self._amdsmi
        channel_id = f"gpu/amd{index}"
        try:
            name = str(amdsmi.amdsmi_get_gpu_asic_info(handle).get("market_name", f"AMD GPU {index}"))
        except Exception:
            name = f"AMD GPU {index}"
        try:
            uuid = str(amdsmi.amdsmi_get_gpu_device_uuid(handle))
        except Exception:
            uuid = ""
        try:
            counter, resolution = _energy_uj(amdsmi, handle)
            self._last_counter[channel_id] = counter
            self._resolution_uj[channel_id] = resolution
            self._joules[channel_id] = 0.0
            kind, method, res_j = Kind.ENERGY, Method.MEASURED_COUNTER, resolution / 1e6
        except Exception:
            try:
                self._last_power_w[channel_id] = _power_w(amdsmi, handle)
            except Exception as err:
                self._diagnoses.append(
                    Diagnosis(self.name, Status.UNAVAILABLE, f"{name} reports neither energy nor power: {err}")
                )
                return
            kind, method, res_j = Kind.POWER, Method.MEASURED_POWER, 0.0
        self._handles[channel_id] = handle
        self._channels.append(
            Channel(
                channel_id,
                Domain.GPU,
                f"GPU {index}: {name}",
                kind,
                method,
                self.name,
                res_j,
                {"index": str(index), "name": name, "uuid": uuid},
            )
        )

    def read(self) -> dict[str, Reading]:
        readings: dict[str, Reading] = {}
        for channel in self._channels:
            handle = self._handles[channel.id]
            started = self._clock()  # date each GPU's read on its own
            try:
                if channel.kind is Kind.ENERGY:
                    counter, _ = _energy_uj(self._amdsmi, handle)
                    last = self._last_counter[channel.id]
                    flags: tuple[str, ...] = () if counter >= last else ("counter-reset",)
                    delta = counter - last if counter >= last else counter
                    self._joules[channel.id] += delta * self._resolution_uj[channel.id] / 1e6
                    self._last_counter[channel.id] = counter
                    readings[channel.id] = self._stamped(Reading(self._joules[channel.id], flags), started)
                else:
                    self._last_power_w[channel.id] = _power_w(self._amdsmi, handle)
                    readings[channel.id] = self._stamped(Reading(self._last_power_w[channel.id]), started)
            except Exception:
                value = (
                    self._joules[channel.id] if channel.kind is Kind.ENERGY else self._last_power_w.get(channel.id, 0.0)
                )
                readings[channel.id] = self._stamped(Reading(value, ("read-error",)), started)
        return readings

    def power_now(self, channel_id: str) -> float | None:
        try:
            return _power_w(self._amdsmi, self._handles[channel_id])
        except Exception:
            return None

    def close(self) -> None:
        if self._initialised:
            with contextlib.suppress(Exception):
                self._amdsmi.amdsmi_shut_down()
            self._initialised = False
