"""Meter detection and reading against fake sysfs trees and injected NVML/amdsmi fakes."""

from __future__ import annotations

import ast
import inspect
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace

import pynvml
import pytest

from jupyterlab_carbon.meters import Domain, Kind, MeterConfig, Method, Status, open_meters, validate_meters
from jupyterlab_carbon.meters import nvml as nvml_meter_module
from jupyterlab_carbon.meters import rapl as rapl_module
from jupyterlab_carbon.meters.hwmon import HwmonSource
from jupyterlab_carbon.meters.rapl import RaplSource

from .fakesysfs import FakePowercap, constant, make_hwmon


def config(fake: FakePowercap, tmp_path: Path, **kwargs: object) -> MeterConfig:
    return MeterConfig(
        powercap_root=fake.root,
        hwmon_root=tmp_path / "no-hwmon",
        use_nvml=False,
        use_amdsmi=False,
        clock=lambda: fake.now,
        validate_wait_s=0,
        **kwargs,  # type: ignore[arg-type]
    )


def test_packages_and_dram_without_core_or_uncore(powercap: FakePowercap, tmp_path: Path) -> None:
    meters = open_meters(config(powercap, tmp_path))
    ids = [c.id for c in meters.channels]
    assert ids == ["cpu/package-0", "dram/package-0"]
    assert all(c.method is Method.MEASURED_COUNTER and c.kind is Kind.ENERGY for c in meters.channels)
    assert not meters.modeled
    first = meters.read()
    powercap.advance(2.0)
    second = meters.read()
    assert second["cpu/package-0"].value - first["cpu/package-0"].value == pytest.approx(40.0, rel=1e-6)
    assert second["dram/package-0"].value - first["dram/package-0"].value == pytest.approx(6.0, rel=1e-6)


def test_psys_alone_when_present(powercap: FakePowercap, tmp_path: Path) -> None:
    powercap.add_zone("intel-rapl:1", "psys", constant(30.0))
    meters = open_meters(config(powercap, tmp_path))
    assert [c.id for c in meters.channels] == ["psys"]
    assert meters.channels[0].domain is Domain.PSYS


def test_mmio_duplicate_of_a_package_is_read_once(powercap: FakePowercap, tmp_path: Path) -> None:
    powercap.add_zone("intel-rapl-mmio:0", "package-0", constant(20.0))
    meters = open_meters(config(powercap, tmp_path))
    assert [c.id for c in meters.channels] == ["cpu/package-0", "dram/package-0"]
    assert "intel-rapl:0" in meters.channels[0].device["path"]


def test_two_sockets(tmp_path: Path) -> None:
    fake = FakePowercap(tmp_path / "pc")
    fake.root.mkdir()
    for socket in (0, 1):
        fake.add_zone(f"intel-rapl:{socket}", f"package-{socket}", constant(50.0))
        fake.add_zone(f"intel-rapl:{socket}:0", "dram", constant(5.0))
    meters = open_meters(config(fake, tmp_path))
    assert [c.id for c in meters.channels] == ["cpu/package-0", "dram/package-0", "cpu/package-1", "dram/package-1"]


def test_wraparound_counts_the_energy_across_the_wrap(tmp_path: Path) -> None:
    fake = FakePowercap(tmp_path / "pc")
    fake.root.mkdir()
    # 100 J range, starting 10 J below the top: 20 W for 1 s wraps once.
    fake.add_zone("intel-rapl:0", "package-0", constant(20.0), max_range_uj=100_000_000, start_uj=90_000_000)
    source = RaplSource(fake.root, clock=lambda: fake.now)
    before = source.read()["cpu/package-0"].value
    fake.advance(1.0)
    reading = source.read()["cpu/package-0"]
    assert reading.value - before == pytest.approx(20.0, rel=1e-6)
    assert reading.flags == ()
    assert source.min_wrap_seconds() == pytest.approx(100 / 1000.0)


def test_reset_is_flagged_not_counted_as_a_wrap(tmp_path: Path) -> None:
    fake = FakePowercap(tmp_path / "pc")
    fake.root.mkdir()
    zone = fake.add_zone("intel-rapl:0", "package-0", constant(10.0), start_uj=200_000_000_000)
    source = RaplSource(fake.root, clock=lambda: fake.now)
    source.read()
    fake.advance(0.5)
    zone.offset_uj = -int(zone.energy_uj)  # the counter restarts from 0 (e.g. a CPU hot-plug)
    zone.energy_uj += 2_000_000  # 2 J since the reset
    zone.write()
    reading = source.read()["cpu/package-0"]
    assert "counter-reset" in reading.flags
    # A wrap would have claimed ~62 kJ in 0.5 s; a reset counts only what the counter shows
    # since it restarted (the 5 J before the reset were never read, so they are not counted).
    assert reading.value == pytest.approx(2.0)


