"""The run record of a ``%%carbon`` cell measured in the kernel (no server watching it)."""

from __future__ import annotations

import getpass
import hashlib
import os
import socket
import uuid

from ..measurement import WindowMeasurement
from ..records import RunRecord
from ..run_notes import RunNotes
from . import channel
from .history import kernel_id, ledger

SOURCE = "in-kernel"
PREVIEW_CHARS = 120


def record_in_kernel(
    code: str, measured: WindowMeasurement, status: str, notes: RunNotes, execution_count: int | None
) -> None:
    """Write the run to the ledger, flagged as the server's runs are (errored, interrupted)."""
    request = channel.current_request() or {}
    stripped = code.strip()
    flags = set(measured.flags) | {SOURCE}
    if "exceeded_at" in notes.extra.get("budget", {}):
        flags.add("budget-exceeded")
    if status == "error":
        flags.add("errored")
    elif status == "interrupted":
        flags.add("interrupted")
    notebook = os.environ.get("JPY_SESSION_NAME") or None
    record = RunRecord(
        run_id=uuid.uuid4().hex,
        kernel_id=kernel_id(),
        msg_id=str(request.get("msg_id") or ""),
        started_at=measured.started_at,
        ended_at=measured.ended_at,
        status=status,
        node_j=measured.node_j,
        attributed_j=measured.attributed_j,
        idle_j=measured.idle_j,
        active_j=measured.active_j,
        channels=measured.channels,
        methods=measured.methods,
        flags=sorted(flags),
        host=socket.gethostname(),
        notebook_path=notebook,
        code_hash=hashlib.sha256(code.encode()).hexdigest(),
        code_preview=stripped.splitlines()[0][:PREVIEW_CHARS] if stripped else None,
        execution_count=execution_count,
        extra=notes.record_extra(measured.attributed_j, measured.duration_s),
        experiment=notes.experiment or notebook or f"kernel {kernel_id()}",
        tags=sorted(notes.tags),
        metrics=dict(notes.metrics),
        user=os.environ.get("JUPYTERHUB_USER") or getpass.getuser(),
        source=SOURCE,
    )
    ledger().write_batch([], [record])
