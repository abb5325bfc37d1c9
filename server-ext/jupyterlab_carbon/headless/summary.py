"""The summary a badge reads from a cell's metadata, as src/badges/summary.ts writes it.

A notebook run headless and opened in JupyterLab shows the same badges as one run there: the key
and fields below must stay those of ``ICarbonSummary`` (``summaryFromRun``).
"""

from __future__ import annotations

from typing import Any

from ..records import RunRecord

METADATA_KEY = "jupyterlab-carbon"
HISTORY_LENGTH = 5
_INTENSITY_FIELDS = ("gco2e_per_kwh", "method", "zone", "source", "year", "is_assumption", "message")
_EQUIVALENT_FIELDS = ("label", "value", "unit", "source")


def previous_summary(metadata: dict[str, Any]) -> dict[str, Any] | None:
    """The summary already on a cell (an earlier run), when it is one this version reads."""
    value = metadata.get(METADATA_KEY)
    if not isinstance(value, dict) or value.get("version") != 1 or not isinstance(value.get("history"), list):
        return None
    return value


def summary_from_run(run: RunRecord, previous: dict[str, Any] | None) -> dict[str, Any]:
    """``summaryFromRun`` in Python: the run's figures, with the previous run moved into the history."""
    impact = run.impact
    history: list[dict[str, Any]] = []
    if previous is not None:
        last = {key: previous.get(key) for key in ("started_at", "duration_s", "energy_j", "gco2e")}
        history = [last, *previous["history"]][:HISTORY_LENGTH]
    return {
        "version": 1,
        "run_id": run.run_id,
        "msg_id": run.msg_id,
        "host": run.host,
        "started_at": run.started_at,
        "duration_s": run.duration_s,
        "status": run.status,
        "energy_j": run.attributed_j,
        "node_j": run.node_j,
        "idle_j": run.idle_j,
        "active_j": run.active_j,
        "methods": list(run.methods),
        "flags": list(run.flags),
        "channels": [
            {
                "label": c.label,
                "domain": c.domain,
                "method": c.method,
                "node_j": c.node_j,
                "attributed_j": c.attributed_j,
            }
            for c in run.channels
        ],
        "gco2e": impact["gco2e"] if impact else None,
        "cost": impact["cost"] if impact else None,
        "currency": impact["currency"] if impact else None,
        "intensity": {key: impact["intensity"][key] for key in _INTENSITY_FIELDS} if impact else None,
        "pue": impact["pue"] if impact else None,
        "equivalents": [{key: e[key] for key in _EQUIVALENT_FIELDS} for e in impact["equivalents"]] if impact else [],
        "history": history,
    }
