"""The kernel side: the ``%carbon`` / ``%%carbon`` magics (``.magics``) and the Python API of a run.

Imports nothing of tornado or the Jupyter server, nor IPython until the magics are loaded:
the server imports ``.channel`` to read what kernels publish.
"""

from .api import log_metric, measure, set_experiment, tag

__all__ = ["log_metric", "measure", "set_experiment", "tag"]
