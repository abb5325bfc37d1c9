"""Server options, set in jupyter_server_config.py as ``c.CarbonConfig.<name> = ...``."""

from __future__ import annotations

import getpass
import os
from pathlib import Path

from traitlets import Bool, Dict, Float, Unicode, default
from traitlets.config import Configurable

from .intensity import IntensitySettings
from .meters import MeterConfig


class CarbonConfig(Configurable):
    """Options of the jupyterlab-carbon server extension."""

    sample_period_s = Float(
        0.5,
        config=True,
        help="Seconds between two readings of every power meter. The sampler reads faster "
        "when a RAPL counter could wrap twice in this time at full power.",
    )
    history_s = Float(
        3600.0,
        config=True,
        help="Seconds of samples kept in memory at full rate (the ring buffer's length).",
    )
    powercap_root = Unicode(
        "/sys/class/powercap",
        config=True,
        help="Root of the Linux powercap tree holding the RAPL zones (tests point it at a fake tree).",
    )
    hwmon_root = Unicode(
        "/sys/class/hwmon",
        config=True,
        help="Root of the Linux hwmon tree whose energy and power sensors are read.",
    )
    use_nvml = Bool(True, config=True, help="Read NVIDIA GPUs through NVML (nvidia-ml-py).")
    use_amdsmi = Bool(True, config=True, help="Read AMD GPUs through ROCm's amdsmi when it is importable.")
    cpu_tdp_watts = Float(
        None,
        allow_none=True,
        config=True,
        help="TDP of this node's CPUs in watts, all sockets together, for the modeled fallback "
        "when the bundled table does not know the CPU model.",
    )
    model_idle_fraction = Float(
        0.1,
        config=True,
        help="Share of the TDP an idle CPU draws in the modeled fallback (an assumption, shown as such).",
    )

    ledger_url = Unicode(
        "",
        config=True,
        help="SQLAlchemy URL of the run ledger, e.g. postgresql+psycopg://user@host/carbon for a "
        "team ledger. Empty: a SQLite file in the Jupyter data directory (carbon/ledger.sqlite).",
    )
    user = Unicode(
        config=True,
        help="Who runs this server: recorded with every run, and whose runs it shows (with runs of no "
        "known user, recorded before this option existed). Default: $JUPYTERHUB_USER on JupyterHub, "
        "else the operating-system account. Empty: runs are recorded without a user.",
    )
    team_view = Bool(
        False,
        config=True,
        help="Show every user's runs of a shared ledger (and per-person totals), not only this server's "
        "user's. For a team lead's server or a team that agrees to share; each user's server decides.",
    )
    autoload_magic = Bool(
        True,
        config=True,
        help="Load %%carbon (the IPython extension) in the IPython kernels this server starts with its own "
        "Python, so that no %load_ext is needed. False: kernels load it themselves.",
    )
    store_code_preview = Bool(
        True,
        config=True,
        help="Keep the first line of each cell's code in the ledger (shown in the run list). False keeps "
        "code out of the ledger.",
    )
    running_checkpoint_s = Float(
        30.0,
        config=True,
        help="Seconds between two updates of a running execution's row in the ledger with what it "
        "has used so far, so that a server killed mid-cell leaves that much of its window measured.",
    )
    push_period_s = Float(
        1.0,
        config=True,
        help="Seconds between two live power messages on the events WebSocket.",
    )

    zone = Unicode(
        "",
        config=True,
        help="Grid zone of this deployment (e.g. FR, US-CA, SE-SE3). It wins over the zone and cloud "
        "region users pick in their settings; leave empty to let users choose.",
    )
    intensity_gco2e_per_kwh = Float(
        None,
        allow_none=True,
        config=True,
        help="Carbon intensity (gCO2e/kWh) for this deployment when users set none.",
    )
    cloud_provider = Unicode("", config=True, help="Cloud provider of this node (aws, azure, gcp), if any.")
    cloud_region = Unicode("", config=True, help="Cloud region of this node, e.g. us-east-1, westeurope.")
    pue = Float(None, allow_none=True, config=True, help="PUE of the data centre when users set none.")
    price_per_kwh = Float(None, allow_none=True, config=True, help="Electricity price per kWh when users set none.")
    currency = Unicode("", config=True, help="Currency of price_per_kwh, e.g. EUR, USD.")
    live_electricitymaps_token = Unicode(
        "", config=True, help="Electricity Maps API token; enables the 'electricitymaps' live provider."
    )
    live_watttime_username = Unicode("", config=True, help="WattTime account name (enables 'watttime').")
    live_watttime_password = Unicode("", config=True, help="WattTime password.")
    live_watttime_regions = Dict(
        {}, config=True, help="Map of grid zones to WattTime region codes, e.g. {'US-CA': 'CAISO_NORTH'}."
    )

    @default("user")
    def _default_user(self) -> str:
        hub_user = os.environ.get("JUPYTERHUB_USER", "")
        if hub_user:
            return hub_user
        try:
            return getpass.getuser()
        except (KeyError, OSError):  # an account without a name (a container's bare uid)
            return ""

    def intensity_settings(self) -> IntensitySettings:
        """The deployment-wide part of the intensity settings."""
        return IntensitySettings(
            user_gco2e_per_kwh=self.intensity_gco2e_per_kwh,
            user_zone=self.zone or None,
            cloud_provider=self.cloud_provider or None,
            cloud_region=self.cloud_region or None,
            pue=self.pue,
            price_per_kwh=self.price_per_kwh,
            currency=self.currency or None,
        )

    def meter_config(self) -> MeterConfig:
        return MeterConfig(
            powercap_root=Path(self.powercap_root),
            hwmon_root=Path(self.hwmon_root),
            use_nvml=self.use_nvml,
            use_amdsmi=self.use_amdsmi,
            cpu_tdp_watts=self.cpu_tdp_watts,
            model_idle_fraction=self.model_idle_fraction,
        )
