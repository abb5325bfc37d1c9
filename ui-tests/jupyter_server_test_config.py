"""JupyterLab server for the galata UI tests (no token, a temporary root directory)."""

from jupyterlab.galata import configure_jupyter_server

configure_jupyter_server(c)  # noqa: F821 (c is the config object Jupyter injects)
# The test machine has no power meter: the status bar shows the modeled reading.
c.CarbonConfig.sample_period_s = 0.5  # noqa: F821
# CI machines run the suite as root; the server is on loopback with a throwaway root directory.
c.ServerApp.allow_root = True  # noqa: F821
