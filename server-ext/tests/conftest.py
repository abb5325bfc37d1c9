from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .fakeapi import api  # noqa: F401  # the fixture, for every test module
from .fakesysfs import FakePowercap, RealTimeDriver, constant

pytest_plugins = ["pytest_jupyter.jupyter_server"]

LEDGER_BACKENDS = ["sqlite", "postgresql"]


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """One real PostgreSQL server for the whole session (started on first use); its admin URL."""
    from .postgres import temporary_postgres  # psycopg is needed only when a test asks for PostgreSQL

    with temporary_postgres() as url:
        yield url


def fresh_ledger_url(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[str]:
    """An empty ledger database of ``backend``, removed after the test."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'ledger.sqlite'}"
        return
    from .postgres import drop_database, fresh_database

    url = fresh_database(request.getfixturevalue("postgres_server"))
    try:
        yield url
    finally:
        drop_database(url)


@pytest.fixture(params=LEDGER_BACKENDS)
def ledger_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The SQLAlchemy URL of an empty ledger database, once on SQLite and once on PostgreSQL."""
    yield from fresh_ledger_url(request.param, tmp_path, request)


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
