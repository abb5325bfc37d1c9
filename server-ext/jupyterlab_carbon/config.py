"""Server options, set in jupyter_server_config.py as ``c.CarbonConfig.<name> = ...``."""

from __future__ import annotations

from pathlib import Path

from traitlets import Bool, Float, Unicode
from traitlets.config import Configurable

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
    push_period_s = Float(
        1.0,
        config=True,
        help="Seconds between two live power messages on the events WebSocket.",
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
