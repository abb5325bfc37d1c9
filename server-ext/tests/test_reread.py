"""Files kept open and read from their start (meters and /proc at each cell's edges)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import psutil
import pytest

from jupyterlab_carbon.process_tree import ProcessGone, _ProcessTimes
from jupyterlab_carbon.reread import RereadFile


def test_a_kept_file_reads_what_is_written_in_place_or_renamed_over_it(tmp_path: Path) -> None:
    path = tmp_path / "energy_uj"
    path.write_text("100\n")
    reader = RereadFile(path, 64)
    assert reader.read_int() == 100
    with open(path, "r+") as handle:  # rewritten in place, as sysfs changes
        handle.write("250\n")
    assert reader.read_int() == 250
    staging = tmp_path / "staging"
    staging.write_text("999\n")
    staging.replace(path)  # a fake tree's atomic write: the kept descriptor's file is unlinked
    assert reader.read_int() == 999
    assert reader.read_int() == 999


def test_only_files_outside_sysfs_and_procfs_are_checked_for_replacement(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "energy_uj").write_text("1\n")
    readers = {path: RereadFile(path, 4096).open() for path in ("/proc/loadavg", "/proc/stat", tmp_path / "energy_uj")}
    checked: list[int] = []
    fstat = os.fstat
    monkeypatch.setattr(os, "fstat", lambda fd: checked.append(fd) or fstat(fd))
    for reader in readers.values():
        reader.read()
    assert len(checked) == 1  # the file in tmp_path: a fake tree may rename over it


def test_a_missing_file_fails_then_is_read_once_it_exists(tmp_path: Path) -> None:
    reader = RereadFile(tmp_path / "later", 64)
    with pytest.raises(FileNotFoundError):
        reader.read()
    (tmp_path / "later").write_text("7\n")
    assert reader.read_int() == 7
    reader.close()
    reader.close()  # twice is fine
    assert reader.read_int() == 7  # and it opens again


def test_closing_releases_the_descriptor(tmp_path: Path) -> None:
    (tmp_path / "f").write_text("1\n")
    before = len(os.listdir("/proc/self/fd"))
    readers = [RereadFile(tmp_path / "f").open() for _ in range(20)]
    assert len(os.listdir("/proc/self/fd")) == before + 20
    for reader in readers[:10]:
        reader.close()
    del readers  # the others when collected
    assert len(os.listdir("/proc/self/fd")) == before


def test_a_process_cpu_time_from_proc_matches_the_kernel_and_ends_with_the_process() -> None:
    child = subprocess.Popen(
        [sys.executable, "-c", "import sys\nsum(range(3 * 10**7))\nsys.stdin.read()"], stdin=subprocess.PIPE
    )
    try:
        times = _ProcessTimes(child.pid)
        process = psutil.Process(child.pid)
        while process.cpu_times().user < 0.2:
            pass
        mine = times.cpu_s()
        theirs = process.cpu_times()
        assert mine == pytest.approx(
            theirs.user + theirs.system + theirs.children_user + theirs.children_system, abs=0.05
        )
    finally:
        child.communicate(b"")
    with pytest.raises(ProcessGone):
        times.cpu_s()
    with pytest.raises(ProcessGone):
        _ProcessTimes(child.pid)
