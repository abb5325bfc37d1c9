"""Server-side start-up: open the meters once, start the sampler, register the handlers."""

from __future__ import annotations

from typing import Any

from .config import CarbonConfig
from .handlers import setup_handlers
from .meters import open_meters
from .sampler import Sampler


def load_server_extension(server_app: Any) -> None:
    config = CarbonConfig(parent=server_app)
    meters = open_meters(config.meter_config())
    sampler = Sampler(meters, period_s=config.sample_period_s, history_s=config.history_s)
    sampler.start()
    web_app = server_app.web_app
    web_app.settings["jupyterlab_carbon"] = {"config": config, "sampler": sampler}
    setup_handlers(web_app)
    for diagnosis in meters.diagnoses:
        server_app.log.info("jupyterlab-carbon: %s: %s", diagnosis.source, diagnosis.message)
    server_app.log.info(
        "jupyterlab-carbon: sampling %d channel(s) every %.3g s", len(sampler.channels), sampler.period_s
    )
