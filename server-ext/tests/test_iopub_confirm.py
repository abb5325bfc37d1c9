"""A kernel that dies while its IOPub subscription is being confirmed: the start goes on, unconfirmed.

jupyter_client can start a kernel whose ports another process took meanwhile (seen here with many
kernels started at once: "Address already in use"); it dies at once, the watcher closes its
subscription, and the confirmation waiting on it must end quietly instead of failing the server's
POST /api/kernels with a 500.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from jupyterlab_carbon.executions.iopub import IOPubSubscription


class _Socket:
    closed = False

    def setsockopt(self, *args: Any) -> None:
        pass


class _Stream:
    def __init__(self) -> None:
        self.socket = _Socket()
        self._closed = False

    def on_recv(self, *args: Any, **kwargs: Any) -> None:
        pass

    def close(self) -> None:
        self._closed = True

    def closed(self) -> bool:
        return self._closed


class _Session:
    def msg(self, msg_type: str) -> dict[str, Any]:
        return {"header": {"msg_id": f"{msg_type}-1"}}

    def send(self, *args: Any) -> None:
        pass  # a kernel that never answers


class _Manager:
    session = _Session()

    def connect_iopub(self) -> _Stream:
        return _Stream()

    def connect_shell(self) -> _Stream:
        return _Stream()


async def test_a_subscription_closed_while_confirming_ends_the_wait_unconfirmed() -> None:
    subscription = IOPubSubscription(_Manager(), lambda event: None)
    waiting = asyncio.ensure_future(subscription.confirm(timeout_s=5.0))
    await asyncio.sleep(0.05)
    subscription.close()  # what the watcher does when the kernel dies
    assert await asyncio.wait_for(waiting, 1.0) is False


async def test_a_cancelled_caller_is_still_cancelled() -> None:
    subscription = IOPubSubscription(_Manager(), lambda event: None)
    waiting = asyncio.ensure_future(subscription.confirm(timeout_s=5.0))
    await asyncio.sleep(0.05)
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting
    subscription.close()
