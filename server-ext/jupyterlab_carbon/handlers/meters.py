"""The node's meters and its power: what the status bar shows."""

from __future__ import annotations

import socket
import time

import tornado.web
from sqlalchemy.engine import make_url

from .. import __version__
from .base import CarbonHandler

MINUTES = (0.01, 24 * 60.0)  # the series looks back this far at most
STEP_S = (0.05, 3600.0)


class StatusHandler(CarbonHandler):
    @tornado.web.authenticated
    def get(self) -> None:
        sampler = self.sampler
        self.write_json(
            {
                "version": __version__,
                "hostname": socket.gethostname(),
                "sample_period_s": sampler.period_s,
                "history_samples": sampler.capacity,
                **sampler.meters.to_json(),
                "ledger": {
                    "team_view": self.carbon_config.team_view,
                    "user": self.carbon_config.user or None,
                    "backend": make_url(self.ledger.url).get_backend_name(),
                },
            }
        )


class PowerHandler(CarbonHandler):
    @tornado.web.authenticated
    def get(self) -> None:
        self.write_json(self.sampler.power_now())


class PowerSeriesHandler(CarbonHandler):
    @tornado.web.authenticated
    def get(self) -> None:
        minutes = self.number_argument("minutes", 10.0, *MINUTES)
        step = self.number_argument("step", 1.0, *STEP_S)
        assert minutes is not None and step is not None  # both have defaults
        self.write_json({"step_s": step, "points": self.sampler.series(time.time() - minutes * 60, step)})
