"""The run record of a ``%%carbon`` cell measured in the kernel (no server watching it)."""

from __future__ import annotations

import getpass
import os
import socket
import uuid

from ..measurement import WindowMeasurement
from ..records import STATUS_FLAGS, RunRecord, code_fields
from ..run_notes import RunNotes
from . import channel
from .history import kernel_id, ledger

SOURCE = "in-kernel"


def record_in_kernel(
    code: str, measured: WindowMeasurement, status: str, notes: RunNotes, execution_count: int | None
) -> None:
    """Write the run to the ledger, flagged as the server's runs are (errored, interrupted)."""
    request = channel.current_request() or {}
    flags = set(measured.flags) | {SOURCE}
    if "exceeded_at" in notes.extra.get("budget", {}):
        flags.add("budget-exceeded")
    if status in STATUS_FLAGS:
        flags.add(STATUS_FLAGS[status])
    notebook = os.environ.get("JPY_SESSION_NAME") or None
    record = RunRecord(
        run_id=uuid.uuid4().hex,
        kernel_id=kernel_id(),
        msg_id=str(request.get("msg_id") or ""),
        **measured.record_fields(),
        status=status,
        flags=sorted(flags),
        host=socket.gethostname(),
        notebook_path=notebook,
        **code_fields(code),
        execution_count=execution_count,
        extra=notes.record_extra(measured.attributed_j, measured.duration_s),
        experiment=notes.experiment or notebook or f"kernel {kernel_id()}",
        tags=sorted(notes.tags),
        metrics=dict(notes.metrics),
        user=os.environ.get("JUPYTERHUB_USER") or getpass.getuser(),
        source=SOURCE,
    )
    ledger().write_batch([], [record])
