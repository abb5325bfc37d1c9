"""Execute notebooks with nbclient, measuring every cell at its edges: ``jupyter carbon run``.

The edges are read in nbclient's hooks (``on_cell_execute`` just before the execute request,
``on_cell_executed`` once the reply and the kernel's idle came back), over the kernel's process
tree. The window's energy is computed on a worker thread (it may wait for one more meter read),
so the notebook never waits for the meters. Annotations the kernel publishes (``%%carbon``) are
read from IOPub and merged into each cell's run as the server's watcher does.

The meters and the ledger (:class:`Instruments`) come as a future: ``jupyter carbon run`` opens
them on a thread while nbclient starts the first kernel, and the first use waits for them.
"""

from __future__ import annotations

import getpass
import os
import re
import socket
import sys
import time
import uuid
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

from ..kernel.channel import METADATA_KEY as ANNOTATION_KEY
from ..kernel.channel import WATCHED_ENV
from ..measurement import Edge, Monitor, WindowMeasurement, measure_window, read_edge
from ..process_tree import ProcessTree
from ..records import STATUS_FLAGS, RunRecord, code_fields
from ..run_notes import RunNotes, checked_update
from .parameters import inject_parameters
from .progress import Progress, summary_table
from .settings import HeadlessSettings
from .summary import METADATA_KEY, previous_summary, summary_from_run

if TYPE_CHECKING:
    from ..ledger import Ledger

SOURCE = "headless"


@dataclass(frozen=True)
class Instruments:
    """What a headless run measures with and records into."""

    monitor: Monitor
    ledger: Ledger


@dataclass
class NotebookRun:
    """One notebook's execution: its measured cells, and why it stopped early if it did."""

    path: Path
    output: Path
    records: list[RunRecord]
    code_cells: int
    error: str | None = None  # the failing cell's error (or timeout, dead kernel), None when all ran

    @property
    def energy_j(self) -> float:
        return sum(r.attributed_j for r in self.records)


@dataclass
class _OpenCell:
    index: int
    code: str
    started_at: float
    start: Edge
    notes: RunNotes = field(default_factory=RunNotes)
    msg_id: str = ""


@dataclass
class _ClosedCell:
    index: int
    record: Future[RunRecord]


