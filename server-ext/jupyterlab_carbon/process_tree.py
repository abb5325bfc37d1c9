"""A kernel's process tree and its CPU time, read cheaply at each cell's edges."""

from __future__ import annotations

import math
import os
import time

import psutil


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


def newest_pid() -> int | None:
    """The PID the node handed out last (to a process or a thread), or None where unknown."""
    try:
        fd = os.open(LOADAVG, os.O_RDONLY)
        try:
            return int(os.read(fd, 128).split()[-1])
        finally:
            os.close(fd)
    except (OSError, ValueError, IndexError):
        return None


class ProcessTree:
    """A kernel's processes; the list of descendants is refreshed at the end of each execution."""

    def __init__(self, pid: int | None) -> None:
        self.pid = pid
        self._processes: dict[int, psutil.Process] = {}
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
                self._processes[pid] = psutil.Process(pid)
            except psutil.Error:
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
                times = process.cpu_times()
            except psutil.Error:
                del self._processes[pid]  # exited: its time is in its parent's children_* now
                continue
            alive.append(pid)
            total += times.user + times.system + times.children_user + times.children_system
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
        times = psutil.cpu_times()
        total = float(sum(times))
        busy = total - times.idle - getattr(times, "iowait", 0.0)
        _node_times = (now, busy, total)
    return busy, total


def node_busy_cpu_s() -> float:
    return node_busy_and_total()[0]
