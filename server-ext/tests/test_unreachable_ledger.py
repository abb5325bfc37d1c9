"""A ledger the extension cannot open stops it before any thread starts, with the reason logged."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest

from .conftest import server_config
from .fakesysfs import FakePowercap


@pytest.fixture
def jp_server_config(tmp_path: Path, live_powercap: FakePowercap) -> dict[str, Any]:
    blocked = tmp_path / "read-only"
    blocked.mkdir()
    blocked.chmod(0o500)  # root ignores modes, so the ledger's directory is also left missing
    return server_config(tmp_path, live_powercap, ledger_url=f"sqlite:///{blocked}/missing/dir/ledger.sqlite")


async def test_an_unreachable_ledger_starts_no_thread(jp_serverapp: Any, jp_fetch: Any) -> None:
    from tornado.httpclient import HTTPClientError

    assert "jupyterlab_carbon" not in jp_serverapp.web_app.settings or not isinstance(
        jp_serverapp.web_app.settings["jupyterlab_carbon"], dict
    )
    # The server's own threads; kernel-side ones (the %%carbon widget's timer) may live in this
    # process from other tests.
    server_threads = {"jupyterlab-carbon-sampler", "jupyterlab-carbon-recorder"}
    names = {thread.name for thread in threading.enumerate()}
    assert not names & server_threads, names
    with pytest.raises(HTTPClientError) as missing:
        await jp_fetch("carbon", "status")
    assert missing.value.code == 404
