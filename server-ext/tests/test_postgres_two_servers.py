"""A team ledger: two Jupyter servers of two users write one PostgreSQL database at the same time.

Each server runs cells on two kernels at once; every execution must be in the ledger exactly
once, recorded by its own server as its own user, and each server shows only its user's runs.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from jupyter_client.blocking.client import BlockingKernelClient

from jupyterlab_carbon.ledger import Ledger, RunQuery

from .fakesysfs import FakePowercap
from .liveserver import LiveServer
from .postgres import drop_database, fresh_database

USERS = ("alice", "bob")
KERNELS_PER_SERVER = 2
CELLS_PER_KERNEL = 25
RECORD_TIMEOUT_S = 60


@pytest.fixture
def team_ledger(postgres_server: str) -> Iterator[str]:
    url = fresh_database(postgres_server)
    try:
        yield url
    finally:
        drop_database(url)


@pytest.fixture
def servers(tmp_path: Path, live_powercap: FakePowercap, team_ledger: str) -> Iterator[list[LiveServer]]:
    started: list[LiveServer] = []
    try:
        for user in USERS:
            server = LiveServer(tmp_path / user, live_powercap.root, ledger_url=team_ledger, user=user)
            started.append(server.start())
        yield started
    finally:
        for server in started:
            server.stop()


def run_cells(client: BlockingKernelClient, start: threading.Barrier) -> list[str]:
    """Queue every cell at once (the kernel runs them in turn); their msg_ids once all replied."""
    start.wait()
    sent = [client.execute(f"x = {i} ** 2") for i in range(CELLS_PER_KERNEL)]
    waiting = set(sent)
    while waiting:
        reply = client.get_shell_msg(timeout=RECORD_TIMEOUT_S)
        assert reply["content"]["status"] == "ok", reply["content"]
        waiting.discard(reply["parent_header"].get("msg_id"))
    return sent


def recorded(server: LiveServer, kernel_id: str, expected: int) -> list[str]:
    """The msg_ids of the kernel's runs as its server lists them, once ``expected`` are there."""
    deadline = time.monotonic() + RECORD_TIMEOUT_S
    while True:
        runs = server.runs(kernel_id=kernel_id, limit="10000")
        if len(runs) >= expected or time.monotonic() > deadline:
            return [run["msg_id"] for run in runs]
        time.sleep(0.2)


def test_two_servers_writing_one_postgresql_ledger_lose_no_run(servers: list[LiveServer], team_ledger: str) -> None:
    kernels = [(server, *server.start_kernel()) for server in servers for _ in range(KERNELS_PER_SERVER)]
    start = threading.Barrier(len(kernels))
    try:
        with ThreadPoolExecutor(len(kernels)) as pool:
            sent = list(pool.map(lambda kernel: run_cells(kernel[2], start), kernels))
        for (server, kernel_id, _), msg_ids in zip(kernels, sent, strict=True):
            assert sorted(recorded(server, kernel_id, len(msg_ids))) == sorted(msg_ids)  # each once
    finally:
        for _, _, client in kernels:
            client.stop_channels()

    per_server = KERNELS_PER_SERVER * CELLS_PER_KERNEL
    for server, user in zip(servers, USERS, strict=True):
        listed = server.runs(limit="10000")
        assert len(listed) == per_server and {run["user"] for run in listed} == {user}  # only its user's
        status, body = server.request("GET", "/carbon/status")
        assert status == 200 and body["ledger"] == {"team_view": False, "user": user, "backend": "postgresql"}
    with Ledger(team_ledger) as ledger:
        for user in USERS:
            assert ledger.search(RunQuery(user=user), limit=1)[0] == per_server
        assert ledger.search(RunQuery(), limit=1)[0] == len(USERS) * per_server
        assert ledger.search(RunQuery(status="running"), limit=1)[0] == 0  # every start got its end
