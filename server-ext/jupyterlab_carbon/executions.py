"""Watch every kernel the server manages and turn each cell execution into a run record.

The watcher holds its own IOPub subscription per kernel, so every execution is seen exactly
once whichever client sent it (a browser tab, two tabs, nbclient through the REST API) and
even with no browser open. The window [t0, t1] comes from the kernel's own timestamps on its
``status: busy`` and ``status: idle`` messages whose parent is the ``execute_request``.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import socket
import time
import uuid
from collections.abc import Awaitable, Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import psutil

from .attribution import attribute, cpu_shares, gpu_shares, window_energy
from .meters import Domain
from .records import RunRecord
from .sampler import Sampler

KERNEL_ACTIONS_SCHEMA = "https://events.jupyter.org/jupyter_server/kernel_actions/v1"


@dataclass
class Edge:
    """What was read when the kernel said busy (or idle): its processes' and the node's CPU time."""

    pids: frozenset[int]
    kernel_cpu_s: float
    node_busy_s: float
    read_at: float  # wall time of the meter read, some ms after the kernel's timestamp


def _direct_children(pid: int) -> list[int]:
    """Children from /proc/<pid>/task/*/children: cheap, unlike scanning every process."""
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return [child.pid for child in psutil.Process(pid).children()]
    children: list[int] = []
    for task in tasks:
        try:
            with open(f"/proc/{pid}/task/{task}/children") as handle:
                children.extend(int(child) for child in handle.read().split())
        except FileNotFoundError:
            return [child.pid for child in psutil.Process(pid).children()]  # kernel without the file
        except OSError:
            continue  # the thread ended meanwhile
    return children


class ProcessTree:
    """A kernel's processes; the list of descendants is refreshed at the end of each execution."""

    def __init__(self, pid: int | None) -> None:
        self.pid = pid
        self._processes: dict[int, psutil.Process] = {}
        self.refresh()

    def refresh(self) -> None:
        if self.pid is None:
            return
        pids, to_visit = {self.pid}, [self.pid]
        while to_visit:
            try:
                found = [c for c in _direct_children(to_visit.pop()) if c not in pids]
            except psutil.Error:
                continue
            pids.update(found)
            to_visit.extend(found)
        for pid in pids - set(self._processes):
            try:
                self._processes[pid] = psutil.Process(pid)
            except psutil.Error:
                continue
        for pid in set(self._processes) - pids:
            del self._processes[pid]

    def cpu_s(self) -> tuple[frozenset[int], float]:
        """CPU seconds of the known processes, their reaped children included."""
        total = 0.0
        alive: list[int] = []
        for pid, process in list(self._processes.items()):
            try:
                times = process.cpu_times()
            except psutil.Error:
                del self._processes[pid]  # exited: its time is in its parent's children_* now
                continue
            alive.append(pid)
            total += times.user + times.system + times.children_user + times.children_system
        return frozenset(alive), total


def node_busy_cpu_s() -> float:
    times = psutil.cpu_times()
    return sum(times) - times.idle - getattr(times, "iowait", 0.0)


@dataclass
class PendingExecution:
    """An execution between its kernel's busy and idle messages."""

    msg_id: str
    started_at: float
    start: Future[Edge]
    code: str | None = None
    execution_count: int | None = None
    status: str = "ok"
    flags: list[str] = field(default_factory=list)


def _timestamp(value: Any) -> float:
    if isinstance(value, datetime):
        return value.timestamp()
    return datetime.fromisoformat(str(value)).timestamp()


class KernelWatch:
    """One kernel's IOPub subscription and its executions in flight."""

    def __init__(self, kernel_id: str, manager: Any, on_message: Callable[[str, dict[str, Any]], None]) -> None:
        self.kernel_id = kernel_id
        self.manager = manager
        self.pending: dict[str, PendingExecution] = {}
        self._on_message = on_message
        self._stream: Any = None
        self.tree = ProcessTree(self.pid)
        self.connect()

    @property
    def pid(self) -> int | None:
        provisioner = getattr(self.manager, "provisioner", None)
        pid = getattr(provisioner, "pid", None)
        return int(pid) if pid else None

    def connect(self) -> None:
        self.close()
        self._stream = self.manager.connect_iopub()
        self._stream.on_recv(self._receive)

    def _receive(self, frames: list[bytes]) -> None:
        session = self.manager.session
        _, frames = session.feed_identities(frames)
        self._on_message(self.kernel_id, session.deserialize(frames, content=True))

    def close(self) -> None:
        if self._stream is not None:
            self._stream.close()
            self._stream = None


RunListener = Callable[[RunRecord], Awaitable[None] | None]
StartListener = Callable[[str, str, float], None]


class ExecutionWatcher:
    """Follows kernels through the server's kernel events; records every execution."""

    def __init__(
        self,
        kernel_manager: Any,
        session_manager: Any,
        sampler: Sampler,
        store_run: Callable[[RunRecord], None],
        log: Any,
        impact: Callable[[float], dict[str, Any]] | None = None,
    ) -> None:
        self._kernels = kernel_manager
        self._sessions = session_manager
        self._sampler = sampler
        self._store_run = store_run
        self._impact = impact
        self._log = log
        self._watches: dict[str, KernelWatch] = {}
        self._run_listeners: list[RunListener] = []
        self._start_listeners: list[StartListener] = []
        self._tasks: set[asyncio.Task[None]] = set()
        self._host = socket.gethostname()
        # Edge reads (meters, CPU times) leave the event loop but keep their order.
        self._edges = ThreadPoolExecutor(max_workers=1, thread_name_prefix="jupyterlab-carbon-edges")

    def _read_edge(self, tree: ProcessTree, refresh: bool) -> Edge:
        """At a cell's start or end: read the meters now, and the CPU time of kernel and node."""
        sample = self._sampler.sample_once()
        if refresh:
            tree.refresh()  # catch processes the cell started
        pids, cpu = tree.cpu_s()
        return Edge(pids, cpu, node_busy_cpu_s(), sample.wall)

    def add_run_listener(self, listener: RunListener) -> None:
        self._run_listeners.append(listener)

    def add_start_listener(self, listener: StartListener) -> None:
        """``listener(kernel_id, msg_id, started_at)`` when an execution begins (for live badges)."""
        self._start_listeners.append(listener)

    def in_flight(self) -> list[dict[str, Any]]:
        return [
            {"kernel_id": w.kernel_id, "msg_id": p.msg_id, "started_at": p.started_at}
            for w in self._watches.values()
            for p in w.pending.values()
        ]

    def start(self, event_logger: Any) -> None:
        event_logger.add_listener(schema_id=KERNEL_ACTIONS_SCHEMA, listener=self._on_kernel_event)
        # The server starts watching a kernel's activity once it is ready, before answering the
        # request that started it: subscribing at that same moment means our IOPub subscription
        # is live before any client can send the first cell (the start event comes too early,
        # before the kernel is listed, and a poll after it can come too late).
        start_watching_activity = self._kernels.start_watching_activity

        def watch_with_activity(kernel_id: str) -> None:
            start_watching_activity(kernel_id)
            self.watch(kernel_id)

        self._kernels.start_watching_activity = watch_with_activity
        for kernel_id in self._kernels.list_kernel_ids():
            self.watch(kernel_id)

    def watch(self, kernel_id: str) -> bool:
        """Subscribe to a kernel's IOPub; False when the server does not list the kernel (yet)."""
        if kernel_id in self._watches:
            return True
        if kernel_id not in self._kernels.list_kernel_ids():
            return False
        try:
            manager = self._kernels.get_kernel(kernel_id)
            self._watches[kernel_id] = KernelWatch(kernel_id, manager, self._on_iopub)
        except Exception as err:  # a kernel that vanished or cannot be reached must not break the server
            self._log.warning("jupyterlab-carbon: cannot watch kernel %s: %s", kernel_id, err)
            return False
        return True

    async def _watch_when_registered(self, kernel_id: str, attempts: int = 500) -> None:
        """The start event fires before the kernel manager lists the kernel: wait for it.

        Polled often, because a client may send its first cell the moment the kernel is up.
        """
        for _ in range(attempts):
            if self.watch(kernel_id):
                return
            await asyncio.sleep(0.01)
        self._log.warning("jupyterlab-carbon: kernel %s never appeared; its cells are not measured", kernel_id)

    def unwatch(self, kernel_id: str, reason: str) -> None:
        watch = self._watches.pop(kernel_id, None)
        if watch is None:
            return
        self._interrupt_pending(watch, reason)
        watch.close()

    async def _on_kernel_event(self, logger: Any, schema_id: str, data: dict[str, Any]) -> None:
        """Listener of the server's kernel_actions events (called with these keyword names)."""
        kernel_id, action = data.get("kernel_id"), data.get("action")
        if not kernel_id or data.get("status") != "success":
            return
        if action == "start":
            await self._watch_when_registered(kernel_id)
        elif action == "shutdown":
            self.unwatch(kernel_id, "kernel-shutdown")
        elif action == "restart":
            watch = self._watches.get(kernel_id)
            if watch is None:
                await self._watch_when_registered(kernel_id)
                return
            self._interrupt_pending(watch, "kernel-restart")
            watch.tree = ProcessTree(watch.pid)
            watch.connect()

    def _interrupt_pending(self, watch: KernelWatch, reason: str) -> None:
        """Executions cut short by a restart or shutdown still count, flagged interrupted."""
        now = time.time()
        for pending in list(watch.pending.values()):
            pending.status = "interrupted"
            pending.flags.extend(["interrupted", reason])
            self._finish(watch, pending, now)
        watch.pending.clear()

    def _on_iopub(self, kernel_id: str, msg: dict[str, Any]) -> None:
        watch = self._watches.get(kernel_id)
        parent = msg.get("parent_header") or {}
        if watch is None or parent.get("msg_type") != "execute_request":
            return
        msg_id = parent.get("msg_id")
        kind, content = msg["msg_type"], msg.get("content") or {}
        if kind == "status":
            state = content.get("execution_state")
            if state == "busy" and msg_id not in watch.pending:
                started = _timestamp(msg["header"]["date"])
                edge = self._edges.submit(self._read_edge, watch.tree, False)
                watch.pending[msg_id] = PendingExecution(msg_id, started, edge)
                for listener in self._start_listeners:
                    listener(kernel_id, msg_id, started)
            elif state == "idle" and msg_id in watch.pending:
                self._finish(watch, watch.pending.pop(msg_id), _timestamp(msg["header"]["date"]))
            return
        pending = watch.pending.get(msg_id)
        if pending is None and kind == "execute_input":
            # The busy message was missed (subscribed a moment late, right after the kernel
            # started): the input's own timestamp follows busy by microseconds.
            started = _timestamp(msg["header"]["date"])
            pending = PendingExecution(msg_id, started, self._edges.submit(self._read_edge, watch.tree, False))
            pending.flags.append("late-start")
            watch.pending[msg_id] = pending
        if pending is None:
            return
        if kind == "execute_input":
            pending.code = content.get("code")
            pending.execution_count = content.get("execution_count")
        elif kind == "error":
            interrupted = content.get("ename") == "KeyboardInterrupt"
            pending.status = "interrupted" if interrupted else "error"
            pending.flags.append("interrupted" if interrupted else "errored")

    def _finish(self, watch: KernelWatch, pending: PendingExecution, ended_at: float) -> None:
        end = self._edges.submit(self._read_edge, watch.tree, True)
        task = asyncio.ensure_future(self._record(watch, pending, ended_at, end))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _record(
        self,
        watch: KernelWatch,
        pending: PendingExecution,
        ended_at: float,
        end: Future[Edge],
    ) -> None:
        try:
            start_edge = await asyncio.wrap_future(pending.start)
            end_edge = await asyncio.wrap_future(end)  # read after idle arrived: t1 is inside the samples
            record = await asyncio.get_running_loop().run_in_executor(
                None, self._build_record, watch, pending, ended_at, start_edge, end_edge
            )
            record.session_id, record.notebook_path = await self._session_of(watch.kernel_id)
            record.kernel_name = getattr(watch.manager, "kernel_name", None)
            if self._impact is not None:
                record.impact = await asyncio.get_running_loop().run_in_executor(
                    None, self._impact, record.attributed_j
                )
            await asyncio.get_running_loop().run_in_executor(None, self._store_run, record)
        except Exception:
            self._log.exception("jupyterlab-carbon: could not record execution %s", pending.msg_id)
            return
        for listener in self._run_listeners:
            result = listener(record)
            if asyncio.iscoroutine(result):
                await result

    def _build_record(
        self,
        watch: KernelWatch,
        pending: PendingExecution,
        ended_at: float,
        start: Edge,
        end: Edge,
    ) -> RunRecord:
        sampler = self._sampler
        window = window_energy(sampler, pending.started_at, ended_at)
        kernel = watch.kernel_id
        cpu = cpu_shares({kernel: end.kernel_cpu_s - start.kernel_cpu_s}, end.node_busy_s - start.node_busy_s)
        pids = set(start.pids | end.pids)
        gpu: dict[str, dict[str, float]] = {}
        for channel in sampler.channels:
            if channel.domain is Domain.GPU:
                mine, everyone = sampler.gpu_use_between(channel.id, pending.started_at, ended_at, pids)
                gpu[channel.id] = gpu_shares({kernel: mine}, everyone)
        result = attribute(sampler.channels, window, cpu, gpu)
        channels = result.per_kernel[kernel]
        code = pending.code or ""
        return RunRecord(
            run_id=uuid.uuid4().hex,
            kernel_id=kernel,
            msg_id=pending.msg_id,
            started_at=pending.started_at,
            ended_at=ended_at,
            status=pending.status,
            node_j=sum(window.node_j.values()),
            attributed_j=sum(c.attributed_j for c in channels),
            idle_j=sum(c.idle_j for c in channels),
            active_j=sum(c.active_j for c in channels),
            channels=channels,
            methods=sorted({c.method for c in channels}),
            flags=sorted(set(window.flags + pending.flags)),
            host=self._host,
            execution_count=pending.execution_count,
            code_hash=hashlib.sha256(code.encode()).hexdigest() if pending.code is not None else None,
            code_preview=code.strip().splitlines()[0][:120] if code.strip() else None,
            extra={"edge_delay_s": {"start": start.read_at - pending.started_at, "end": end.read_at - ended_at}},
        )

    async def _session_of(self, kernel_id: str) -> tuple[str | None, str | None]:
        try:
            for session in await self._sessions.list_sessions():
                if session.get("kernel", {}).get("id") == kernel_id:
                    return session.get("id"), session.get("path")
        except Exception as err:
            self._log.debug("jupyterlab-carbon: no session for kernel %s: %s", kernel_id, err)
        return None, None

    async def drain(self) -> None:
        """Wait for the records being written (tests, and shutdown)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    def close(self) -> None:
        for kernel_id in list(self._watches):
            self.unwatch(kernel_id, "server-shutdown")
        self._edges.shutdown(wait=False)
