"""In-kernel runs are committed on a writer thread: the cell does not wait for the ledger's fsync."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path
from typing import Any

from jupyterlab_carbon.kernel.in_kernel import RunWriter

from .kernels import start_lone_kernel
from .test_carbon_magic import execute
from .test_ledger import make_record


def test_submit_does_not_wait_and_flush_does() -> None:
    release = threading.Event()
    written: list[str] = []

    def slow_write(records: list[Any]) -> None:
        release.wait(5)
        written.extend(record.run_id for record in records)

    writer = RunWriter(slow_write)
    started = time.perf_counter()
    for run_id in ("a" * 32, "b" * 32):
        writer.submit(make_record(run_id))
    assert time.perf_counter() - started < 0.5 and written == []
    assert writer.flush(timeout_s=0.05) is False  # still writing: says so, does not hang
    release.set()
    assert writer.flush() is True
    assert written == ["a" * 32, "b" * 32]  # in order


def test_a_failed_write_is_kept_to_be_said() -> None:
    def failing(records: list[Any]) -> None:
        raise OSError("disk full")

    writer = RunWriter(failing)
    writer.submit(make_record("c" * 32))
    assert writer.flush() is True
    assert writer.take_failures() == [f"run {'c' * 8}: OSError: disk full"]
    assert writer.take_failures() == []


def test_an_unwritable_ledger_is_said_in_the_next_cell(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "JUPYTERLAB_CARBON_POWERCAP_ROOT": str(tmp_path / "no-powercap"),
        "JUPYTERLAB_CARBON_HWMON_ROOT": str(tmp_path / "no-hwmon"),
        "JUPYTERLAB_CARBON_CPU_TDP_WATTS": "45",
        # A file where the ledger's directory should be: SQLite cannot open it.
        "JUPYTERLAB_CARBON_LEDGER_URL": f"sqlite:///{tmp_path / 'a-file' / 'ledger.sqlite'}",
    }
    (tmp_path / "a-file").write_text("not a directory")
    env.pop("JUPYTERLAB_CARBON_WATCHED", None)
    manager, client = start_lone_kernel(env)
    try:
        execute(client, "%load_ext jupyterlab_carbon")
        first = execute(client, "%%carbon --quiet\nx = 1")
        assert first["status"] == "ok"  # the cell itself is not failed by the ledger
        history = execute(client, "%carbon history")
        assert "a run was not written to the ledger" in history["stderr"]
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)