class CellMeter:
    """Opens a window when a cell is sent and closes it when the kernel is idle again."""

    def __init__(
        self,
        instruments: Future[Instruments],
        settings: HeadlessSettings,
        notebook_path: str,
        experiment: str | None,
        progress: Progress,
        workers: ThreadPoolExecutor,
    ) -> None:
        self._instruments = instruments
        self._settings = settings
        self._notebook_path = notebook_path
        self._experiment = experiment
        self._progress = progress
        self._workers = workers
        self._open: _OpenCell | None = None
        self.closed: list[_ClosedCell] = []
        self._measured_j = 0.0  # the energy of the cells recorded so far (the worker's alone)
        self.kernel_id = f"headless-{uuid.uuid4().hex[:12]}"
        self.kernel_name: str | None = None
        self._host = socket.gethostname()
        self._user = os.environ.get("JUPYTERHUB_USER") or _login()

    @property
    def monitor(self) -> Monitor:
        return self._instruments.result().monitor

    # nbclient hooks (called on its event loop: nothing here may block on the meters, except the
    # first, which waits for them to be opened if the kernel started first)

    def watch_kernel(self, client: NotebookClient) -> None:
        """Measure the kernel's process tree (not this process), once the kernel is up."""
        km = client.km
        pid = getattr(getattr(km, "provisioner", None), "pid", None)
        if isinstance(pid, int):
            self.monitor.tree = ProcessTree(pid)
        self.kernel_id = str(getattr(km, "kernel_id", None) or self.kernel_id)
        self.kernel_name = client.kernel_name or None

    def on_cell_execute(self, cell: nbformat.NotebookNode, cell_index: int) -> None:
        started_at = time.time()
        edge = read_edge(self.monitor.sampler, self.monitor.tree, refresh=True)
        self._open = _OpenCell(cell_index, cell.source, started_at, edge)

    def on_message(self, msg: dict[str, Any]) -> None:
        """An IOPub message of the running cell: remember its request, apply its annotations."""
        current = self._open
        if current is None:
            return
        current.msg_id = current.msg_id or str(msg.get("parent_header", {}).get("msg_id") or "")
        if msg.get("msg_type") != "comm_msg" or not msg.get("metadata", {}).get(ANNOTATION_KEY):
            return
        update = msg.get("content", {}).get("data", {}).get("carbon")
        try:
            current.notes.merge(checked_update(update))
        except ValueError as err:
            print(
                f"jupyter carbon: ignored an annotation of cell {current.index + 1}: {err}",
                file=sys.stderr,
            )

    def on_cell_executed(self, cell: nbformat.NotebookNode, cell_index: int, execute_reply: dict[str, Any]) -> None:
        status = str(execute_reply.get("content", {}).get("status", "ok"))
        self._close("ok" if status == "ok" else "error", execute_reply.get("content", {}).get("execution_count"))

    def close_interrupted(self) -> None:
        """The cell in flight did not finish (timeout, dead kernel, Ctrl-C): keep what it used."""
        if self._open is not None:
            self._close("interrupted", None)

    def _close(self, status: str, execution_count: Any) -> None:
        current, self._open = self._open, None
        if current is None:
            return
        ended_at = time.time()
        end = read_edge(self.monitor.sampler, self.monitor.tree, refresh=True)
        count = execution_count if isinstance(execution_count, int) else None
        future = self._workers.submit(self._record, current, end, ended_at, status, count)
        self.closed.append(_ClosedCell(current.index, future))

    def _record(self, cell: _OpenCell, end: Edge, ended_at: float, status: str, count: int | None) -> RunRecord:
        """On the worker (one thread, cells in order): the run's record, then its progress line, so
        that the line's energy so far includes the cell it reports."""
        measured = measure_window(self.monitor.sampler, cell.start, end, cell.started_at, ended_at)
        record = self.build_record(cell, measured, status, count)
        self._measured_j += record.attributed_j
        self._progress.cell_done(cell_label(cell.index, count), status, ended_at - cell.started_at, self._measured_j)
        return record

    def build_record(self, cell: _OpenCell, measured: WindowMeasurement, status: str, count: int | None) -> RunRecord:
        flags = set(measured.flags) | {SOURCE}
        if status in STATUS_FLAGS:
            flags.add(STATUS_FLAGS[status])
        notes = cell.notes
        return RunRecord(
            run_id=uuid.uuid4().hex,
            kernel_id=self.kernel_id,
            msg_id=cell.msg_id,
            **measured.record_fields(),
            status=status,
            flags=sorted(flags),
            host=self._host,
            notebook_path=self._notebook_path,
            execution_count=count,
            **code_fields(cell.code),
            kernel_name=self.kernel_name,
            extra={**notes.record_extra(measured.attributed_j, measured.duration_s), "cell_index": cell.index},
            impact=self._settings.impact(measured.attributed_j),
            experiment=notes.experiment or self._experiment or self._notebook_path,
            tags=sorted(notes.tags),
            metrics=dict(notes.metrics),
            user=self._user,
            source=SOURCE,
        )


def cell_label(index: int, execution_count: int | None) -> str:
    """How reports and the console name a cell: its position in the notebook (and its count)."""
    return f"cell {index + 1}" + (f" [{execution_count}]" if execution_count is not None else "")


def _login() -> str | None:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # an account without a name (a container's bare uid)
        return None


class MeasuredClient(NotebookClient):
    """nbclient's client, showing the meter every IOPub message of the running cell."""

    def __init__(self, notebook: nbformat.NotebookNode, meter: CellMeter, **kwargs: Any) -> None:
        super().__init__(
            notebook,
            on_notebook_start=lambda notebook: meter.watch_kernel(self),
            on_cell_execute=meter.on_cell_execute,
            on_cell_executed=meter.on_cell_executed,
            **kwargs,
        )
        self._meter = meter

    def process_message(
        self, msg: dict[str, Any], cell: nbformat.NotebookNode, cell_index: int
    ) -> nbformat.NotebookNode | None:
        self._meter.on_message(msg)
        return super().process_message(msg, cell, cell_index)


