"""Basis 1: the cell's own earlier runs with the same code -> median and spread."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ..records import RunRecord
from .interval import Interval, spread_of

# Runs read per lookup: enough for a stable median, few enough for one fast indexed query.
HISTORY_LIMIT = 20


@dataclass(frozen=True)
class HistoryEstimate:
    energy_j: Interval
    duration_s: Interval
    runs: int
    same_cell: bool  # matched on the cell id (else on the notebook and code)


def same_cell_runs(
    runs: Sequence[RunRecord], cell_id: str | None, notebook_path: str | None
) -> tuple[list[RunRecord], bool]:
    """Of runs with the same code: those of this cell when runs carry cell ids, else of this notebook."""
    usable = [run for run in runs if run.status == "ok" and run.ended_at > run.started_at]
    if cell_id:
        by_cell = [run for run in usable if run.extra.get("cell_id") == cell_id]
        if by_cell:
            return by_cell, True
    return [run for run in usable if run.notebook_path == notebook_path], False


def history_estimate(
    runs: Sequence[RunRecord], cell_id: str | None, notebook_path: str | None
) -> HistoryEstimate | None:
    """Median and 10th-90th percentile (± spread below 3 runs) of the matching runs; None without any."""
    matching, same_cell = same_cell_runs(runs, cell_id, notebook_path)
    if not matching:
        return None
    return HistoryEstimate(
        energy_j=spread_of([run.attributed_j for run in matching]),
        duration_s=spread_of([run.duration_s for run in matching]),
        runs=len(matching),
        same_cell=same_cell,
    )
