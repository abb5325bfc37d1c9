"""JupyterLab server for the galata UI tests (no token, a temporary root directory)."""

import atexit
import shutil
import tempfile
from pathlib import Path

from jupyterlab.galata import configure_jupyter_server

configure_jupyter_server(c)  # noqa: F821 (c is the config object Jupyter injects)
# No "is a rebuild needed?" check on each page load (~0.9 s of the server's CPU, 20-odd loads a run):
# the labextension is prebuilt and linked, nothing here builds JupyterLab.
c.ServerApp.tornado_settings = {"page_config_data": {"buildCheck": False, "buildAvailable": False}}  # noqa: F821
c.CarbonConfig.sample_period_s = 0.5  # noqa: F821
# No meter is ever read, whatever the host has (CI runs as root, where RAPL is readable; a bare
# metal machine may have NVIDIA or AMD GPUs): empty powercap and hwmon trees and no GPU library,
# so the reading is the deterministic modeled one the tests expect, with its diagnosis.
_no_meters = Path(tempfile.mkdtemp(prefix="carbon-ui-no-meters-"))
atexit.register(shutil.rmtree, _no_meters, ignore_errors=True)
(_no_meters / "powercap").mkdir()
(_no_meters / "hwmon").mkdir()
c.CarbonConfig.powercap_root = str(_no_meters / "powercap")  # noqa: F821
c.CarbonConfig.hwmon_root = str(_no_meters / "hwmon")  # noqa: F821
c.CarbonConfig.use_nvml = False  # noqa: F821
c.CarbonConfig.use_amdsmi = False  # noqa: F821
# CI machines run the suite as root; the server is on loopback with a throwaway root directory.
c.ServerApp.allow_root = True  # noqa: F821
