"""From an execution's edges to a stored run record, on one thread, committed in groups.

The watcher hands over executions as they start and end; this thread builds each record
(energy in the window, the kernel's share, the impact) and stores everything that queued up
meanwhile in one transaction. A run is announced only once its commit has returned, so the
ledger's promise holds (a record reported is a record kept) while a burst of short cells costs
one commit instead of one each.
"""

from __future__ import annotations

import asyncio
import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

from ..ledger.store import RUNNING
from ..measurement import Edge, measure_window
from ..records import TRACE_POINTS, RunRecord, code_fields, default_experiment
from ..run_notes import RunNotes
from ..sampler import Sampler, power_trace

# Jobs arriving within this many seconds of the first are stored in one commit. It bounds how
# late an execution's "running" row can be (its trace if the server is killed) and how long a
# finished run waits before it is announced.
GROUP_S = 0.05
# While kernels' messages keep flowing (a burst of short cells), the recording waits until they
# have paused this long, so that its work does not compete with relaying them; but never more
# than MAX_DEFER_S after the oldest job, which bounds how late a run is stored.
QUIET_S = 0.05
MAX_DEFER_S = 2.0
# The flag of a run whose annotations (%%carbon, the run API) could not be kept in its record.
NOTES_DROPPED = "annotations-dropped"


class RunLedger(Protocol):
    """What the recorder needs of the ledger."""

    def write_batch(self, started: list[RunRecord], finished: list[RunRecord]) -> None: ...

    def running(self, host: str) -> list[RunRecord]: ...

    def close_unfinished(self, records: list[RunRecord], flag: str) -> int: ...


@dataclass
class Started:
    base: dict[str, Any]
    code: str | None
    execution_count: int | None
    flags: list[str]


@dataclass
class Finished:
    """An execution that ended; its edges may still be being read."""

    base: dict[str, Any]
    code: str | None
    execution_count: int | None
    status: str
    flags: list[str]
    ended_at: float
    start: Future[Edge]
    end: Future[Edge]


@dataclass
class Progress(Started):
    """A running execution measured so far (its row updated, for a crash to leave that much)."""

    at: float
    start: Future[Edge]
    now: Future[Edge]


@dataclass
class CloseCrashed:
    server: dict[str, Any]
    alive: Callable[[dict[str, Any]], bool]


@dataclass
class _Stop:
    pass


Job = Started | Finished | CloseCrashed | _Stop  # Progress is a Started


