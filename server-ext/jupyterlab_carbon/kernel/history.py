"""``%carbon last`` and ``%carbon history``: this kernel's runs, read from the ledger."""

from __future__ import annotations

import functools
import os
import re
from dataclasses import dataclass
from typing import Any

from ..records import RunRecord
from ..units import carbon_text, duration_text, energy_text

# The server passes its ledger to the kernels it starts; others use the default SQLite file.
LEDGER_URL_ENV = "JUPYTERLAB_CARBON_LEDGER_URL"


@functools.cache
def ledger() -> Any:
    """This kernel's ledger, opened once (opening checks the schema: not a cost to pay per cell)."""
    from ..ledger import Ledger

    return Ledger(os.environ.get(LEDGER_URL_ENV) or None)


def kernel_id() -> str:
    """This kernel's id (from its connection file's name), else one for this process."""
    try:
        from ipykernel.connect import get_connection_file

        match = re.search(r"kernel-([0-9a-f-]+)\.json$", get_connection_file())
    except Exception:  # not in a kernel, or a kernel without a connection file
        match = None
    return match.group(1) if match else f"process-{os.getpid()}"


@dataclass(frozen=True)
class RunSummary:
    """One run as a Python object: energy per device with method, CO₂e, cost, duration, flags."""

    record: RunRecord

    @property
    def energy_j(self) -> float:
        return self.record.attributed_j

    @property
    def devices(self) -> dict[str, dict[str, Any]]:
        return {c.channel_id: {"label": c.label, "j": c.attributed_j, "method": c.method} for c in self.record.channels}

    @property
    def gco2e(self) -> float | None:
        return None if self.record.impact is None else self.record.impact.get("gco2e")

    @property
    def cost(self) -> float | None:
        return None if self.record.impact is None else self.record.impact.get("cost")

    @property
    def duration_s(self) -> float:
        return self.record.duration_s

    @property
    def flags(self) -> list[str]:
        return list(self.record.flags)

    def __repr__(self) -> str:
        r = self.record
        cell = f"[{r.execution_count}]" if r.execution_count is not None else "[ ]"
        lines = [
            f"run {r.run_id[:8]} {cell} {r.code_preview or ''}".rstrip(),
            f"  {energy_text(self.energy_j)}, {carbon_text(self.gco2e)}, {duration_text(self.duration_s)}, "
            f"status {r.status}; experiment {r.experiment!r}",
        ]
        lines += [f"  {k}: {energy_text(v['j'])} ({v['method']})" for k, v in self.devices.items()]
        if r.flags:
            lines.append(f"  flags: {', '.join(r.flags)}")
        if r.metrics:
            lines.append("  metrics: " + ", ".join(f"{k}={v:g}" for k, v in sorted(r.metrics.items())))
        return "\n".join(lines)


@dataclass(frozen=True)
class History:
    runs: list[RunSummary]

    def __repr__(self) -> str:
        if not self.runs:
            return "No runs of this kernel in the ledger yet."
        return "\n".join(repr(run) for run in self.runs)

    def __len__(self) -> int:
        return len(self.runs)

    def __getitem__(self, index: int) -> RunSummary:
        return self.runs[index]


def history(count: int = 10) -> History:
    """This kernel's latest ``count`` finished runs, newest first."""
    from ..ledger import RunQuery

    _, runs = ledger().search(RunQuery(kernel_id=kernel_id()), limit=max(1, min(count, 1000)))
    return History([RunSummary(record) for record in runs])


def last_run() -> RunSummary | str:
    """The previous finished run of this kernel (the one before the cell asking)."""
    runs = history(1).runs
    return runs[0] if runs else "No finished run of this kernel in the ledger yet."
