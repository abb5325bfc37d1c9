"""A kernel of this Python started without a server, for tests of what runs inside the kernel."""

from __future__ import annotations

from typing import Any

from jupyter_client.manager import start_new_kernel

from jupyterlab_carbon.headless.run import KERNEL_DIED_STARTING, KERNEL_STARTS


def start_lone_kernel(env: dict[str, str]) -> tuple[Any, Any]:
    """(manager, client) of a started python3 kernel. jupyter_client chooses a kernel's ports free
    and the kernel binds them: a parallel test's kernel can take one in between, and the kernel
    then exits before it answers. Such a kernel is replaced, twice at most."""
    start = 1
    while True:
        try:
            return start_new_kernel(kernel_name="python3", env=env)
        except RuntimeError as err:
            if KERNEL_DIED_STARTING not in str(err) or start == KERNEL_STARTS:
                raise
            start += 1
