"""REST endpoints under ``{base_url}/carbon/``; every verb requires Jupyter's authentication."""

from __future__ import annotations

import json
import socket
from typing import Any

import tornado.web
from jupyter_server.base.handlers import APIHandler
from jupyter_server.utils import url_path_join

from . import __version__
from .sampler import Sampler

NAMESPACE = "carbon"


class CarbonHandler(APIHandler):
    """Base handler: JSON errors as ``{code, message}``."""

    @property
    def sampler(self) -> Sampler:
        return self.settings["jupyterlab_carbon"]["sampler"]

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


# (path below {base_url}/carbon/, handler); every handler here requires authentication.
ROUTES: list[tuple[str, type[CarbonHandler]]] = [("status", StatusHandler), ("power", PowerHandler)]


def setup_handlers(web_app: tornado.web.Application) -> None:
    base_url = web_app.settings["base_url"]
    web_app.add_handlers(".*$", [(url_path_join(base_url, NAMESPACE, path), handler) for path, handler in ROUTES])
