"""Watch every kernel the server manages and turn each cell execution into a run record.

The watcher subscribes to every kernel's IOPub (see iopub.py), so every execution is seen exactly
once whichever client sent it (a browser tab, two tabs, nbclient through the REST API, a ZMQ
client with the connection file) and even with no browser open. The window [t0, t1] comes from
the kernel's own timestamps on its ``status: busy`` and ``status: idle`` messages whose parent
is the ``execute_request``.

Recording does not depend on timing: the server does not answer a kernel start (or restart)
before the watcher's subscription is confirmed, and an execution whose busy was missed anyway
is recovered from its ``execute_input`` or its idle, flagged ``late-start``, never dropped.
Every execution still running 50 ms after it began is stored (state ``running``), completed
when it ends, so a server crash leaves a trace that the next start marks ``server-crash``.
"""

from __future__ import annotations

import asyncio
import functools
import os
import socket
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import psutil
from jupyter_core.utils import ensure_async

from ..kernel.channel import WATCHED_ENV
from ..measurement import Edge, read_edge
from ..process_tree import ProcessTree
from ..records import RunRecord
from ..run_notes import MAX_WINDOWS, RunNotes, checked_update
from ..sampler import Sampler
from .budget import FLAG as BUDGET_FLAG
from .budget import Budget, BudgetCheck, BudgetGuard
from .iopub import IOPubEvent, IOPubSubscription, ProcessExitWatch, timestamp
from .recorder import Finished, Progress, Recorder, RunLedger

KERNEL_ACTIONS_SCHEMA = "https://events.jupyter.org/jupyter_server/kernel_actions/v1"
# A kernel's notebook path is looked up again after this many seconds (a rename shows then).
SESSION_TTL_S = 5.0
# How many finished executions per kernel are remembered, so a repeated idle is not recorded twice.
FINISHED_MEMORY = 256
# An execution is stored as running this long after its start: its input (if the kernel
# broadcasts one: not for a silent request) has come by then, and a shorter cell is stored once,
# at its end.
STORE_RUNNING_AFTER_S = 0.05
# After a kernel's process exits, its last messages may still be queued: what is still running
# this long after is taken to have died with it.
EXIT_GRACE_S = 0.2


@dataclass
class PendingExecution:
    """An execution between its kernel's busy and idle messages."""

    run_id: str
    msg_id: str
    started_at: float
    start: Future[Edge]
    code: str | None = None
    execution_count: int | None = None
    status: str = "ok"
    flags: list[str] = field(default_factory=list)
    stored: bool = False  # its running row was queued
    subshell: str | None = None
    last_seen: float = 0.0  # the kernel's timestamp on the latest message of the execution
    notes: RunNotes | None = None  # what %%carbon or the run API attached (IOPub annotations)
    budget_task: asyncio.Task[None] | None = None  # checks a %%carbon --budget while it runs


@dataclass
class SessionInfo:
    session_id: str | None
    path: str | None
    fetched_at: float


