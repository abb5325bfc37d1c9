from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .fakesysfs import FakePowercap, RealTimeDriver, constant

pytest_plugins = ["pytest_jupyter.jupyter_server"]


@pytest.fixture
def powercap(tmp_path: Path) -> FakePowercap:
    """A typical Intel desktop: package-0 with core/uncore/dram subzones, psys absent."""
    fake = FakePowercap(tmp_path / "powercap")
    fake.root.mkdir()
    fake.add_zone("intel-rapl:0", "package-0", constant(20.0))
    fake.add_zone("intel-rapl:0:0", "core", constant(12.0))
    fake.add_zone("intel-rapl:0:1", "uncore", constant(1.0))
    fake.add_zone("intel-rapl:0:2", "dram", constant(3.0))
    return fake


@pytest.fixture
def live_powercap(powercap: FakePowercap) -> Iterator[FakePowercap]:
    """The fake tree, advancing in real time (for a running server)."""
    with RealTimeDriver(powercap):
        yield powercap


def server_config(tmp_path: Path, powercap: FakePowercap, **carbon: Any) -> dict[str, Any]:
    """A server with the extension reading only the fake tree; ``carbon``: more CarbonConfig options."""
    return {
        "ServerApp": {"jpserver_extensions": {"jupyterlab_carbon": True}},
        "CarbonConfig": {
            "powercap_root": str(powercap.root),
            "hwmon_root": str(tmp_path / "no-hwmon"),
            "use_nvml": False,
            "use_amdsmi": False,
            **carbon,
        },
    }


@pytest.fixture
def jp_server_config(tmp_path: Path, live_powercap: FakePowercap) -> dict[str, Any]:
    return server_config(tmp_path, live_powercap, sample_period_s=0.05)
