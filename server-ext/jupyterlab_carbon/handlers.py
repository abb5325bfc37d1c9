"""REST endpoints under ``{base_url}/carbon/``; every verb requires Jupyter's authentication."""

from __future__ import annotations

import asyncio
import json
import socket
import time
from dataclasses import asdict
from typing import Any

import tornado.web
import tornado.websocket
from jupyter_core.utils import ensure_async
from jupyter_server.auth.decorator import ws_authenticated
from jupyter_server.base.handlers import APIHandler, JupyterHandler
from jupyter_server.utils import url_path_join

from . import __version__
from .executions import ExecutionWatcher
from .impact_service import ImpactService
from .ledger import Ledger
from .records import RunRecord
from .sampler import Sampler

NAMESPACE = "carbon"


class CarbonHandler(APIHandler):
    """Base handler: JSON errors as ``{code, message}``."""

    @property
    def sampler(self) -> Sampler:
        return self.settings["jupyterlab_carbon"]["sampler"]

    @property
    def ledger(self) -> Ledger:
        return self.settings["jupyterlab_carbon"]["ledger"]

    def number_argument(self, name: str, default: float | None, minimum: float, maximum: float) -> float | None:
        """A numeric query argument, or a 400 that says what is wrong with it."""
        raw = self.get_argument(name, None)
        if raw is None or raw == "":
            return default
        try:
            value = float(raw)
        except ValueError:
            raise tornado.web.HTTPError(400, f"'{name}' must be a number, got {raw!r}") from None
        if not minimum <= value <= maximum:
            raise tornado.web.HTTPError(400, f"'{name}' must be between {minimum:g} and {maximum:g}, got {raw}")
        return value

    async def in_thread(self, function: Any, *args: Any, **kwargs: Any) -> Any:
        """Ledger calls block on I/O: keep them off the event loop."""
        return await asyncio.get_running_loop().run_in_executor(None, lambda: function(*args, **kwargs))

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        self.set_header("Content-Type", "application/json")
        reason = self._reason
        exc_info = kwargs.get("exc_info")
        if exc_info and isinstance(exc_info[1], tornado.web.HTTPError) and exc_info[1].log_message:
            reason = exc_info[1].log_message
        self.finish(json.dumps({"code": status_code, "message": reason}))


class StatusHandler(CarbonHandler):
    @tornado.web.authenticated
    def get(self) -> None:
        sampler = self.sampler
        self.finish(
            json.dumps(
                {
                    "version": __version__,
                    "hostname": socket.gethostname(),
                    "sample_period_s": sampler.period_s,
                    "history_samples": sampler.capacity,
                    **sampler.meters.to_json(),
                }
            )
        )


class PowerHandler(CarbonHandler):
    @tornado.web.authenticated
    def get(self) -> None:
        self.finish(json.dumps(self.sampler.power_now()))


class PowerSeriesHandler(CarbonHandler):
    @tornado.web.authenticated
    def get(self) -> None:
        minutes = self.number_argument("minutes", 10, 0.01, 24 * 60)
        step = self.number_argument("step", 1.0, 0.05, 3600)
        assert minutes is not None and step is not None
        self.finish(json.dumps({"step_s": step, "points": self.sampler.series(time.time() - minutes * 60, step)}))


RUN_FILTERS = ("kernel_id", "msg_id", "notebook_path", "code_hash")


class RunsHandler(CarbonHandler):
    @tornado.web.authenticated
    async def get(self) -> None:
        limit = self.number_argument("limit", 100, 1, 10000)
        offset = self.number_argument("offset", 0, 0, 1e12)
        since = self.number_argument("since", None, 0, 1e11)
        until = self.number_argument("until", None, 0, 1e11)
        filters: dict[str, Any] = {k: v for k in RUN_FILTERS if (v := self.get_argument(k, None))}
        filters.update({k: v for k, v in (("since", since), ("until", until)) if v is not None})
        runs = await self.in_thread(self.ledger.runs, limit=int(limit or 100), offset=int(offset or 0), **filters)
        total = await self.in_thread(self.ledger.count, **filters)
        self.finish(json.dumps({"total": total, "runs": [r.to_json() for r in runs]}))


class RunHandler(CarbonHandler):
    @tornado.web.authenticated
    async def get(self, run_id: str) -> None:
        record = await self.in_thread(self.ledger.run, run_id)
        if record is None:
            raise tornado.web.HTTPError(404, f"No run with id {run_id!r}")
        self.finish(json.dumps(record.to_json()))


