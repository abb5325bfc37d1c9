"""A ``%%carbon`` output that will not change, as a plain display bundle (no widget model).

A body shorter than the live widget's delay gets its figures once, at its end. Opening a widget
for that (its comm, its model's state signed and sent) was most of what the magic added to a
trivial cell (``benchmarks/magic.py``), so the final figures are published instead as the
labextension's own MIME type, which it draws with the widget's view code and completes with the
server's record of the execution, plus a text line and an escaped HTML table for every other
client (nbconvert, a console, JupyterLab without this extension).
"""

from __future__ import annotations

import html
import sys
from typing import Any

from ..units import carbon_text, duration_text, energy_text

MIME_TYPE = "application/vnd.jupyterlab-carbon.widget+json"
# What the frontend draws, as the widget's synced traits name it.
STATE_FIELDS = ("msg_id", "experiment", "run_name", "budget", "status", "started_at", "summary", "details")


def bundle(state: dict[str, Any]) -> dict[str, Any]:
    """The output of a finished ``%%carbon`` cell: ``state`` (``STATE_FIELDS``) for the
    labextension, and the fallbacks."""
    return {MIME_TYPE: state, **fallback(state)}


def fallback(state: dict[str, Any]) -> dict[str, str]:
    """The text and HTML shown where the labextension does not draw the output."""
    rows = summary_rows(state)
    details: list[str] = state["details"]
    if state["status"] == "ok" and details:
        # The same line as the magic printed before it had a widget.
        text = "jupyterlab-carbon: " + "; ".join(details)
    else:
        text = "jupyterlab-carbon: " + "; ".join(f"{label} {value}" for label, value in rows)
    rows += [("Kernel", detail) for detail in details]
    cells = "".join(
        f"<tr><th scope='row'>{html.escape(label)}</th><td>{html.escape(value)}</td></tr>" for label, value in rows
    )
    return {
        "text/plain": text,
        "text/html": f"<table class='jp-carbon-WidgetFallback'><caption>jupyterlab-carbon</caption>{cells}</table>",
    }


def summary_rows(state: dict[str, Any]) -> list[tuple[str, str]]:
    """What the fallback shows, as (label, value) rows."""
    rows: list[tuple[str, str]] = []
    if state["experiment"]:
        rows.append(("Experiment", state["experiment"]))
    if state["run_name"]:
        rows.append(("Name", state["run_name"]))
    status = state["status"]
    rows.append(("Status", status))
    figures = state["summary"]
    if "energy_j" in figures:
        methods = ", ".join(figures.get("methods") or []) or "no meter"
        rows.append(("Energy", f"{energy_text(figures['energy_j'])} ({methods}, {figures.get('source', '')})"))
    if "gco2e" in figures:
        rows.append(("CO₂e", carbon_text(figures["gco2e"])))
    if "duration_s" in figures:
        rows.append(("Duration", duration_text(figures["duration_s"])))
    if figures.get("flags"):
        rows.append(("Flags", ", ".join(figures["flags"])))
    for name, value in sorted((figures.get("metrics") or {}).items()):
        rows.append((name, f"{value:g}"))
    if state["budget"]:
        rows.append(("Budget", _budget_text(state["budget"])))
    if status != "running" and "energy_j" not in figures:
        rows.append(("Energy", "measured by the server: see the cell's badge and the Run Ledger"))
    return rows


def _budget_text(budget: dict[str, Any]) -> str:
    text = f"{budget.get('text', '')} ({budget.get('on_budget', 'warn')})"
    if budget.get("exceeded_at") is None:
        return text
    spent = budget.get("spent")
    kind = budget.get("kind")
    if kind == "energy" and isinstance(spent, (int, float)):
        return f"{text}: exceeded, {energy_text(spent)} spent"
    if kind == "carbon" and isinstance(spent, (int, float)):
        return f"{text}: exceeded, {carbon_text(spent)} spent"
    return f"{text}: exceeded"


def publish_after_pending_output(data: dict[str, Any]) -> None:
    """``publish_display_data``, flushing only the output streams that hold unsent text.

    ipykernel's publisher flushes stdout and stderr before every display (so that the display
    follows what was printed), each flush a round trip to the kernel's IOPub thread and back:
    ~0.3 ms of a trivial cell's ~0.4 ms publish. A stream with nothing pending is skipped; one
    with text is flushed as before. Other publishers and streams (a console, a capture) publish
    unchanged.
    """
    from IPython.core.getipython import get_ipython
    from IPython.display import publish_display_data

    shell = get_ipython()
    publisher = getattr(shell, "display_pub", None)
    streams = (sys.stdout, sys.stderr)
    if (
        publisher is None
        or not hasattr(publisher, "_flush_streams")
        or not all(hasattr(stream, "_flush_pending") for stream in streams)
    ):
        publish_display_data(data)  # type: ignore[no-untyped-call]
        return

    def flush_pending() -> None:
        for stream in streams:
            if stream._flush_pending or getattr(stream, "_subprocess_flush_pending", True):  # type: ignore[union-attr]
                stream.flush()

    publisher._flush_streams = flush_pending
    try:
        publish_display_data(data)  # type: ignore[no-untyped-call]
    finally:
        del publisher._flush_streams
