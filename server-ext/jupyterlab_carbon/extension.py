"""Server-side start-up: open the meters once, start the sampler, watch kernels, serve the API."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from jupyter_core.paths import jupyter_data_dir
from tornado.ioloop import PeriodicCallback

from .config import CarbonConfig
from .executions import ExecutionWatcher
from .handlers import EventHub, setup_handlers
from .impact_service import ImpactService, build_providers
from .ledger import Ledger
from .meters import open_meters
from .sampler import Sampler


def load_server_extension(server_app: Any) -> None:
    config = CarbonConfig(parent=server_app)
    meters = open_meters(config.meter_config())
    sampler = Sampler(meters, period_s=config.sample_period_s, history_s=config.history_s)
    sampler.start()
    ledger = Ledger(config.ledger_url or None)
    impact = ImpactService(
        Path(jupyter_data_dir()) / "carbon" / "intensity-settings.json",
        config.intensity_settings(),
        build_providers(config),
    )
    hub = EventHub(sampler)
    watcher = ExecutionWatcher(
        server_app.kernel_manager,
        server_app.session_manager,
        sampler,
        ledger.add_run,
        server_app.log,
        impact=impact.impact,
    )
    watcher.add_run_listener(hub.push_run)
    watcher.add_start_listener(hub.push_started)
    watcher.start(server_app.event_logger)
    pusher = PeriodicCallback(hub.push_power, config.push_period_s * 1000)
    pusher.start()
    web_app = server_app.web_app
    web_app.settings["jupyterlab_carbon"] = {
        "config": config,
        "sampler": sampler,
        "ledger": ledger,
        "impact": impact,
        "hub": hub,
        "watcher": watcher,
        "pusher": pusher,
    }
    setup_handlers(web_app)
    for diagnosis in meters.diagnoses:
        server_app.log.info("jupyterlab-carbon: %s: %s", diagnosis.source, diagnosis.message)
    server_app.log.info(
        "jupyterlab-carbon: sampling %d channel(s) every %.3g s; ledger at %s",
        len(sampler.channels),
        sampler.period_s,
        ledger.url,
    )


def unload_server_extension(server_app: Any) -> None:
    state = server_app.web_app.settings.get("jupyterlab_carbon")
    if not state:
        return
    state["pusher"].stop()
    state["watcher"].close()
    state["sampler"].stop()
    state["ledger"].close()