class TotalsHandler(CarbonHandler):
    """Sums over runs: a notebook's all-time total, a kernel's, since a time."""

    @tornado.web.authenticated
    async def get(self) -> None:
        since = self.number_argument("since", None, 0, 1e11)
        filters: dict[str, Any] = {k: v for k in ("notebook_path", "kernel_id") if (v := self.get_argument(k, None))}
        if since is not None:
            filters["since"] = since
        self.finish(json.dumps(await self.in_thread(self.ledger.totals, **filters)))


class IntensityHandler(CarbonHandler):
    """The intensity in force (GET) and the user's intensity settings (PUT)."""

    @property
    def service(self) -> ImpactService:
        return self.settings["jupyterlab_carbon"]["impact"]

    async def _answer(self) -> None:
        service = self.service
        resolved = await self.in_thread(service.resolved)
        self.finish(
            json.dumps(
                {
                    "settings": asdict(service.user_settings),
                    "resolved": resolved.to_json(),
                    "live_providers": service.live_providers,
                }
            )
        )

    @tornado.web.authenticated
    async def get(self) -> None:
        await self._answer()

    @tornado.web.authenticated
    async def put(self) -> None:
        try:
            body = json.loads(self.request.body or b"{}")
            if not isinstance(body, dict):
                raise ValueError("the body must be a JSON object of settings")
            self.service.update(body)
        except ValueError as err:  # json.JSONDecodeError is a ValueError too
            raise tornado.web.HTTPError(400, str(err)) from None
        await self._answer()


class ExecutionsHandler(CarbonHandler):
    """Executions in flight now (a reloaded page shows live badges for them)."""

    @tornado.web.authenticated
    def get(self) -> None:
        watcher: ExecutionWatcher = self.settings["jupyterlab_carbon"]["watcher"]
        self.finish(json.dumps({"executions": watcher.in_flight()}))


class EventHub:
    """The open event WebSockets; pushes live power and finished runs to each."""

    def __init__(self, sampler: Sampler) -> None:
        self._sampler = sampler
        self._sockets: set[EventsHandler] = set()

    def add(self, socket_: EventsHandler) -> None:
        self._sockets.add(socket_)

    def discard(self, socket_: EventsHandler) -> None:
        self._sockets.discard(socket_)

    def broadcast(self, message: dict[str, Any]) -> None:
        text = json.dumps(message)
        for socket_ in list(self._sockets):
            try:
                socket_.write_message(text)
            except tornado.websocket.WebSocketClosedError:
                self._sockets.discard(socket_)

    def push_power(self) -> None:
        if self._sockets:
            self.broadcast({"type": "power", **self._sampler.power_now()})

    def push_run(self, record: RunRecord) -> None:
        self.broadcast({"type": "run", "run": record.to_json()})

    def push_started(self, kernel_id: str, msg_id: str, started_at: float) -> None:
        self.broadcast({"type": "execution-started", "kernel_id": kernel_id, "msg_id": msg_id, "started_at": started_at})


class EventsHandler(JupyterHandler, tornado.websocket.WebSocketHandler):
    """WebSocket: {"type": "power"|"run"|"execution-started", ...} messages, server to client."""

    auth_resource = "kernels"

    @ws_authenticated
    async def get(self, *args: Any, **kwargs: Any) -> None:
        authorized = await ensure_async(self.authorizer.is_authorized(self, self.current_user, "read", "kernels"))
        if not authorized:
            raise tornado.web.HTTPError(403)
        result = super().get(*args, **kwargs)
        if result is not None:
            await result

    @property
    def hub(self) -> EventHub:
        return self.settings["jupyterlab_carbon"]["hub"]

    def open(self, *args: str, **kwargs: str) -> None:  # type: ignore[override]
        self.hub.add(self)
        self.write_message(json.dumps({"type": "power", **self.settings["jupyterlab_carbon"]["sampler"].power_now()}))

    def on_message(self, message: str | bytes) -> None:
        """Clients only listen."""

    def on_close(self) -> None:
        self.hub.discard(self)


# (path below {base_url}/carbon/, handler); every handler here requires authentication.
ROUTES: list[tuple[str, type[JupyterHandler]]] = [
    ("status", StatusHandler),
    ("power", PowerHandler),
    ("power/series", PowerSeriesHandler),
    ("runs", RunsHandler),
    (r"runs/([0-9a-f]{32})", RunHandler),
    ("executions", ExecutionsHandler),
    ("totals", TotalsHandler),
    ("intensity", IntensityHandler),
    ("events", EventsHandler),
]


def setup_handlers(web_app: tornado.web.Application) -> None:
    base_url = web_app.settings["base_url"]
    web_app.add_handlers(".*$", [(url_path_join(base_url, NAMESPACE, path), handler) for path, handler in ROUTES])
