"""The ledger and the settings file are readable by their owner only, as Jupyter keeps its secrets."""

from __future__ import annotations

import json
import logging
import os
import re
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from jupyterlab_carbon import private_files
from jupyterlab_carbon.impact_service import ImpactService
from jupyterlab_carbon.intensity import IntensitySettings
from jupyterlab_carbon.ledger import Ledger, default_ledger_path

from .test_ledger import make_record


def mode(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.fixture(autouse=True)
def usual_umask() -> Iterator[None]:
    """The common umask 022, under which files are world-readable unless created otherwise."""
    previous = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(previous)


def test_a_new_default_ledger_is_owner_only(tmp_path: Path) -> None:
    path = default_ledger_path(tmp_path)
    with Ledger(data_dir=tmp_path) as ledger:
        ledger.add_run(make_record())
        # While a connection is open SQLite keeps its WAL and shared-memory files beside the database.
        ledger.runs()
        side_files = [path.with_name(path.name + suffix) for suffix in ("-wal", "-shm")]
        assert all(side.exists() for side in side_files)
        assert {side.name: mode(side) for side in side_files} == {side.name: 0o600 for side in side_files}
    assert mode(path.parent) == 0o700
    assert mode(path) == 0o600


def test_an_existing_default_ledger_is_tightened(tmp_path: Path) -> None:
    path = default_ledger_path(tmp_path)
    with Ledger(data_dir=tmp_path) as ledger:
        ledger.add_run(make_record())
    side = path.with_name(path.name + "-wal")
    side.write_bytes(b"")  # as a crashed server leaves it (SQLite ignores an empty WAL)
    for file, wide in ((path.parent, 0o755), (path, 0o644), (side, 0o644)):
        os.chmod(file, wide)  # as earlier versions left them
    with Ledger(data_dir=tmp_path) as ledger:
        assert (mode(path.parent), mode(path), mode(side)) == (0o700, 0o600, 0o600)
        assert [r.run_id for r in ledger.runs()] == ["r1"]


def test_a_ledger_the_user_placed_elsewhere_keeps_its_permissions(tmp_path: Path) -> None:
    shared = tmp_path / "team"
    shared.mkdir(mode=0o750)
    os.chmod(shared, 0o750)
    with Ledger(f"sqlite:///{shared / 'ledger.sqlite'}") as ledger:
        ledger.add_run(make_record())
    assert mode(shared) == 0o750


def service(state_file: Path, log: logging.Logger | None = None) -> ImpactService:
    return ImpactService(state_file, IntensitySettings(), {}, log)


def test_the_settings_file_is_written_owner_only_from_its_creation(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    state_file = tmp_path / "carbon" / "intensity-settings.json"
    staged_modes: list[int] = []
    replace = os.replace

    def checking_replace(source: str, destination: Path) -> None:
        staged_modes.append(mode(Path(source)))  # the file as it was before it got its final name
        replace(source, destination)

    monkeypatch.setattr(private_files.os, "replace", checking_replace)
    service(state_file).update({"zone": "FR"})
    assert staged_modes == [0o600]
    assert mode(state_file) == 0o600 and mode(state_file.parent) == 0o700
    assert json.loads(state_file.read_text())["zone"] == "FR"
    assert [p.name for p in state_file.parent.iterdir()] == [state_file.name]  # no staging file left


def test_a_world_readable_settings_file_is_tightened_when_read(tmp_path: Path) -> None:
    state_file = tmp_path / "intensity-settings.json"
    state_file.write_text(json.dumps({"zone": "FR"}))
    os.chmod(state_file, 0o644)
    assert service(state_file).user_settings.zone == "FR"
    assert mode(state_file) == 0o600


@pytest.mark.parametrize(
    "saved",
    [
        {"intensity": 1e308},
        {"pue": 1e308},
        {"price": 1e308},
        {"currency": "E" * 1000},
        ["not", "an", "object"],
    ],
)
def test_a_settings_file_out_of_range_is_ignored_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, saved: object
) -> None:
    state_file = tmp_path / "intensity-settings.json"
    state_file.write_text(json.dumps(saved))
    with caplog.at_level(logging.WARNING):
        loaded = service(state_file, logging.getLogger("test-carbon")).user_settings
    assert loaded.intensity is None and loaded.pue is None and loaded.price is None and loaded.currency == ""
    [warning] = [r for r in caplog.records if r.name == "test-carbon"]
    assert str(state_file) in warning.getMessage() and "ignoring" in warning.getMessage()


def test_a_saved_infinity_is_ignored(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    state_file = tmp_path / "intensity-settings.json"
    state_file.write_text('{"intensity": Infinity}')  # json.dumps wrote this before the bounds existed
    with caplog.at_level(logging.WARNING):
        assert service(state_file).user_settings.intensity is None
    assert "ignoring" in caplog.text


@pytest.mark.parametrize(("option", "value"), [("pue", 1e308), ("price_per_kwh", -1.0), ("user_gco2e_per_kwh", 5000.0)])
def test_deployment_numbers_out_of_range_are_refused(tmp_path: Path, option: str, value: float) -> None:
    with pytest.raises(ValueError, match=re.escape("jupyter_server_config.py")):
        ImpactService(tmp_path / "s.json", IntensitySettings(**{option: value}), {})
