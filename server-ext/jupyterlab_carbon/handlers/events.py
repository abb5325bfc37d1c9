"""The events WebSocket and the hub that pushes live power and finished runs to every client."""

from __future__ import annotations

import asyncio
from typing import Any, cast

import tornado.web
import tornado.websocket
from jupyter_core.utils import ensure_async
from jupyter_server.auth.decorator import ws_authenticated
from jupyter_server.base.handlers import JupyterHandler

from ..records import RunRecord
from ..sampler import Sampler
from .base import JsonErrors, json_text

# Executions' starts and stored runs are sent at most this long after they happen, together: in
# a burst of short cells one frame carries many, instead of a frame per cell on the event loop
# that relays the kernels' messages. Later than this, a live badge's start would show late.
BATCH_S = 0.05


class EventHub:
    """The open event WebSockets; pushes live power and finished runs to each.

    A WebSocket message is one event object, or an array of events in the order they happened.
    """

    def __init__(self, sampler: Sampler) -> None:
        self._sampler = sampler
        self._sockets: set[EventsHandler] = set()
        self._batch: list[dict[str, Any]] = []
        self._flush_at: asyncio.TimerHandle | None = None

    def add(self, socket_: EventsHandler) -> None:
        self._sockets.add(socket_)

    def discard(self, socket_: EventsHandler) -> None:
        self._sockets.discard(socket_)

    def broadcast(self, message: dict[str, Any]) -> None:
        """Send now, after what is batched (so that every client sees the events in order)."""
        self.flush()
        self._send(json_text(message))

    def batch(self, message: dict[str, Any]) -> None:
        """Send within BATCH_S, with the others batched meanwhile (called on the event loop)."""
        self._batch.append(message)
        if self._flush_at is None:
            self._flush_at = asyncio.get_running_loop().call_later(BATCH_S, self.flush)

    def flush(self) -> None:
        if self._flush_at is not None:
            self._flush_at.cancel()
            self._flush_at = None
        batch, self._batch = self._batch, []
        if batch:
            self._send(json_text(batch[0] if len(batch) == 1 else batch))

    def _send(self, text: str) -> None:
        for socket_ in list(self._sockets):
            try:
                socket_.write_message(text)
            except tornado.websocket.WebSocketClosedError:
                self._sockets.discard(socket_)

    def push_power(self) -> None:
        if self._sockets:
            self.broadcast({"type": "power", **self._sampler.power_now()})

    def push_run(self, record: RunRecord) -> None:
        if self._sockets:  # serialising a record for nobody costs the event loop per cell
            self.batch({"type": "run", "run": record.to_json()})

    def push_runs_changed(self, run_ids: list[str]) -> None:
        """Runs were annotated, deleted, restored or imported: clients refetch what they show.

        ``run_ids`` empty: any run may have changed (an experiment renamed, the trash emptied).
        """
        if self._sockets:
            self.broadcast({"type": "runs-changed", "run_ids": run_ids})

    def push_budget(self, kernel_id: str, msg_id: str, budget: dict[str, Any]) -> None:
        """A running execution crossed its budget: the widget and the cell's badge show a warning."""
        if self._sockets:
            self.broadcast({"type": "budget", "kernel_id": kernel_id, "msg_id": msg_id, "budget": budget})

    def push_started(self, kernel_id: str, msg_id: str, started_at: float) -> None:
        if self._sockets:
            started = {"type": "execution-started", "kernel_id": kernel_id, "msg_id": msg_id, "started_at": started_at}
            self.batch(started)


class EventsHandler(JsonErrors, JupyterHandler, tornado.websocket.WebSocketHandler):
    """WebSocket, server to client: {"type": "power"|"run"|"execution-started"|"budget"|"runs-changed", ...},
    or an array of them."""

    auth_resource = "kernels"

    @ws_authenticated
    async def get(self, *args: Any, **kwargs: Any) -> None:
        authorized = await ensure_async(self.authorizer.is_authorized(self, self.current_user, "read", "kernels"))
        if not authorized:
            raise tornado.web.HTTPError(403)
        headers = self.request.headers
        upgrading = "upgrade" in (token.strip().lower() for token in headers.get("Connection", "").split(","))
        if headers.get("Upgrade", "").lower() != "websocket" or not upgrading:
            # tornado would answer a plain-text (or HTML) 400; say it in JSON like every other endpoint.
            raise tornado.web.HTTPError(
                400, "This endpoint is a WebSocket: connect with a WebSocket client (Connection: Upgrade)"
            )
        result = super().get(*args, **kwargs)
        if result is not None:
            await result

    @property
    def hub(self) -> EventHub:
        return cast(EventHub, self.settings["jupyterlab_carbon"]["hub"])

    def open(self, *args: str, **kwargs: str) -> None:
        self.hub.add(self)
        sampler = cast(Sampler, self.settings["jupyterlab_carbon"]["sampler"])
        self.write_message(json_text({"type": "power", **sampler.power_now()}))

    def on_message(self, message: str | bytes) -> None:
        """Clients only listen."""

    def on_close(self) -> None:
        self.hub.discard(self)