class KernelWatch:
    """One kernel: its IOPub subscription, process tree, executions in flight."""

    def __init__(
        self,
        kernel_id: str,
        manager: Any,
        on_event: Callable[[str, IOPubEvent], None],
        on_exit: Callable[[str], None] | None = None,
    ) -> None:
        self.kernel_id = kernel_id
        self.manager = manager
        self.pending: dict[str, PendingExecution] = {}
        # The latest finished executions' msg_ids, oldest first: looked up for every message.
        self.finished: dict[str, None] = {}
        self.stopping: str | None = None  # the reason, while a restart or shutdown is under way
        self.crashed = False  # the restarter found the process dead; it restarts it next
        self.session: SessionInfo | None = None
        self.session_refresh: asyncio.Task[None] | None = None
        self.last_edge: Future[Edge] | None = None  # the latest edge read, a late start's best start
        self._on_event = on_event
        self._on_exit = on_exit
        self.subscription: IOPubSubscription | None = None
        self.exit_watch: ProcessExitWatch | None = None
        self.tree: ProcessTree
        self.connect()

    @property
    def pid(self) -> int | None:
        provisioner = getattr(self.manager, "provisioner", None)
        pid = getattr(provisioner, "pid", None)
        return int(pid) if pid else None

    def connect(self) -> None:
        """(Re)subscribe after a start or restart; the process may be a new one."""
        self.close()
        self.tree = ProcessTree(self.pid)
        on_exit = functools.partial(self._on_exit, self.kernel_id) if self._on_exit is not None else None
        self.exit_watch = ProcessExitWatch(self.pid, on_exit)
        self.subscribe()

    def subscribe(self) -> None:
        if self.subscription is not None:
            self.subscription.close()
        self.subscription = IOPubSubscription(self.manager, functools.partial(self._on_event, self.kernel_id))

    def remember_finished(self, msg_id: str) -> None:
        self.finished[msg_id] = None
        if len(self.finished) > FINISHED_MEMORY:
            del self.finished[next(iter(self.finished))]

    def died_at(self) -> float | None:
        return self.exit_watch.exited_at if self.exit_watch is not None else None

    def close(self) -> None:
        if self.subscription is not None:
            self.subscription.close()
            self.subscription = None
        if self.exit_watch is not None:
            self.exit_watch.close()
            self.exit_watch = None


RunListener = Callable[[RunRecord], Awaitable[None] | None]
StartListener = Callable[[str, str, float], None]
BudgetListener = Callable[[str, str, dict[str, Any]], None]


