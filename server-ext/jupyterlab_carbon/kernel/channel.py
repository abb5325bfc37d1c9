"""How the kernel tells the server's watcher about the execution it runs: IOPub annotations.

An annotation is a ``comm_msg`` on IOPub whose parent is the cell's ``execute_request``, with
a fixed comm id that no comm ever opens and a marker in its metadata. Frontends ignore a
``comm_msg`` for a comm they do not know (JupyterLab and nbclient do so silently), so nothing
shows in the notebook; the watcher reads the metadata frame to recognise it without parsing
the content of every widget message.
"""

from __future__ import annotations

from typing import Any

COMM_ID = "jupyterlab-carbon.annotations"
METADATA_KEY = "jupyterlab_carbon"
# Environment variable set on kernels that a server with this extension started and watches:
# the magic then only annotates, and the server records the run (never twice).
WATCHED_ENV = "JUPYTERLAB_CARBON_WATCHED"


def _kernel() -> Any | None:
    """The running ipykernel, or None outside one (plain Python, a script, a test)."""
    try:
        from ipykernel.kernelbase import Kernel
    except ImportError:
        return None
    return Kernel.instance() if Kernel.initialized() else None


def current_request() -> dict[str, Any] | None:
    """The header of the execute_request being run, or None outside a kernel's execution."""
    kernel = _kernel()
    if kernel is None:
        return None
    parent = kernel.get_parent("shell")
    header = parent.get("header") if isinstance(parent, dict) else None
    return header if isinstance(header, dict) and header.get("msg_type") == "execute_request" else None


def publish(update: dict[str, Any]) -> bool:
    """Send one annotation of the current execution to the watcher; False outside a kernel's execution."""
    kernel = _kernel()
    if kernel is None or current_request() is None:
        return False
    kernel.session.send(
        kernel.iopub_socket,
        "comm_msg",
        {"comm_id": COMM_ID, "data": {"carbon": update}},
        parent=kernel.get_parent("shell"),
        metadata={METADATA_KEY: 1},
        ident=b"comm-" + COMM_ID.encode(),
    )
    return True
