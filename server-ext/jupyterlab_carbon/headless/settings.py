"""The options a headless run shares with the server: its ledger, intensity, PUE and price.

A headless run has no server, but a user who configured one (``jupyter_server_config.py``) expects
the same zone and ledger: the ``CarbonConfig`` section of the server's config files is read here.
"""

from __future__ import annotations

import os
from dataclasses import replace
from typing import Any

from traitlets.config import Config
from traitlets.config.loader import ConfigFileNotFound, JSONFileConfigLoader, PyFileConfigLoader

from ..config import CarbonConfig
from ..intensity import ResolvedIntensity, compute_impact, resolve_intensity
from ..kernel.history import LEDGER_URL_ENV
from ..meters import MeterConfig

SERVER_CONFIG = "jupyter_server_config"


def server_config() -> Config:
    """The merged ``jupyter_server_config.{json,py}`` of Jupyter's config path (lowest priority first)."""
    from jupyter_core.paths import jupyter_config_path

    merged = Config()
    for directory in reversed(jupyter_config_path()):
        for loader in (JSONFileConfigLoader, PyFileConfigLoader):
            suffix = ".json" if loader is JSONFileConfigLoader else ".py"
            try:
                merged.merge(loader(SERVER_CONFIG + suffix, path=directory).load_config())
            except ConfigFileNotFound:
                continue
    return merged


class HeadlessSettings:
    """The carbon options in force for a headless run: server config, then the command line."""

    def __init__(self, ledger_url: str | None = None, carbon: CarbonConfig | None = None) -> None:
        self.carbon = carbon or CarbonConfig(config=server_config())
        self.ledger_url = ledger_url or os.environ.get(LEDGER_URL_ENV) or self.carbon.ledger_url or None
        settings = self.carbon.intensity_settings()
        # Only the bundled tables: a CI job must not depend on a live provider's availability.
        self.intensity: ResolvedIntensity = resolve_intensity(settings)
        self.price_per_kwh = settings.price_per_kwh
        self.currency = settings.currency

    def impact(self, energy_j: float) -> dict[str, Any]:
        """The impact dict a run record stores (as the server's ImpactService builds it)."""
        return compute_impact(energy_j, self.intensity, self.price_per_kwh, self.currency).to_json()


def meter_config(carbon: CarbonConfig) -> MeterConfig:
    """The server's meter options, where the kernels' environment variables (if set) win."""
    config = carbon.meter_config()
    env = MeterConfig.from_environment()
    if "JUPYTERLAB_CARBON_POWERCAP_ROOT" in os.environ:
        config = replace(config, powercap_root=env.powercap_root)
    if "JUPYTERLAB_CARBON_HWMON_ROOT" in os.environ:
        config = replace(config, hwmon_root=env.hwmon_root)
    if env.cpu_tdp_watts is not None:
        config = replace(config, cpu_tdp_watts=env.cpu_tdp_watts)
    return config