class ExecutionWatcher:
    """Follows kernels through the server's kernel manager; records every execution."""

    # The kernel manager's methods the watcher wraps, restored by close().
    WRAPPED = ("start_watching_activity", "start_kernel", "restart_kernel", "shutdown_kernel", "shutdown_all")

    def __init__(
        self,
        kernel_manager: Any,
        session_manager: Any,
        sampler: Sampler,
        ledger: RunLedger,
        log: Any,
        impact: Callable[[float], dict[str, Any]] | None = None,
        store_code_preview: bool = True,
        user: str | None = None,
        kernel_env: dict[str, str] | None = None,
        autoload_magic: bool = True,
        predictions: Callable[[str, str], dict[str, Any] | None] | None = None,
        checkpoint_s: float = 30.0,
    ) -> None:
        """``kernel_env``: variables given to the kernels this server starts (the ledger's URL);
        ``autoload_magic``: load ``%%carbon`` in the IPython kernels that run this Python;
        ``predictions(kernel_id, code_hash)``: the prediction shown before that code ran, if any;
        ``checkpoint_s``: how often a running execution's row is updated with what it used so far."""
        self._kernels = kernel_manager
        self._kernel_env = {WATCHED_ENV: "1", **(kernel_env or {})}
        self._autoload_magic = autoload_magic
        self._sessions = session_manager
        self._sampler = sampler
        self._log = log
        self._watches: dict[str, KernelWatch] = {}
        self._run_listeners: list[RunListener] = []
        self._start_listeners: list[StartListener] = []
        self._event_logger: Any = None
        self._originals: dict[str, Any] = {}
        self._server_stopping = False
        self._listener_tasks: set[asyncio.Future[None]] = set()
        self._host = socket.gethostname()
        self._server = _this_server()
        # Edge reads (meters, CPU times): on the loop when they take microseconds, else on one
        # thread that keeps their order.
        self._inline_edges = sampler.meters.reads_in_microseconds
        self._loop: asyncio.AbstractEventLoop | None = None  # the server's, from start()
        self._edges = ThreadPoolExecutor(max_workers=1, thread_name_prefix="jupyterlab-carbon-edges")
        self._recorder = Recorder(
            sampler, ledger, log, impact, self._host, store_code_preview, self._announce, user, predictions
        )
        self._budgets = BudgetGuard(sampler, self._edges, impact, self._interrupt, log)
        self._budget_listeners: list[BudgetListener] = []
        self._checkpoint_s = checkpoint_s
        self._checkpoints: asyncio.TimerHandle | None = None

    def _launch_options(self, kwargs: dict[str, Any]) -> dict[str, Any]:
        """A kernel start's arguments, with the environment that tells the kernel it is watched
        (so ``%%carbon`` annotates instead of recording twice) and, for an IPython kernel of this
        Python, the extension loaded (``%%carbon`` with no ``%load_ext``)."""
        options = dict(kwargs)
        options["env"] = {**(kwargs.get("env") or os.environ), **self._kernel_env}
        if self._autoload_magic and self._runs_this_ipython(kwargs.get("kernel_name")):
            options["extra_arguments"] = [*kwargs.get("extra_arguments", []), "--ext=jupyterlab_carbon"]
        return options

    def _runs_this_ipython(self, kernel_name: str | None) -> bool:
        """True for an ipykernel spec whose Python is the server's (where this package is installed)."""
        try:
            spec = self._kernels.kernel_spec_manager.get_kernel_spec(kernel_name or self._kernels.default_kernel_name)
        except Exception:  # an unknown name fails the start itself, with the server's own message
            return False
        argv = list(getattr(spec, "argv", []))
        python = argv[0] if argv else ""
        same_python = python in ("python", "python3") or os.path.realpath(python) == os.path.realpath(sys.executable)
        return same_python and any("ipykernel" in arg for arg in argv[1:3])

    # -- listeners ------------------------------------------------------------------------

    def add_run_listener(self, listener: RunListener) -> None:
        self._run_listeners.append(listener)

    def add_budget_listener(self, listener: BudgetListener) -> None:
        """``listener(kernel_id, msg_id, budget)`` when a running execution crosses its %%carbon budget."""
        self._budget_listeners.append(listener)

    def add_start_listener(self, listener: StartListener) -> None:
        """``listener(kernel_id, msg_id, started_at)`` when an execution begins (for live badges)."""
        self._start_listeners.append(listener)

    def in_flight(self) -> list[dict[str, Any]]:
        return [
            {"kernel_id": w.kernel_id, "msg_id": p.msg_id, "started_at": p.started_at}
            for w in self._watches.values()
            for p in w.pending.values()
        ]

    # -- kernel lifecycle -----------------------------------------------------------------

    def start(self, event_logger: Any, loop: asyncio.AbstractEventLoop) -> None:
        """Watch running kernels, hook the kernel manager, and close what a crash left open."""
        self._event_logger = event_logger
        self._loop = loop
        event_logger.add_listener(schema_id=KERNEL_ACTIONS_SCHEMA, listener=self._on_kernel_event)
        kernels = self._kernels
        self._originals = {name: getattr(kernels, name) for name in self.WRAPPED}
        original = self._originals

        # The server starts watching a kernel's activity once its process is up, before the
        # start request is answered: subscribing then gives the subscription the most time. Its
        # activity stream is the one the watcher reads (see IOPubSubscription), so when the
        # server replaces it (a restart on new ports), the watcher follows.
        def start_watching_activity(kernel_id: str) -> None:
            original["start_watching_activity"](kernel_id)
            watch = self._watches.get(kernel_id)
            if watch is None:
                self.watch(kernel_id)
            elif watch.subscription is None or not watch.subscription.follows(
                getattr(watch.manager, "_activity_stream", None)
            ):
                watch.subscribe()  # subscribed earlier (the start event can come first) or to a stream now closed

        async def start_kernel(*args: Any, **kwargs: Any) -> str:
            kernel_id: str = await original["start_kernel"](*args, **self._launch_options(kwargs))
            await self.confirm(kernel_id)  # no client learns of the kernel before we hear it
            return kernel_id

        async def restart_kernel(kernel_id: str, *args: Any, **kwargs: Any) -> Any:
            self._stopping(kernel_id, "kernel-restart")
            try:
                result = await original["restart_kernel"](kernel_id, *args, **kwargs)
            finally:
                self._stopped(kernel_id, "kernel-restart", keep=True)
            await self.confirm(kernel_id)
            return result

        async def shutdown_kernel(kernel_id: str, *args: Any, **kwargs: Any) -> Any:
            reason = "server-shutdown" if self._server_stopping else "kernel-shutdown"
            self._stopping(kernel_id, reason)
            try:
                return await original["shutdown_kernel"](kernel_id, *args, **kwargs)
            finally:
                self._stopped(kernel_id, reason, keep=False)

        async def shutdown_all(*args: Any, **kwargs: Any) -> Any:
            self._server_stopping = True  # only the server's own clean-up shuts every kernel down
            for kernel_id in list(self._watches):
                self._stopping(kernel_id, "server-shutdown")
            try:
                return await original["shutdown_all"](*args, **kwargs)
            finally:
                for kernel_id in list(self._watches):
                    self._stopped(kernel_id, "server-shutdown", keep=False)

        kernels.start_watching_activity = start_watching_activity
        kernels.start_kernel = start_kernel
        kernels.restart_kernel = restart_kernel
        kernels.shutdown_kernel = shutdown_kernel
        kernels.shutdown_all = shutdown_all
        for kernel_id in kernels.list_kernel_ids():
            self.watch(kernel_id)
        self._recorder.start(loop)
        self._recorder.close_crashed(self._server, _server_alive)
        if self._checkpoint_s > 0:
            self._checkpoints = loop.call_later(self._checkpoint_s, self._checkpoint)

    def watch(self, kernel_id: str) -> bool:
        """Subscribe to a kernel's IOPub; False when the server does not list the kernel (yet)."""
        if kernel_id in self._watches:
            return True
        if kernel_id not in self._kernels.list_kernel_ids():
            return False
        try:
            manager = self._kernels.get_kernel(kernel_id)
            watch = KernelWatch(kernel_id, manager, self._on_iopub, self._process_exited)
        except Exception as err:  # a kernel that vanished or cannot be reached must not break the server
            self._log.warning("jupyterlab-carbon: cannot watch kernel %s: %s", kernel_id, err)
            return False
        watch.last_edge = self._edge(watch.tree, False)
        manager.add_restart_callback(functools.partial(self._kernel_died, kernel_id, "kernel-crash"), "restart")
        manager.add_restart_callback(functools.partial(self._kernel_died, kernel_id, "kernel-died"), "dead")
        self._watches[kernel_id] = watch
        return True

    async def confirm(self, kernel_id: str) -> None:
        """Wait until the kernel's messages provably reach the watcher (see IOPubSubscription)."""
        if not self.watch(kernel_id):
            return
        subscription = self._watches[kernel_id].subscription
        if subscription is not None and not await subscription.confirm():
            self._log.warning(
                "jupyterlab-carbon: kernel %s never answered on IOPub; a cell sent at once may be "
                "recorded late (flagged late-start)",
                kernel_id,
            )

    def _stopping(self, kernel_id: str, reason: str) -> None:
        watch = self._watches.get(kernel_id)
        if watch is not None and watch.stopping is None:
            watch.stopping = reason

    def _stopped(self, kernel_id: str, reason: str, keep: bool) -> None:
        """After a restart or shutdown: what was still running ended when the kernel died."""
        watch = self._watches.get(kernel_id) if keep else self._watches.pop(kernel_id, None)
        if watch is None:
            return
        self._interrupt_pending(watch, reason)
        watch.stopping = None
        if keep:
            self._reconnect(watch)
        else:
            watch.close()

    def _reconnect(self, watch: KernelWatch) -> None:
        """After a restart: a new subscription, process tree and baseline edge."""
        watch.connect()
        watch.last_edge = self._edge(watch.tree, False)

    def _kernel_died(self, kernel_id: str, reason: str) -> None:
        """The kernel restarter found the process dead (it restarts it next, or gives up)."""
        watch = self._watches.get(kernel_id)
        if watch is None:
            return
        self._interrupt_pending(watch, reason)
        watch.crashed = True
        if reason == "kernel-died":
            self._watches.pop(kernel_id, None)
            watch.close()

    def _process_exited(self, kernel_id: str) -> None:
        """A kernel's process exited. A restart or shutdown under way closes what ran with its
        own reason; otherwise, what still runs after EXIT_GRACE_S died with the process, whether
        or not a restarter (which notices within 3 s, if the server has one) brings it back."""
        if self._loop is not None:
            self._loop.call_later(EXIT_GRACE_S, self._crashed_unless_explained, kernel_id)

    def _crashed_unless_explained(self, kernel_id: str) -> None:
        watch = self._watches.get(kernel_id)
        if watch is None or watch.stopping is not None or watch.died_at() is None:
            return  # shut down, being restarted, or already watching a new process
        self._interrupt_pending(watch, "kernel-crash")

    async def _on_kernel_event(self, logger: Any, schema_id: str, data: dict[str, Any]) -> None:
        """The server's kernel_actions events: kernels started or restarted by other paths."""
        kernel_id, action = data.get("kernel_id"), data.get("action")
        if not kernel_id or data.get("status") != "success":
            return
        if action in ("start", "restart"):
            watch = self._watches.get(kernel_id)
            if watch is not None and action == "restart" and watch.crashed:
                # An automatic restart after a crash: the old subscription is to a dead process.
                watch.crashed = False
                self._reconnect(watch)
                await self.confirm(kernel_id)
                return
            for _ in range(500):  # the start event can precede the kernel's listing
                if self.watch(kernel_id):
                    return
                await asyncio.sleep(0.01)

    def _interrupt_pending(self, watch: KernelWatch, reason: str) -> None:
        """Executions cut short by a restart, shutdown or crash end when the kernel died."""
        ended = min(time.time(), watch.died_at() or float("inf"))
        for pending in list(watch.pending.values()):
            pending.status = "interrupted"
            pending.flags.extend(["interrupted", reason])
            self._finish(watch, pending, max(ended, pending.started_at))
        watch.pending.clear()

    # -- IOPub ----------------------------------------------------------------------------

    def _on_iopub(self, kernel_id: str, event: IOPubEvent) -> None:
        self._recorder.traffic()
        watch = self._watches.get(kernel_id)
        if watch is None or event.parent_type != "execute_request" or event.parent_id is None:
            return
        msg_id, content = event.parent_id, event.content or {}
        kind = event.msg_type
        state = content.get("execution_state") if kind == "status" else None
        if msg_id in watch.finished:
            if state != "busy":
                return  # a message after the idle (or a repeated idle): the run is recorded
            # A kernel says busy once per request: a client reused the msg_id for a new execution.
            del watch.finished[msg_id]
        if kind == "status":
            if state == "busy" and msg_id not in watch.pending:
                self._close_idle_missed(watch, event)
                self._begin(watch, msg_id, event.date, subshell=event.parent_subshell)
            elif state == "idle":
                ended = watch.pending.pop(msg_id, None) or self._recover(watch, event)
                if ended.code is None and "no-input" not in ended.flags:
                    # ipykernel broadcasts the code of every execution but silent ones and those
                    # it aborts (queued behind an error): which of the two, only the reply says.
                    ended.flags.append("no-input")
                self._finish(watch, ended, event.date)
            return
        pending = watch.pending.get(msg_id)
        if pending is None:
            # The busy message was missed: the input's own timestamp follows busy by microseconds.
            self._close_idle_missed(watch, event)
            pending = self._begin(watch, msg_id, event.date, late=True, subshell=event.parent_subshell)
        pending.last_seen = event.date
        if kind == "execute_input":
            code, count = content.get("code"), content.get("execution_count")
            # A raw ZMQ client can send any JSON as code: the kernel fails it, the run stays.
            pending.code = code if isinstance(code, str) else None
            pending.execution_count = count if isinstance(count, int) and not isinstance(count, bool) else None
        elif kind == "error":
            interrupted = content.get("ename") == "KeyboardInterrupt"
            pending.status = "interrupted" if interrupted else "error"
            pending.flags.append("interrupted" if interrupted else "errored")
        elif kind == "comm_msg":
            self._annotate(watch, pending, content)

    def _annotate(self, watch: KernelWatch, pending: PendingExecution, content: dict[str, Any]) -> None:
        """Apply what the kernel's %%carbon magic or run API attached to this execution."""
        data = content.get("data")
        try:
            update = checked_update(data.get("carbon") if isinstance(data, dict) else None)
            if pending.notes is not None and len(pending.notes.windows) + len(update.get("windows", ())) > MAX_WINDOWS:
                raise ValueError(f"a run keeps at most {MAX_WINDOWS:,} windows")
        except ValueError as err:
            self._log.warning("jupyterlab-carbon: kernel %s sent an annotation not kept: %s", watch.kernel_id, err)
            return
        if update.get("status") == "error" and pending.status == "ok":
            pending.status = "error"  # a failure the kernel told only in its reply
            pending.flags.append("errored")
        if pending.notes is None:
            pending.notes = RunNotes(msg_id=pending.msg_id)
        pending.notes.merge(update)
        if "budget" in update and pending.budget_task is None:
            self._guard_budget(watch, pending, update["budget"])

    def _guard_budget(self, watch: KernelWatch, pending: PendingExecution, data: dict[str, Any]) -> None:
        try:
            budget = Budget.from_annotation(data)
        except ValueError as err:
            self._log.warning("jupyterlab-carbon: kernel %s sent a budget not checked: %s", watch.kernel_id, err)
            return
        check = BudgetCheck(watch.kernel_id, pending.msg_id, pending.started_at, pending.start, watch.tree, budget)

        def exceeded(info: dict[str, Any]) -> None:
            if BUDGET_FLAG not in pending.flags:
                pending.flags.append(BUDGET_FLAG)
            notes = pending.notes or RunNotes(msg_id=pending.msg_id)
            notes.merge({"budget": {**notes.extra.get("budget", {}), **info}})
            pending.notes = notes
            for listener in self._budget_listeners:
                listener(watch.kernel_id, pending.msg_id, notes.extra["budget"])

        pending.budget_task = self._budgets.start(check, exceeded)

    async def _interrupt(self, kernel_id: str) -> None:
        try:
            await ensure_async(self._kernels.interrupt_kernel(kernel_id))
        except Exception as err:  # the kernel went away meanwhile
            self._log.warning("jupyterlab-carbon: could not interrupt kernel %s over its budget: %s", kernel_id, err)

    def _close_idle_missed(self, watch: KernelWatch, start: IOPubEvent) -> None:
        """A kernel runs one execution at a time per subshell: a new one began, so an earlier one
        still open lost its idle (dropped by ZeroMQ under a flood of outputs). It ended at its
        last message seen, never later than this start."""
        for msg_id, pending in list(watch.pending.items()):
            if pending.subshell == start.parent_subshell:
                del watch.pending[msg_id]
                pending.flags.append("idle-missed")
                self._finish(watch, pending, min(max(pending.last_seen, pending.started_at), start.date))

    def _begin(
        self, watch: KernelWatch, msg_id: str, started_at: float, late: bool = False, subshell: str | None = None
    ) -> PendingExecution:
        edge = self._edge(watch.tree, False)
        pending = PendingExecution(
            uuid.uuid4().hex, msg_id, started_at, edge, flags=["late-start"] if late else [], subshell=subshell
        )
        pending.last_seen = started_at
        watch.pending[msg_id] = pending
        watch.last_edge = edge
        self._refresh_session(watch)
        if self._loop is not None:
            self._loop.call_later(STORE_RUNNING_AFTER_S, self._store_start, watch, pending)
        for listener in self._start_listeners:
            listener(watch.kernel_id, msg_id, started_at)
        return pending

    def _recover(self, watch: KernelWatch, idle: IOPubEvent) -> PendingExecution:
        """An idle whose busy and input were both missed: the request's own time is the best start."""
        started_at = idle.date
        if idle.parent_date:
            try:
                requested = timestamp(idle.parent_date)
            except ValueError:
                requested = idle.date
            if idle.date - 86400 < requested <= idle.date:
                started_at = requested
        start = watch.last_edge or self._edge(watch.tree, False)
        pending = PendingExecution(uuid.uuid4().hex, idle.parent_id or "", started_at, start, flags=["late-start"])
        self._log.info("jupyterlab-carbon: execution %s seen only at its end; recorded late-start", pending.msg_id)
        return pending

    def _edge(self, tree: ProcessTree, refresh: bool) -> Future[Edge]:
        """Read an edge on the event loop when the meters are files read in microseconds
        (cheaper than handing the read to a thread that then contends for the GIL with the
        loop), else on the edge thread, which keeps the reads in order. On the loop, the read
        comes right after the callbacks already due, so that the kernel's message that caused
        it reaches the clients' WebSockets first."""
        if not self._inline_edges or self._loop is None:
            return self._edges.submit(self._read_edge, tree, refresh)
        edge: Future[Edge] = Future()

        def read() -> None:
            try:
                edge.set_result(self._read_edge(tree, refresh))
            except Exception as err:  # the recorder reports it with the execution's record
                edge.set_exception(err)

        self._loop.call_soon(read)
        return edge

    def _read_edge(self, tree: ProcessTree, refresh: bool) -> Edge:
        """At a cell's start or end: read the meters now, and the CPU time of kernel and node."""
        return read_edge(self._sampler, tree, refresh)

    # -- recording ------------------------------------------------------------------------

    def _checkpoint(self) -> None:
        """Measure every execution stored as running for checkpoint_s or more, up to now, into
        its row: a server killed mid-cell then leaves that much of the window measured."""
        now = time.time()
        for watch in self._watches.values():
            for pending in watch.pending.values():
                if pending.stored and now - pending.started_at >= self._checkpoint_s:
                    self._store_progress(watch, pending, now)
        if self._loop is not None:
            self._checkpoints = self._loop.call_later(self._checkpoint_s, self._checkpoint)

    def _store_progress(self, watch: KernelWatch, pending: PendingExecution, at: float) -> None:
        edge = self._edge(watch.tree, True)
        self._recorder.expect()
        progress = Progress(
            self._record_base(watch, pending), pending.code, pending.execution_count, list(pending.flags),
            at, pending.start, edge,
        )  # fmt: skip
        self._recorder.progress(progress)

    def _refresh_session(self, watch: KernelWatch) -> None:
        """Look the kernel's notebook up at most every SESSION_TTL_S (not once per cell)."""
        fresh = watch.session is not None and time.monotonic() - watch.session.fetched_at < SESSION_TTL_S
        if fresh or (watch.session_refresh is not None and not watch.session_refresh.done()):
            return
        watch.session_refresh = asyncio.ensure_future(self._look_up_session(watch))

    async def _look_up_session(self, watch: KernelWatch) -> None:
        session_id = path = None
        try:
            model = await self._sessions.get_session(kernel_id=watch.kernel_id)
            session_id, path = model.get("id"), model.get("path")
        except Exception as err:  # no session: a kernel started on its own (nbclient, a console)
            self._log.debug("jupyterlab-carbon: no session for kernel %s: %s", watch.kernel_id, err)
        watch.session = SessionInfo(session_id, path, time.monotonic())

    def _after_session(self, watch: KernelWatch, then: Callable[[], None]) -> None:
        refresh = watch.session_refresh
        if refresh is None or refresh.done():
            then()
            return
        refresh.add_done_callback(lambda _: then())

    def _record_base(self, watch: KernelWatch, pending: PendingExecution) -> dict[str, Any]:
        session = watch.session or SessionInfo(None, None, 0.0)
        return {
            "run_id": pending.run_id,
            "kernel_id": watch.kernel_id,
            "msg_id": pending.msg_id,
            "started_at": pending.started_at,
            "session_id": session.session_id,
            "notebook_path": session.path,
            "kernel_name": getattr(watch.manager, "kernel_name", None),
            "server": self._server,
            "notes": pending.notes,
        }

    def _store_start(self, watch: KernelWatch, pending: PendingExecution) -> None:
        """Store the execution as running, so that a server crash leaves its trace (once, and
        not after it ended)."""
        if pending.stored or watch.pending.get(pending.msg_id) is not pending:
            return
        pending.stored = True
        self._recorder.expect()

        def store() -> None:
            self._recorder.started(
                self._record_base(watch, pending), pending.code, pending.execution_count, list(pending.flags)
            )

        self._after_session(watch, store)

    def _finish(self, watch: KernelWatch, pending: PendingExecution, ended_at: float) -> None:
        if pending.budget_task is not None:
            pending.budget_task.cancel()
        end = self._edge(watch.tree, True)
        watch.last_edge = end
        self._recorder.expect()
        watch.remember_finished(pending.msg_id)
        if watch.stopping is not None and pending.status != "ok" and watch.stopping not in pending.flags:
            # Cut short by the restart or shutdown under way (one that ended well just ended first).
            pending.flags.append(watch.stopping)

        def submit() -> None:
            self._recorder.finished(
                Finished(
                    base=self._record_base(watch, pending),
                    code=pending.code,
                    execution_count=pending.execution_count,
                    status=pending.status,
                    flags=list(pending.flags),
                    ended_at=ended_at,
                    start=pending.start,
                    end=end,
                )
            )

        self._after_session(watch, submit)

    def _announce(self, record: RunRecord) -> None:
        """On the event loop, once the record is committed: tell the listeners."""
        for listener in self._run_listeners:
            result = listener(record)
            if asyncio.iscoroutine(result):
                task = asyncio.ensure_future(result)
                self._listener_tasks.add(task)  # held until done, or the loop may drop it
                task.add_done_callback(self._listener_tasks.discard)

    async def drain(self) -> None:
        """Wait until every execution that ended is stored (tests, and shutdown)."""
        await self._recorder.drain()

    async def close(self) -> None:
        """Undo every hook, close what is still running as ``server-shutdown``, store it all."""
        if self._checkpoints is not None:
            self._checkpoints.cancel()
            self._checkpoints = None
        if self._event_logger is not None:
            self._event_logger.remove_listener(schema_id=KERNEL_ACTIONS_SCHEMA, listener=self._on_kernel_event)
            self._event_logger = None
        for name, original in self._originals.items():
            setattr(self._kernels, name, original)
        self._originals = {}
        for kernel_id in list(self._watches):
            self._stopping(kernel_id, "server-shutdown")
            self._stopped(kernel_id, "server-shutdown", keep=False)
        await self._recorder.drain()
        self._recorder.stop()
        self._edges.shutdown(wait=True)


def _this_server() -> dict[str, Any]:
    """Who stores running executions: a crash is told from a live server by this identity."""
    process = psutil.Process()
    return {"pid": process.pid, "started": process.create_time()}


def _server_alive(server: dict[str, Any]) -> bool:
    try:
        return bool(abs(psutil.Process(int(server["pid"])).create_time() - float(server["started"])) < 1e-3)
    except (psutil.Error, KeyError, TypeError, ValueError):
        return False
