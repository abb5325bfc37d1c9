"""``%carbon last`` and ``%carbon history``: this kernel's runs, read from the ledger."""

from __future__ import annotations

import functools
import html
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..records import RunRecord

if TYPE_CHECKING:
    from ..ledger import Ledger
from ..units import carbon_text, duration_text, energy_text

# The server passes its ledger to the kernels it starts; others use the default SQLite file.
LEDGER_URL_ENV = "JUPYTERLAB_CARBON_LEDGER_URL"


def written() -> None:
    """Wait for this kernel's in-kernel runs still being written (see in_kernel.py), and say which failed."""
    import sys

    from .in_kernel import WRITER

    if not WRITER.flush():
        print("%carbon: the ledger is slow: runs of this kernel are still being written", file=sys.stderr)
    for failure in WRITER.take_failures():
        print(f"%carbon: a run was not written to the ledger: {failure}", file=sys.stderr)


@functools.cache
def ledger() -> Ledger:
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

    written()
    _, runs = ledger().search(RunQuery(kernel_id=kernel_id()), limit=max(1, min(count, 1000)))
    return History([RunSummary(record) for record in runs])


def last_run() -> RunSummary | str:
    """The previous finished run of this kernel (the one before the cell asking)."""
    runs = history(1).runs
    return runs[0] if runs else "No finished run of this kernel in the ledger yet."


def find_run(ref: str) -> RunRecord:
    """A run by its id or by the id's start (as ``%carbon history`` shows it), among this kernel's runs."""
    from ..ledger import RunQuery

    written()
    book = ledger()
    if re.fullmatch(r"[0-9a-f]{32}", ref):
        record = book.run(ref)
        if record is not None:
            return record
    _, runs = book.search(RunQuery(kernel_id=kernel_id()), limit=1000)
    matches = [run for run in runs if run.run_id.startswith(ref.lower())] if ref else []
    if len(matches) != 1:
        found = "no run" if not matches else f"{len(matches)} runs"
        raise ValueError(f"{found} of this kernel's latest 1000 has an id starting with {ref!r}; see %carbon history")
    return matches[0]


@dataclass(frozen=True)
class Comparison:
    """Two or more runs side by side: what they cost and what differs."""

    runs: list[RunSummary]

    def rows(self) -> list[tuple[str, list[str]]]:
        records = [run.record for run in self.runs]
        rows: list[tuple[str, list[str]]] = [
            ("run", [r.run_id[:8] for r in records]),
            ("cell", [f"[{r.execution_count}] {r.code_preview or ''}" for r in records]),
            ("experiment", [r.experiment for r in records]),
            ("duration", [duration_text(r.duration_s) for r in records]),
            ("energy", [energy_text(r.attributed_j) for r in records]),
            ("CO₂e", [carbon_text(None if r.impact is None else r.impact.get("gco2e")) for r in records]),
            ("methods", [", ".join(r.methods) for r in records]),
            ("flags", [", ".join(r.flags) for r in records]),
            ("tags", [", ".join(r.tags) for r in records]),
        ]
        for name in sorted({m for r in records for m in r.metrics}):
            rows.append((name, [f"{r.metrics[name]:g}" if name in r.metrics else "" for r in records]))
        same_code = len({r.code_hash for r in records}) == 1
        rows.append(("code", ["same code" if same_code else (r.code_hash or "")[:12] for r in records]))
        return rows

    def __repr__(self) -> str:
        rows = self.rows()
        width = max(len(name) for name, _ in rows)
        columns = [max(len(values[i]) for _, values in rows) for i in range(len(self.runs))]
        return "\n".join(
            f"{name:<{width}}  " + "  ".join(f"{value:<{columns[i]}}" for i, value in enumerate(values))
            for name, values in rows
        )

    def _repr_html_(self) -> str:
        body = "".join(
            f"<tr><th>{html.escape(name)}</th>" + "".join(f"<td>{html.escape(v)}</td>" for v in values) + "</tr>"
            for name, values in self.rows()
        )
        return f'<table class="jp-carbon-compare">{body}</table>'


def compare(refs: list[str]) -> Comparison:
    return Comparison([RunSummary(find_run(ref)) for ref in refs])


def export(path: str, export_format: str) -> str:
    """Write this kernel's runs to ``path`` (CodeCarbon's emissions.csv columns first, or JSON)."""
    from ..ledger import RunQuery

    written()
    _, runs = ledger().search(RunQuery(kernel_id=kernel_id()), limit=10000)
    target = Path(path).expanduser()
    if export_format == "json":
        target.write_text(json.dumps([run.to_json() for run in runs], indent=1))
    else:
        from ..ledger.codecarbon import csv_header, csv_rows

        target.write_text(csv_header() + csv_rows(runs))
    return f"{len(runs)} run(s) of this kernel written to {target} ({export_format})"