def test_permission_denied_is_a_diagnosis_with_the_fix(
    powercap: FakePowercap, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_read = rapl_module._read_int

    def denied(path: Path) -> int:
        if path.name == "energy_uj":
            raise PermissionError(13, "Permission denied", str(path))
        return real_read(path)

    monkeypatch.setattr(rapl_module, "_read_int", denied)
    meters = open_meters(config(powercap, tmp_path))
    denied_diags = [d for d in meters.diagnoses if d.status is Status.PERMISSION_DENIED]
    assert {Path(d.path).parent.name for d in denied_diags if d.path} == {"intel-rapl:0", "intel-rapl:0:2"}
    assert all("CVE-2020-8694" in (d.fix or "") and "udev" in (d.fix or "") for d in denied_diags)
    # Nothing measured the CPU: the model takes over, labelled as such.
    assert meters.modeled
    assert {c.id for c in meters.channels} == {"cpu/model", "dram/model"}
    assert all(c.method is Method.MODELED for c in meters.channels)


def test_no_powercap_tree_at_all(tmp_path: Path) -> None:
    meters = open_meters(
        MeterConfig(powercap_root=tmp_path / "absent", hwmon_root=tmp_path / "absent-hwmon",
                    use_nvml=False, use_amdsmi=False, validate_wait_s=0, cpu_tdp_watts=65.0)
    )
    rapl = [d for d in meters.diagnoses if d.source == "rapl"]
    assert rapl and rapl[0].status is Status.NOT_PRESENT and "modprobe" in (rapl[0].fix or "")
    assert meters.modeled
    model = next(c for c in meters.channels if c.id == "cpu/model")
    assert "65 W" in model.device["basis"]
    readings = meters.read()
    assert 6.5 <= readings["cpu/model"].value <= 65.0


def test_validation_drops_a_counter_that_does_not_advance(powercap: FakePowercap, tmp_path: Path) -> None:
    meters = open_meters(config(powercap, tmp_path))
    validate_meters(meters, wait_s=0.01)  # the fake tree is not advancing: the counters are stuck
    assert not [c for c in meters.channels if c.source == "rapl"]
    dropped = [d for d in meters.diagnoses if d.status is Status.DROPPED]
    assert len(dropped) == 2 and "did not advance" in dropped[0].message


def test_validation_keeps_advancing_counters(powercap: FakePowercap, tmp_path: Path) -> None:
    meters = open_meters(config(powercap, tmp_path))
    validate_meters(meters, wait_s=0.01, sleep=lambda s: powercap.advance(s))
    assert [c.id for c in meters.channels] == ["cpu/package-0", "dram/package-0"]


def test_hwmon_energy_counters_and_power_gauges(tmp_path: Path) -> None:
    root = tmp_path / "hwmon"
    make_hwmon(root, "hwmon0", "amd_energy", {"energy1_input": "1000000", "energy1_label": "Ecore000",
                                              "energy17_input": "5000000", "energy17_label": "Esocket0"})
    make_hwmon(root, "hwmon1", "amdgpu", {"power1_average": "45000000"})
    make_hwmon(root, "hwmon2", "power_meter", {"power1_average": "250000000"})
    source = HwmonSource(root)
    ids = {c.id: c for c in source.channels()}
    assert set(ids) == {"cpu/hwmon-amd_energy-energy17", "gpu/hwmon-amdgpu-power1"}
    assert ids["gpu/hwmon-amdgpu-power1"].method is Method.MEASURED_POWER
    assert any(d.status is Status.SKIPPED and "power_meter" in d.message for d in source.diagnoses())
    (root / "hwmon0" / "energy17_input").write_text("7500000\n")
    readings = source.read()
    assert readings["cpu/hwmon-amd_energy-energy17"].value == pytest.approx(2.5)
    assert readings["gpu/hwmon-amdgpu-power1"].value == pytest.approx(45.0)


class FakeNVMLError(Exception):
    def __init__(self, value: int) -> None:
        super().__init__(f"NVML error {value}")
        self.value = value


def fake_nvml(devices: list[dict[str, object]], init_error: int | None = None) -> SimpleNamespace:
    """A pynvml stand-in: each device has energy_mj (or None for pre-Volta) and power_mw."""

    def energy(handle: int) -> int:
        value = devices[handle]["energy_mj"]
        if value is None:
            raise FakeNVMLError(3)
        if value == "error":
            raise FakeNVMLError(15)
        return int(value)  # type: ignore[call-overload]

    def init() -> None:
        if init_error is not None:
            raise FakeNVMLError(init_error)

    return SimpleNamespace(
        NVMLError=FakeNVMLError,
        nvmlInit=init,
        nvmlShutdown=lambda: None,
        nvmlDeviceGetCount=lambda: len(devices),
        nvmlDeviceGetHandleByIndex=lambda i: i,
        nvmlDeviceGetName=lambda h: devices[h]["name"],
        nvmlDeviceGetUUID=lambda h: f"GPU-{h:04d}",
        nvmlDeviceGetTotalEnergyConsumption=energy,
        nvmlDeviceGetPowerUsage=lambda h: devices[h]["power_mw"],
        nvmlDeviceGetProcessUtilization=lambda h, ts: [SimpleNamespace(pid=4242, smUtil=80, timeStamp=ts + 1)],
        nvmlDeviceGetComputeRunningProcesses=lambda h: [],
    )


def positional_parameters(function: Callable[..., object]) -> tuple[int, int]:
    """(required, total) positional parameters: what a caller may pass without keywords."""
    kinds = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    parameters = [p for p in inspect.signature(function).parameters.values() if p.kind in kinds]
    return sum(p.default is inspect.Parameter.empty for p in parameters), len(parameters)


def nvml_calls_in_meter() -> dict[str, set[int]]:
    """Every pynvml attribute the meter module reads, with the argument counts it calls it with."""
    tree = ast.parse(Path(nvml_meter_module.__file__).read_text(encoding="utf-8"))

    def is_nvml(node: ast.expr) -> bool:  # `nvml` (the local alias) or `self._nvml`
        return (isinstance(node, ast.Name) and node.id == "nvml") or (
            isinstance(node, ast.Attribute) and node.attr == "_nvml"
        )

    uses: dict[str, set[int]] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and is_nvml(node.value):
            uses.setdefault(node.attr, set())
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and is_nvml(node.func.value):
            uses.setdefault(node.func.attr, set()).add(len(node.args))
    return uses


def test_nvml_meter_calls_only_what_real_pynvml_has() -> None:
    uses = nvml_calls_in_meter()
    assert {"nvmlInit", "nvmlDeviceGetTotalEnergyConsumption", "NVMLError"} <= set(uses), uses
    for name, argument_counts in uses.items():
        assert hasattr(pynvml, name), f"the meter uses pynvml.{name}, which nvidia-ml-py does not have"
        for count in argument_counts:
            required, total = positional_parameters(getattr(pynvml, name))
            assert required <= count <= total, f"the meter calls pynvml.{name} with {count} argument(s)"
    # The fake must model every function the meter calls, or the tests above skip real paths.
    assert set(uses) <= set(vars(fake_nvml([]))), set(uses) - set(vars(fake_nvml([])))


def test_nvml_fake_matches_real_pynvml() -> None:
    for name, fake in vars(fake_nvml([])).items():
        real = getattr(pynvml, name, None)
        assert real is not None, f"the fake provides pynvml.{name}, which nvidia-ml-py does not have"
        if isinstance(fake, type):
            assert issubclass(real, Exception) and issubclass(fake, Exception), name
        else:
            assert positional_parameters(fake) == positional_parameters(real), name
    # What the meter reads from errors and from the objects NVML returns exists in the real ones.
    assert pynvml.NVMLError(pynvml.NVML_ERROR_LIBRARY_NOT_FOUND).value == pynvml.NVML_ERROR_LIBRARY_NOT_FOUND
    sample_fields = {field for field, _ in pynvml.c_nvmlProcessUtilizationSample_t._fields_}
    fake_sample = fake_nvml([]).nvmlDeviceGetProcessUtilization(0, 0)[0]
    assert set(vars(fake_sample)) <= sample_fields
    process_info_structs = [getattr(pynvml, n) for n in dir(pynvml) if n.startswith("c_nvmlProcessInfo")]
    assert process_info_structs
    for struct in process_info_structs:
        assert {"pid", "usedGpuMemory"} <= {field for field, _ in struct._fields_}, struct.__name__


def test_nvml_error_codes_match_pynvml() -> None:
    codes = {name: value for name, value in vars(nvml_meter_module).items() if name.startswith("NVML_ERROR_")}
    assert len(codes) >= 4
    for name, value in codes.items():
        assert getattr(pynvml, name) == value, name


def test_nvml_counter_power_fallback_and_errors(tmp_path: Path) -> None:
    devices: list[dict[str, object]] = [
        {"name": "NVIDIA A100-SXM4-40GB", "energy_mj": 1_000_000, "power_mw": 60_000},
        {"name": "Tesla P100", "energy_mj": None, "power_mw": 30_000},
    ]
    nvml = fake_nvml(devices)
    meters = open_meters(
        MeterConfig(powercap_root=tmp_path / "none", hwmon_root=tmp_path / "none", use_amdsmi=False,
                    nvml_module=nvml, validate_wait_s=0, cpu_tdp_watts=100.0)  # type: ignore[arg-type]
    )
    gpus = {c.id: c for c in meters.channels if c.domain is Domain.GPU}
    assert gpus["gpu/0"].method is Method.MEASURED_COUNTER and gpus["gpu/0"].device["uuid"] == "GPU-0000"
    assert gpus["gpu/1"].method is Method.MEASURED_POWER and gpus["gpu/1"].kind is Kind.POWER
    first = meters.read()
    devices[0]["energy_mj"] = 1_120_000
    second = meters.read()
    assert second["gpu/0"].value - first["gpu/0"].value == pytest.approx(120.0)
    assert second["gpu/1"].value == pytest.approx(30.0)
    devices[0]["energy_mj"] = "error"
    third = meters.read()
    assert third["gpu/0"].flags == ("read-error",) and third["gpu/0"].value == second["gpu/0"].value
    nvml_source = next(s for s in meters.sources if s.name == "nvml")
    assert nvml_source.process_gpu_use()["gpu/0"] == {4242: pytest.approx(0.8)}


def test_nvml_without_driver_is_diagnosed(tmp_path: Path) -> None:
    meters = open_meters(
        MeterConfig(powercap_root=tmp_path / "none", hwmon_root=tmp_path / "none", use_amdsmi=False,
                    nvml_module=fake_nvml([], init_error=12), validate_wait_s=0, cpu_tdp_watts=100.0)  # type: ignore[arg-type]
    )
    nvml = [d for d in meters.diagnoses if d.source == "nvml"]
    assert nvml[0].status is Status.NOT_PRESENT and "driver" in nvml[0].message


def test_amdsmi_counter_that_does_not_advance_falls_back_to_power(tmp_path: Path) -> None:
    state = {"energy": 5000, "power": 120}
    amdsmi = SimpleNamespace(
        amdsmi_init=lambda: None,
        amdsmi_shut_down=lambda: None,
        amdsmi_get_processor_handles=lambda: ["h0"],
        amdsmi_get_gpu_asic_info=lambda h: {"market_name": "AMD Instinct MI250X"},
        amdsmi_get_gpu_device_uuid=lambda h: "amd-uuid-0",
        amdsmi_get_energy_count=lambda h: {"energy_accumulator": state["energy"], "counter_resolution": 15.3},
        amdsmi_get_power_info=lambda h: {"average_socket_power": state["power"]},
    )
    meters = open_meters(
        MeterConfig(powercap_root=tmp_path / "none", hwmon_root=tmp_path / "none", use_nvml=False,
                    amdsmi_module=amdsmi, validate_wait_s=0, cpu_tdp_watts=100.0)  # type: ignore[arg-type]
    )
    gpu = next(c for c in meters.channels if c.domain is Domain.GPU)
    assert gpu.method is Method.MEASURED_COUNTER and gpu.resolution_j == pytest.approx(15.3e-6)
    validate_meters(meters, wait_s=0.01)  # the accumulator stays at 5000
    gpu = next(c for c in meters.channels if c.domain is Domain.GPU)
    assert gpu.method is Method.MEASURED_POWER
    assert meters.read()[gpu.id].value == pytest.approx(120.0)
    assert any(d.status is Status.DROPPED and "did not advance" in d.message for d in meters.diagnoses)
