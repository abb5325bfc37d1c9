"""One kernel's IOPub subscription, decoded lean and confirmed before the kernel is reported up.

Every IOPub message of a kernel reaches the watcher, but it needs only a few: ``status``,
``execute_input`` and ``error`` whose parent is an ``execute_request``. For the rest only the
small header frames are parsed, so a cell printing megabytes costs no decoding and no memory here.

The messages come from the socket the server already holds on each kernel's IOPub to track its
activity (``start_watching_activity``): the watcher's handler runs after the server's on the
frames it received, so a message costs one receive, not two. Where that stream cannot be shared
(another server version), the watcher opens its own socket, receiving frames without copying.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import os
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import zmq

from ..kernel.channel import METADATA_KEY

DELIMITER = b"<IDS|MSG>"
# Messages whose content the watcher reads (when their parent is an execute_request).
CONTENT_NEEDED = frozenset({"status", "execute_input", "error"})
WELCOME = "iopub_welcome"  # JEP 65: an XPUB kernel greets each new subscription
# A kernel's annotations (%%carbon, the run API) are comm_msgs marked in their metadata frame,
# read only when the marker is there, so widget traffic costs no parsing (see kernel/channel.py).
ANNOTATION = "comm_msg"
ANNOTATION_MARKER = METADATA_KEY.encode()
# How long a kernel gets to greet the subscription before it is probed with kernel_info requests.
WELCOME_WAIT_S = 0.5
PROBE_EVERY_S = 0.25


def timestamp(value: Any) -> float:
    """Epoch seconds of a message header's ``date`` (ISO 8601, from the kernel's clock)."""
    if isinstance(value, datetime):
        return value.timestamp()
    return datetime.fromisoformat(str(value)).timestamp()


@dataclass(frozen=True, slots=True)
class IOPubEvent:
    """What the watcher needs of one IOPub message."""

    msg_type: str
    date: float  # the kernel's timestamp
    parent_id: str | None
    parent_type: str | None
    parent_date: str | None  # the request's own timestamp (the client's clock)
    parent_subshell: str | None  # JEP 91: executions on different subshells may overlap
    content: dict[str, Any] | None  # CONTENT_NEEDED and annotations under an execute_request; welcomes


def _bytes(frame: Any) -> bytes:
    return frame.bytes if isinstance(frame, zmq.Frame) else bytes(frame)


def decode(frames: Sequence[Any], session: Any, verified: bool = False) -> IOPubEvent | None:
    """The event in a multipart IOPub message, or None when the watcher has no use for it.

    Frames: routing identities, the delimiter, then signature, header, parent header,
    metadata, content and buffers. Content is parsed, and the signature checked, only for the
    messages the watcher acts on; ``verified``: the caller has checked the signature already.
    """
    delimiter = next(
        (i for i, frame in enumerate(frames) if len(frame) == len(DELIMITER) and _bytes(frame) == DELIMITER), None
    )
    if delimiter is None:
        return None
    parts = frames[delimiter + 1 :]
    if len(parts) < 5:
        return None
    try:
        header = json.loads(_bytes(parts[1]))
        parent = json.loads(_bytes(parts[2])) or {}
        msg_type = str(header["msg_type"])
        date = timestamp(header["date"])
    except (ValueError, KeyError, TypeError):
        return None
    parent_type = parent.get("msg_type")
    wanted = msg_type == WELCOME or (
        parent_type == "execute_request"
        and (
            msg_type in CONTENT_NEEDED
            or (msg_type == ANNOTATION and ANNOTATION_MARKER in _bytes(parts[3]) and _is_annotation(parts[3]))
        )
    )
    content: dict[str, Any] | None = None
    if wanted or msg_type == "status":
        signed = [_bytes(part) for part in parts[1:5]]
        checked = verified or session.auth is None or hmac.compare_digest(session.sign(signed), _bytes(parts[0]))
        if not checked:
            return None  # not from this kernel
        try:
            content = json.loads(signed[3])
        except ValueError:
            return None
    return IOPubEvent(
        msg_type, date, parent.get("msg_id"), parent_type, parent.get("date"), parent.get("subshell_id"), content
    )


def _is_annotation(metadata_frame: Any) -> bool:
    try:
        metadata = json.loads(_bytes(metadata_frame))
    except ValueError:
        return False
    return isinstance(metadata, dict) and metadata.get(METADATA_KEY) == 1


class IOPubSubscription:
    """The watcher's subscription to a kernel's IOPub: the server's activity stream, or its own."""

    def __init__(self, manager: Any, on_event: Callable[[IOPubEvent], None]) -> None:
        self.manager = manager
        self._on_event = on_event
        self._topic = f"jupyterlab-carbon-{uuid.uuid4().hex}"
        self._probes: set[str] = set()
        self._confirmed: asyncio.Future[None] | None = None
        self._server_callback: Callable[[list[Any]], None] | None = None
        stream = getattr(manager, "_activity_stream", None)
        server_callback = getattr(stream, "_recv_callback", None)
        if stream is not None and callable(server_callback) and not stream.closed():
            self._stream: Any = stream
            self._server_callback = server_callback

            def both(frames: list[Any]) -> None:
                server_callback(frames)
                self._receive(frames)

            stream.on_recv(both)
        else:
            # IOLoopKernelManager.connect_iopub gives a ZMQStream subscribed to everything.
            self._stream = manager.connect_iopub()
            self._stream.on_recv(self._receive, copy=False)

    @property
    def shared(self) -> bool:
        """True while this subscription reads the server's own activity stream."""
        return self._server_callback is not None

    def follows(self, stream: Any) -> bool:
        return self._stream is stream

    def _receive(self, frames: list[Any]) -> None:
        # On the server's stream, its handler ran first and deserialised the message, which
        # raises on a bad (or replayed) signature before this is called: no second check.
        event = decode(frames, self.manager.session, verified=self.shared)
        if event is None:
            return
        confirmed = self._confirmed
        if (
            confirmed is not None
            and not confirmed.done()
            and (
                (event.msg_type == WELCOME and (event.content or {}).get("subscription") == self._topic)
                or event.parent_id in self._probes
            )
        ):
            confirmed.set_result(None)
        if event.msg_type != WELCOME and event.parent_id not in self._probes:
            self._on_event(event)

    async def confirm(self, timeout_s: float = 10.0) -> bool:
        """Wait until this subscription provably receives the kernel's messages.

        A SUB socket's subscription reaches the kernel some time after it connects; messages
        published before are lost. A kernel with an XPUB IOPub (JEP 65, ipykernel 7) greets each
        new subscription, so a topic of our own is subscribed to and its welcome awaited;
        other kernels are sent kernel_info requests until the status of one arrives here.
        """
        loop = asyncio.get_running_loop()
        confirmed: asyncio.Future[None] = loop.create_future()
        self._confirmed = confirmed
        socket = self._stream.socket
        deadline = time.monotonic() + timeout_s
        try:
            socket.setsockopt(zmq.SUBSCRIBE, self._topic.encode())
            try:
                await asyncio.wait_for(asyncio.shield(confirmed), WELCOME_WAIT_S)
                return True
            except asyncio.TimeoutError:  # not the builtin TimeoutError before Python 3.11
                pass
            shell = self.manager.connect_shell()
            try:
                session = self.manager.session
                while not confirmed.done() and time.monotonic() < deadline:
                    request = session.msg("kernel_info_request")
                    self._probes.add(request["header"]["msg_id"])
                    session.send(shell, request)
                    try:
                        await asyncio.wait_for(asyncio.shield(confirmed), PROBE_EVERY_S)
                    except asyncio.TimeoutError:
                        continue
            finally:
                shell.close()
            return confirmed.done() and not confirmed.cancelled()
        except (zmq.ZMQError, OSError):
            return False  # the kernel went away meanwhile
        except asyncio.CancelledError:
            if confirmed.cancelled():
                return False  # closed meanwhile: the kernel died or was shut down while starting
            raise  # the caller was cancelled
        finally:
            if not socket.closed:
                socket.setsockopt(zmq.UNSUBSCRIBE, self._topic.encode())

    def close(self) -> None:
        if self._confirmed is not None and not self._confirmed.done():
            self._confirmed.cancel()
        if self._server_callback is None:
            self._stream.close()
        elif not self._stream.closed():
            self._stream.on_recv(self._server_callback)  # the server's stream, as it was


class ProcessExitWatch:
    """Notes the moment a kernel process exits (Linux pidfd), so a crash's window ends there,
    and calls ``on_exit`` then."""

    def __init__(self, pid: int | None, on_exit: Callable[[], None] | None = None) -> None:
        self.exited_at: float | None = None
        self._on_exit = on_exit
        self._fd: int | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        if pid is None or not hasattr(os, "pidfd_open"):
            return
        try:
            self._loop = asyncio.get_running_loop()
            self._fd = os.pidfd_open(pid)
            self._loop.add_reader(self._fd, self._exited)
        except (OSError, RuntimeError, NotImplementedError):
            # No pidfd (not Linux, or Linux before 5.3) or no running loop: a crash's window then
            # ends when the kernel restarter notices the death (its poll runs every 3 s).
            self.close()

    def _exited(self) -> None:
        if self.exited_at is None:
            self.exited_at = time.time()
        self.close()
        if self._on_exit is not None:
            self._on_exit()

    def close(self) -> None:
        if self._fd is not None:
            if self._loop is not None and not self._loop.is_closed():
                self._loop.remove_reader(self._fd)
            os.close(self._fd)
            self._fd = None
