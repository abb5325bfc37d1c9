"""The executions watcher: every cell execution of every kernel, recorded once, from IOPub."""

from .process_tree import ProcessTree, node_busy_cpu_s
from .recorder import Edge
from .watcher import KERNEL_ACTIONS_SCHEMA, ExecutionWatcher, KernelWatch, PendingExecution

__all__ = [
    "KERNEL_ACTIONS_SCHEMA",
    "Edge",
    "ExecutionWatcher",
    "KernelWatch",
    "PendingExecution",
    "ProcessTree",
    "node_busy_cpu_s",
]
