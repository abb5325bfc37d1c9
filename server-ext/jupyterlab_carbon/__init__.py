"""jupyterlab-carbon: energy and carbon of every notebook cell.

This module is imported by three hosts (JupyterLab's extension finder, the Jupyter
server and IPython kernels running ``%load_ext jupyterlab_carbon``), so it stays light:
nothing from tornado or the server is imported until a host asks for it.
"""

from importlib.metadata import PackageNotFoundError, version
from typing import Any

try:
    # package.json is the one source of the version; hatch copies it into the installed metadata.
    __version__ = version("jupyterlab-carbon")
except PackageNotFoundError:  # imported from a source tree that was never installed
    __version__ = "0+unknown"


def _jupyter_labextension_paths() -> list[dict[str, str]]:
    return [{"src": "labextension", "dest": "jupyterlab-carbon"}]


def _jupyter_server_extension_points() -> list[dict[str, Any]]:
    from .extension import CarbonExtensionApp  # only a server asks: keep kernels free of it

    return [{"module": "jupyterlab_carbon", "app": CarbonExtensionApp}]


def load_ipython_extension(ipython: Any) -> None:
    """Entry point of ``%load_ext jupyterlab_carbon``."""
    from .kernel.magics import register_magics

    register_magics(ipython)


# The run API (``jupyterlab_carbon.log_metric(...)``), imported when first used so that
# importing the package stays light for the server and JupyterLab.
_KERNEL_API = ("log_metric", "measure", "set_experiment", "tag")


def __getattr__(name: str) -> Any:
    if name in _KERNEL_API:
        from . import kernel

        return getattr(kernel, name)
    raise AttributeError(f"module 'jupyterlab_carbon' has no attribute {name!r}")
