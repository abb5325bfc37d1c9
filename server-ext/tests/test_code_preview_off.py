"""``c.CarbonConfig.store_code_preview = False`` keeps every line of code out of the ledger."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest

from .conftest import server_config
from .fakesysfs import FakePowercap
from .test_executions import KernelChannel, runs_for, start_kernel

SECRET = "token = 'do-not-keep-me'"


@pytest.fixture
def jp_server_config(tmp_path: Path, live_powercap: FakePowercap) -> dict[str, Any]:
    ledger = f"sqlite:///{tmp_path / 'ledger.sqlite'}"
    return server_config(tmp_path, live_powercap, store_code_preview=False, ledger_url=ledger)


async def test_no_code_in_the_ledger(jp_fetch: Any, jp_ws_fetch: Any, tmp_path: Path) -> None:
    kernel_id = await start_kernel(jp_fetch)
    channel = await KernelChannel.open(jp_ws_fetch, kernel_id)
    msg_id, _, _ = await channel.run(SECRET)
    [run] = await runs_for(jp_fetch, 1, kernel_id=kernel_id)
    assert run["msg_id"] == msg_id and run["code_preview"] is None
    assert len(run["code_hash"]) == 64  # the hash still tells two runs of the same code apart
    with sqlite3.connect(tmp_path / "ledger.sqlite") as db:
        dump = "\n".join(db.iterdump())
    assert "do-not-keep-me" not in dump
