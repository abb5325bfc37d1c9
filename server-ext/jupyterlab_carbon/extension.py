"""Server-side start-up and clean stop: ledger, meters, sampler, kernel watcher, the API.

The extension is a jupyter_server ``ExtensionApp`` because only extension apps are stopped by
the server (``stop_extension``): a module's ``_unload_jupyter_server_extension`` is never called,
and a clean stop must close what is still running and fold the ledger's write-ahead log back.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from jupyter_core.paths import jupyter_data_dir
from jupyter_server.extension.application import ExtensionApp
from tornado.ioloop import PeriodicCallback

from .config import CarbonConfig
from .executions import ExecutionWatcher
from .handlers import EventHub, setup_handlers
from .impact_service import ImpactService, build_providers
from .kernel.history import LEDGER_URL_ENV
from .ledger import Ledger
from .meters import open_meters
from .metrics import CarbonCollector
from .metrics import register as register_metrics
from .metrics import unregister as unregister_metrics
from .predict.memo import PredictionMemo
from .sampler import Sampler

STATE_KEY = "jupyterlab_carbon"


class CarbonExtensionApp(ExtensionApp):
    """Opens everything once per server; ``stop_extension`` closes it in reverse order."""

    name = STATE_KEY
    # Options live on CarbonConfig (c.CarbonConfig.*), read from the server's config.
    load_other_extensions = True

    def initialize_settings(self) -> None:
        server_app = self.serverapp
        assert server_app is not None
        config = CarbonConfig(parent=server_app)
        # What can fail on bad configuration comes first, and opens nothing: implausible
        # intensity options raise here, an unreachable team database below, before any thread.
        impact = ImpactService(
            Path(jupyter_data_dir()) / "carbon" / "intensity-settings.json",
            config.intensity_settings(),
            build_providers(config),
            log=server_app.log,
        )
        ledger = Ledger(config.ledger_url or None)
        meters = open_meters(config.meter_config())
        sampler = Sampler(meters, period_s=config.sample_period_s, history_s=config.history_s)
        hub = EventHub(sampler)
        memo = PredictionMemo()  # what the gate was told, kept with the run that follows
        watcher = ExecutionWatcher(
            server_app.kernel_manager,
            server_app.session_manager,
            sampler,
            ledger,
            server_app.log,
            impact=impact.impact,
            store_code_preview=config.store_code_preview,
            user=config.user or None,
            # Kernels measuring themselves (%%carbon without the server) write where the server does.
            kernel_env={LEDGER_URL_ENV: config.ledger_url} if config.ledger_url else None,
            autoload_magic=config.autoload_magic,
            predictions=memo.take,
            checkpoint_s=config.running_checkpoint_s,
        )
        collector = CarbonCollector(sampler)
        watcher.add_run_listener(collector.add_run)
        if not register_metrics(collector):
            server_app.log.warning(
                "jupyterlab-carbon: another server in this process already reports its metrics on /metrics"
            )
        watcher.add_run_listener(hub.push_run)
        watcher.add_start_listener(hub.push_started)
        watcher.add_budget_listener(hub.push_budget)
        sampler.start()
        # tornado runs on asyncio; the watcher announces finished runs on that loop.
        watcher.start(server_app.event_logger, asyncio.get_event_loop())
        pusher = PeriodicCallback(hub.push_power, config.push_period_s * 1000)
        pusher.start()
        self.settings[STATE_KEY] = {
            "config": config,
            "sampler": sampler,
            "ledger": ledger,
            "impact": impact,
            "hub": hub,
            "watcher": watcher,
            "pusher": pusher,
            "metrics": collector,
            "prediction_memo": memo,
        }
        for diagnosis in meters.diagnoses:
            server_app.log.info("jupyterlab-carbon: %s: %s", diagnosis.source, diagnosis.message)
        server_app.log.info(
            "jupyterlab-carbon: sampling %d channel(s) every %.3g s; ledger at %s; runs recorded as user %r, %s",
            len(sampler.channels),
            sampler.period_s,
            ledger.url,
            config.user or None,
            "every user's runs shown (team view)" if config.team_view else "only theirs shown",
        )

    def initialize_handlers(self) -> None:
        assert self.serverapp is not None
        setup_handlers(self.serverapp.web_app)

    async def stop_extension(self) -> None:
        """Called by the server's clean stop, after it shut its kernels down."""
        assert self.serverapp is not None
        state: dict[str, Any] | None = self.serverapp.web_app.settings.pop(STATE_KEY, None)
        if not state:
            return
        unregister_metrics(state["metrics"])
        state["pusher"].stop()
        await state["watcher"].close()
        state["sampler"].stop()
        state["ledger"].close()