def notebook_label(path: Path) -> str:
    """The notebook's path in the ledger: relative to the working directory when under it."""
    resolved = path.resolve()
    try:
        return resolved.relative_to(Path.cwd()).as_posix()
    except ValueError:
        return resolved.as_posix()


def run_notebook(
    path: Path,
    output: Path,
    settings: HeadlessSettings,
    instruments: Future[Instruments],
    parameters: dict[str, Any],
    kernel_name: str | None,
    timeout_s: float | None,
    experiment: str | None,
    stream: TextIO,
) -> NotebookRun:
    """Execute one notebook, write the executed copy with each cell's summary, record the runs."""
    notebook = nbformat.read(path, as_version=4)  # type: ignore[no-untyped-call]
    inject_parameters(notebook, parameters)
    code_cells = sum(1 for c in notebook.cells if c.cell_type == "code" and c.source.strip())
    label = notebook_label(path)
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="carbon-measure") as workers:
        progress = Progress(path.name, code_cells, stream)
        meter = CellMeter(instruments, settings, label, experiment, progress, workers)
        options: dict[str, Any] = {"timeout": timeout_s, "resources": {"metadata": {"path": str(path.parent)}}}
        if kernel_name:
            options["kernel_name"] = kernel_name
        try:
            error = _execute(lambda: MeasuredClient(notebook, meter, **options), meter, stream)
        finally:
            workers.shutdown(wait=True)  # every cell's record and progress line
            progress.finish()
        closed = [(c.index, c.record.result()) for c in meter.closed]
    records = [record for _, record in closed]
    failed = next((cell_label(i, r.execution_count) for i, r in closed if r.status != "ok"), None)
    if error is not None and failed is not None:
        error = f"{failed}: {error}"
    for index, record in closed:
        cell = notebook.cells[index]
        cell.metadata[METADATA_KEY] = summary_from_run(record, previous_summary(cell.metadata))
    output.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(notebook, output)  # type: ignore[no-untyped-call]
    if records:
        instruments.result().ledger.write_batch([], records)
    rows = [
        (
            cell_label(index, r.execution_count),
            r.status,
            r.duration_s,
            r.attributed_j,
            r.impact["gco2e"] if r.impact else None,
        )
        for index, r in closed
    ]
    stream.write(summary_table(rows) + "\n")
    return NotebookRun(path, output, records, code_cells, error)


# A kernel can die before it answers: jupyter_client chose its ports free, and another process
# took one before the kernel bound it ("Address already in use"). No cell has run then.
KERNEL_DIED_STARTING = "Kernel died before replying to kernel_info"
KERNEL_STARTS = 3


def _execute(client_for: Callable[[], MeasuredClient], meter: CellMeter, stream: TextIO) -> str | None:
    """Run the notebook's cells; what stopped the run, if anything. A kernel that died while
    starting is replaced, twice at most, saying so."""
    start = 1
    while True:
        try:
            client_for().execute(env={**os.environ, WATCHED_ENV: "1"})
            return None
        except CellExecutionError as err:
            return _first_line(str(err), "a cell raised an error")
        except (CellTimeoutError, DeadKernelError, KeyboardInterrupt) as err:
            meter.close_interrupted()
            return f"{type(err).__name__}: {_first_line(str(err), 'the run was interrupted')}"
        except RuntimeError as err:
            if KERNEL_DIED_STARTING not in str(err) or meter.closed:
                raise
            if start == KERNEL_STARTS:
                return f"the kernel died while starting, {KERNEL_STARTS} times (last: {err})"
            stream.write(f"jupyter carbon: the kernel died while starting ({err}); starting another\n")
            start += 1


_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def _first_line(text: str, fallback: str) -> str:
    lines = [line for line in _ANSI.sub("", text).strip().splitlines() if line.strip()]
    # nbclient's message ends with the exception's own line ("ZeroDivisionError: division by zero").
    return lines[-1].strip() if lines else fallback
