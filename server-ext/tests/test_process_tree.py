"""The kernel's process tree: new descendants are found, and the walk is skipped only when none can exist."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator

import pytest

from jupyterlab_carbon import process_tree
from jupyterlab_carbon.process_tree import ProcessTree, newest_pid
from jupyterlab_carbon.reread import RereadFile

linux_only = pytest.mark.skipif(not os.path.exists(process_tree.LOADAVG), reason="needs Linux's /proc/loadavg")


@pytest.fixture
def sleeper() -> Iterator[subprocess.Popen[bytes]]:
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    yield child
    child.kill()
    child.wait()


@linux_only
def test_newest_pid_moves_when_a_process_starts() -> None:
    before = newest_pid()
    subprocess.run([sys.executable, "-c", "pass"], check=True)
    after = newest_pid()
    assert before is not None and after is not None
    assert after != before


@linux_only
def test_a_child_started_after_the_last_walk_is_found(sleeper: subprocess.Popen[bytes]) -> None:
    tree = ProcessTree(os.getpid())
    second = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        tree.refresh()
        pids, _ = tree.cpu_s()
        assert {os.getpid(), sleeper.pid, second.pid} <= pids
    finally:
        second.kill()
        second.wait()


def test_the_walk_is_skipped_only_while_no_pid_was_handed_out(monkeypatch: pytest.MonkeyPatch) -> None:
    walks: list[int] = []
    real_children = process_tree._direct_children

    def counted(pid: int) -> list[int]:
        walks.append(pid)
        return real_children(pid)

    newest: list[int | None] = [1000]
    monkeypatch.setattr(process_tree, "newest_pid", lambda: newest[0])
    monkeypatch.setattr(process_tree, "_direct_children", counted)
    tree = ProcessTree(os.getpid())
    assert len(walks) == 1
    tree.refresh()
    tree.refresh()
    assert len(walks) == 1  # nothing was started on the node: no descendant can be new
    newest[0] = 1001
    tree.refresh()
    assert len(walks) == 2
    newest[0] = None  # unknown (not Linux): always walk
    tree.refresh()
    tree.refresh()
    assert len(walks) == 4


def test_newest_pid_is_none_without_the_file(monkeypatch: pytest.MonkeyPatch, tmp_path: os.PathLike[str]) -> None:
    monkeypatch.setattr(process_tree, "_loadavg", RereadFile(os.path.join(tmp_path, "missing")))
    assert newest_pid() is None