@dataclass
class Recorder:
    sampler: Sampler
    ledger: RunLedger
    log: Any
    impact: Callable[[float], dict[str, Any]] | None
    host: str
    store_code_preview: bool
    announce: Callable[[RunRecord], None]
    user: str | None = None  # the Jupyter user owning this server, written on every run
    # The prediction the gate showed for a kernel's code (kernel_id, code hash), taken once.
    predictions: Callable[[str, str], dict[str, Any] | None] | None = None
    _jobs: queue.SimpleQueue[Job] = field(default_factory=queue.SimpleQueue)
    _outstanding: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _thread: threading.Thread | None = None
    _loop: asyncio.AbstractEventLoop | None = None
    _last_traffic: float = 0.0

    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        """Start the thread; finished runs are announced on ``loop`` (the server's)."""
        self._loop = loop
        self._thread = threading.Thread(target=self._run, name="jupyterlab-carbon-recorder", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._thread is not None:
            self._jobs.put(_Stop())
            self._thread.join(timeout=10)
            self._thread = None

    def expect(self) -> None:
        """A job is on its way (counted now, so that drain() waits for it)."""
        with self._lock:
            self._outstanding += 1

    def started(self, base: dict[str, Any], code: str | None, execution_count: int | None, flags: list[str]) -> None:
        self._jobs.put(Started(base, code, execution_count, flags))

    def finished(self, job: Finished) -> None:
        self._jobs.put(job)

    def progress(self, job: Progress) -> None:
        self._jobs.put(job)

    def close_crashed(self, server: dict[str, Any], alive: Callable[[dict[str, Any]], bool]) -> None:
        self.expect()
        self._jobs.put(CloseCrashed(server, alive))

    async def drain(self) -> None:
        while True:
            with self._lock:
                if self._outstanding <= 0:
                    return
            await asyncio.sleep(0.005)

    # -- the thread -----------------------------------------------------------------------

    def traffic(self) -> None:
        """A kernel message just passed (called on the event loop for each; a clock read only)."""
        self._last_traffic = time.monotonic()

    def _run(self) -> None:
        while True:
            jobs = [self._jobs.get()]
            # Gather what comes within GROUP_S of the first job (one commit for a burst of
            # cells; a short cell's start and end in one group are written once), and on
            # while messages flow, up to MAX_DEFER_S. The thread sleeps meanwhile rather than
            # waking for each job: every wake-up takes the GIL from the loop relaying messages.
            first = time.monotonic()
            deadline = first + GROUP_S
            while not isinstance(jobs[0], _Stop):
                now = time.monotonic()
                if now >= deadline:
                    quiet_at = self._last_traffic + QUIET_S
                    if now >= quiet_at or now >= first + MAX_DEFER_S:
                        break
                    deadline = min(quiet_at, first + MAX_DEFER_S)
                time.sleep(max(deadline - now, 0))
            while True:
                try:
                    jobs.append(self._jobs.get_nowait())
                except queue.Empty:
                    break
            stop = any(isinstance(job, _Stop) for job in jobs)
            self._process([job for job in jobs if not isinstance(job, _Stop)])
            if stop:
                return

    def _process(self, jobs: list[Job]) -> None:
        running: dict[str, RunRecord] = {}  # by run id: a later row of a run replaces an earlier
        finished: list[RunRecord] = []
        ended = {job.base["run_id"] for job in jobs if isinstance(job, Finished)}
        for job in jobs:
            try:
                if isinstance(job, Started) and job.base["run_id"] not in ended:
                    record = self._progress_record(job) if isinstance(job, Progress) else self._running_record(job)
                    running[record.run_id] = record
                elif isinstance(job, Finished):
                    finished.append(self._final_or_plain_record(job))
                elif isinstance(job, CloseCrashed):
                    self._close_crashed(job)
            except Exception:
                self.log.exception("jupyterlab-carbon: could not record an execution")
        started = list(running.values())
        try:
            self.ledger.write_batch(started, finished)
        except Exception:
            count = len(started) + len(finished)
            self.log.exception("jupyterlab-carbon: could not store %d run(s) in the ledger", count)
            finished = []
        loop = self._loop
        for record in finished:
            if loop is not None and not loop.is_closed():
                loop.call_soon_threadsafe(self.announce, record)
        with self._lock:
            self._outstanding -= len(jobs)

    def _code_fields(self, code: str | None) -> dict[str, Any]:
        return code_fields(code, self.store_code_preview)

    def _record_fields(self, base: dict[str, Any]) -> dict[str, Any]:
        """The record's fields from the watcher's base, with what the user attached (``%%carbon``, the run API)."""
        fields = {k: v for k, v in base.items() if k not in ("server", "notes")}
        notes: RunNotes = base.get("notes") or RunNotes()
        experiment = notes.experiment or default_experiment(
            base.get("notebook_path"), base.get("kernel_name"), base["kernel_id"]
        )
        fields.update(
            experiment=experiment, tags=sorted(notes.tags), metrics=dict(notes.metrics), user=self.user, source="server"
        )
        return fields

    def _running_record(self, job: Started) -> RunRecord:
        return RunRecord(
            **self._record_fields(job.base),
            ended_at=job.base["started_at"],
            status=RUNNING,
            node_j=0.0,
            attributed_j=0.0,
            idle_j=0.0,
            active_j=0.0,
            channels=[],
            methods=[],
            flags=sorted(set(job.flags)),
            host=self.host,
            execution_count=job.execution_count,
            extra={"server": job.base["server"]},
            **self._code_fields(job.code),
        )

    def _progress_record(self, job: Progress) -> RunRecord:
        """The running row with the window measured up to ``job.at`` (ended_at is then)."""
        measured = measure_window(self.sampler, job.start.result(), job.now.result(), job.base["started_at"], job.at)
        return replace(
            self._running_record(job),
            **measured.record_fields(),
            flags=sorted({*job.flags, *measured.flags}),
            impact=self.impact(measured.attributed_j) if self.impact is not None else None,
        )

    def _final_or_plain_record(self, job: Finished) -> RunRecord:
        """The run's record; should what the user attached break it, the run without it, flagged."""
        try:
            return self._final_record(job)
        except Exception:
            if job.base.get("notes") is None:
                raise
            self.log.exception("jupyterlab-carbon: run %s recorded without its annotations", job.base["run_id"])
            plain = replace(job, base={**job.base, "notes": None}, flags=[*job.flags, NOTES_DROPPED])
            return self._final_record(plain)

    def _final_record(self, job: Finished) -> RunRecord:
        start, end = job.start.result(), job.end.result()
        started_at = job.base["started_at"]
        sampler = self.sampler
        measured = measure_window(sampler, start, end, started_at, job.ended_at)
        share = {c.channel_id: c.share for c in measured.channels}
        trace = power_trace(
            sampler.around(started_at, job.ended_at),
            [share.get(channel.id, 0.0) for channel in sampler.channels],
            started_at,
            job.ended_at,
            TRACE_POINTS,
        )
        notes: RunNotes = job.base.get("notes") or RunNotes()
        edge_delay_s = {"start": start.read_at - started_at, "end": end.read_at - job.ended_at}
        code = self._code_fields(job.code)
        extra = {**notes.record_extra(measured.attributed_j, measured.duration_s), "edge_delay_s": edge_delay_s}
        prediction = (
            self.predictions(job.base["kernel_id"], code["code_hash"])
            if self.predictions and code["code_hash"]
            else None
        )
        if prediction is not None:
            extra["prediction"] = prediction
            predicted = (prediction.get("energy_j") or {}).get("p50")
            if isinstance(predicted, int | float) and predicted > 0:
                extra["prediction_error"] = measured.attributed_j / predicted - 1
        return RunRecord(
            **self._record_fields(job.base),
            ended_at=job.ended_at,
            status=job.status,
            node_j=measured.node_j,
            attributed_j=measured.attributed_j,
            idle_j=measured.idle_j,
            active_j=measured.active_j,
            channels=measured.channels,
            methods=measured.methods,
            flags=sorted(set(measured.flags + job.flags)),
            host=self.host,
            execution_count=job.execution_count,
            impact=self.impact(measured.attributed_j) if self.impact is not None else None,
            extra=extra,
            trace=trace,
            **code,
        )

    def _close_crashed(self, job: CloseCrashed) -> None:
        orphans = [
            record
            for record in self.ledger.running(self.host)
            if record.extra.get("server") != job.server and not job.alive(record.extra.get("server") or {})
        ]
        if orphans:
            closed = self.ledger.close_unfinished(orphans, "server-crash")
            self.log.warning(
                "jupyterlab-carbon: %d execution(s) were running when a previous server stopped without "
                "a clean shutdown; kept in the ledger flagged server-crash",
                closed,
            )
