"""The run record of a ``%%carbon`` cell measured in the kernel (no server watching it).

The record is committed on a writer thread, so the cell does not wait for the ledger's durable
commit (an fsync: ~4 ms of a trivial cell's 5 here). It is in the ledger milliseconds later;
``%carbon last``, ``history``, ``compare`` and ``export`` wait for the writes in flight, and so
does the kernel's exit. A write that fails is said in the next ``%%carbon`` cell's output.
"""

from __future__ import annotations

import atexit
import functools
import getpass
import os
import queue
import socket
import sys
import threading
import time
import uuid
from collections.abc import Callable

from ..measurement import WindowMeasurement
from ..records import STATUS_FLAGS, RunRecord, code_fields
from ..run_notes import RunNotes
from . import channel
from .history import kernel_id, ledger

SOURCE = "in-kernel"


def record_in_kernel(
    code: str, measured: WindowMeasurement, status: str, notes: RunNotes, execution_count: int | None
) -> None:
    """Write the run to the ledger, flagged as the server's runs are (errored, interrupted)."""
    request = channel.current_request() or {}
    flags = set(measured.flags) | {SOURCE}
    if "exceeded_at" in notes.extra.get("budget", {}):
        flags.add("budget-exceeded")
    if status in STATUS_FLAGS:
        flags.add(STATUS_FLAGS[status])
    notebook = os.environ.get("JPY_SESSION_NAME") or None
    record = RunRecord(
        run_id=uuid.uuid4().hex,
        kernel_id=kernel_id(),
        msg_id=str(request.get("msg_id") or ""),
        **measured.record_fields(),
        status=status,
        flags=sorted(flags),
        host=_host(),
        notebook_path=notebook,
        **code_fields(code),
        execution_count=execution_count,
        extra=notes.record_extra(measured.attributed_j, measured.duration_s),
        experiment=notes.experiment or notebook or f"kernel {kernel_id()}",
        tags=sorted(notes.tags),
        metrics=dict(notes.metrics),
        user=_user(),
        source=SOURCE,
    )
    for failure in WRITER.take_failures():
        print(f"%%carbon: an earlier run was not written to the ledger: {failure}", file=sys.stderr)
    WRITER.submit(record)


@functools.cache
def _host() -> str:
    return socket.gethostname()


@functools.cache
def _user() -> str:
    """Who runs the kernel (a password-database lookup: once per kernel, not per cell)."""
    return os.environ.get("JUPYTERHUB_USER") or getpass.getuser()


FLUSH_TIMEOUT_S = 30.0
WRITE_DELAY_S = 0.01


class RunWriter:
    """One daemon thread writing the records it is given to the ledger, in order."""

    def __init__(self, write: Callable[[list[RunRecord]], None]) -> None:
        self._write = write
        self._queue: queue.Queue[RunRecord] = queue.Queue()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._failures: list[str] = []

    def submit(self, record: RunRecord) -> None:
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="carbon-ledger-writer", daemon=True)
                self._thread.start()
                atexit.register(self.flush)
        self._queue.put(record)

    def flush(self, timeout_s: float = FLUSH_TIMEOUT_S) -> bool:
        """Wait until every record submitted so far is written (or failed); False on timeout."""
        deadline = time.monotonic() + timeout_s
        with self._queue.all_tasks_done:
            while self._queue.unfinished_tasks:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._queue.all_tasks_done.wait(left)
        return True

    def take_failures(self) -> list[str]:
        with self._lock:
            failures, self._failures = self._failures, []
        return failures

    def _run(self) -> None:
        while True:
            batch = [self._queue.get()]
            # Let the cell finish first: the write's Python holds the GIL in 5 ms slices, which the
            # cell's reply and idle would otherwise wait for. Records arriving meanwhile join it.
            time.sleep(WRITE_DELAY_S)
            while True:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            try:
                self._write(batch)
            except Exception as err:  # an unreachable team database, a full disk: said in the next cell
                with self._lock:
                    self._failures.extend(f"run {record.run_id[:8]}: {type(err).__name__}: {err}" for record in batch)
            finally:
                for _ in batch:
                    self._queue.task_done()


WRITER = RunWriter(lambda records: ledger().write_batch([], records))
