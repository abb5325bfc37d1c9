"""The executions watcher: every cell execution of every kernel, recorded once, from IOPub."""

from .watcher import KERNEL_ACTIONS_SCHEMA, ExecutionWatcher, KernelWatch, PendingExecution

__all__ = ["KERNEL_ACTIONS_SCHEMA", "ExecutionWatcher", "KernelWatch", "PendingExecution"]
