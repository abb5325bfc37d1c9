"""A kernel's process tree and its CPU time, read cheaply at each cell's edges."""

from __future__ import annotations

import math
import os
import time

import psutil

from .reread import RereadFile


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


# Linux's count of the PIDs handed out on this node is the last field of this file.
LOADAVG = "/proc/loadavg"


_loadavg = RereadFile(LOADAVG, 128)


def newest_pid() -> int | None:
    """The PID the node handed out last (to a process or a thread), or None where unknown."""
    try:
        return int(_loadavg.read().split()[-1])
    except (OSError, ValueError, IndexError):
        return None


CLOCK_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


class ProcessGone(Exception):
    """The process ended (or cannot be read any more)."""


class _ProcessTimes:
    """A process's CPU seconds, its reaped children's included: from /proc/<pid>/stat through a
    kept descriptor (psutil parses the same fields from the same file, at ~40 µs a call instead
    of ~5), or from psutil where there is no /proc."""

    def __init__(self, pid: int) -> None:
        self._stat: RereadFile | None = None
        self._process: psutil.Process | None = None
        try:
            self._stat = RereadFile(f"/proc/{pid}/stat", 1024).open()
        except FileNotFoundError:
            if os.path.isdir("/proc/self"):
                raise ProcessGone(pid) from None
            self._process = psutil.Process(pid)  # no /proc: another system
        except OSError as err:
            raise ProcessGone(pid) from err

    def cpu_s(self) -> float:
        if self._stat is None:
            assert self._process is not None
            try:
                times = self._process.cpu_times()
            except psutil.Error as err:
                raise ProcessGone() from err
            return float(times.user + times.system + times.children_user + times.children_system)
        try:
            stat = self._stat.read()
        except OSError as err:
            raise ProcessGone() from err
        # After the command name, which may hold spaces and parentheses: the state (field 3), then
        # utime, stime, cutime and cstime are fields 14-17 (proc(5)), in clock ticks.
        fields = stat[stat.rindex(b")") + 2 :].split()
        return sum(int(value) for value in fields[11:15]) / CLOCK_TICKS


class ProcessTree:
    """A kernel's processes; the list of descendants is refreshed at the end of each execution."""

    def __init__(self, pid: int | None) -> None:
        self.pid = pid
        self._processes: dict[int, _ProcessTimes] = {}
        self._walked_after: int | None = None  # newest_pid() before the last walk
        self.refresh()

    def refresh(self) -> None:
        if self.pid is None:
            return
        # Walking the tree reads a file per thread of every process in it, at each cell's end on
        # the server's event loop. When no PID was handed out since the last walk, no process can
        # have joined the tree, so the walk is skipped (one small read instead).
        newest = newest_pid()
        if newest is not None and newest == self._walked_after:
            return
        self._walked_after = newest
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
                self._processes[pid] = _ProcessTimes(pid)
            except (ProcessGone, psutil.Error):
                continue
        for pid in set(self._processes) - pids:
            del self._processes[pid]

    def cpu_s(self) -> tuple[frozenset[int], float]:
        """CPU seconds of the known processes, their reaped children included."""
        total = 0.0
        alive: list[int] = []
        own = os.getpid()
        for pid, process in list(self._processes.items()):
            if pid == own:  # the measuring process itself (the in-kernel monitor): a syscall, not a /proc read
                alive.append(pid)
                mine = os.times()
                total += mine.user + mine.system + mine.children_user + mine.children_system
                continue
            try:
                total += process.cpu_s()
            except ProcessGone:
                del self._processes[pid]  # exited: its time is in its parent's children_* now
                continue
            alive.append(pid)
        return frozenset(alive), total


# An edge reads the node's CPU times twice within a millisecond (the modeled meter, then the
# attribution): one read of /proc/stat serves both. Its counts are in 10 ms ticks anyway.
NODE_TIMES_REUSE_S = 0.002
_node_times: tuple[float, float, float] = (-math.inf, 0.0, 0.0)  # (monotonic read time, busy, total)


def node_busy_and_total() -> tuple[float, float]:
    """Busy and total CPU seconds of the node, summed over all CPUs (from /proc/stat)."""
    global _node_times
    read_at, busy, total = _node_times
    now = time.monotonic()
    if now - read_at > NODE_TIMES_REUSE_S:
        busy, total = _node_times_now()
        _node_times = (now, busy, total)
    return busy, total


_proc_stat = RereadFile("/proc/stat", 512)


def _node_times_now() -> tuple[float, float]:
    """(busy, total) CPU seconds of the node: the first line of /proc/stat (user nice system idle
    iowait irq softirq steal, in clock ticks; guest time is within user's), else psutil's."""
    try:
        line = _proc_stat.read().split(b"\n", 1)[0].split()
        if line[0] == b"cpu":
            ticks = [int(value) for value in line[1:9]]
            total = sum(ticks) / CLOCK_TICKS
            return total - (ticks[3] + ticks[4]) / CLOCK_TICKS, total
    except (OSError, ValueError, IndexError):
        pass
    times = psutil.cpu_times()
    total = float(times.user + times.system + times.idle) + sum(
        getattr(times, name, 0.0) for name in ("nice", "iowait", "irq", "softirq", "steal")
    )
    return total - times.idle - getattr(times, "iowait", 0.0), total


def node_busy_cpu_s() -> float:
    return node_busy_and_total()[0]
