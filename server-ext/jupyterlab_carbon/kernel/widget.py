"""The ``%%carbon`` widget's kernel side: a small ipywidgets model the labextension's view renders.

The kernel only says what it knows (the execution's msg_id, experiment, budget, whether the body
is still running, and its own measurement when it made one). The view follows the server's live
power and run events for that msg_id in the browser. The synced state is a summary only (no
power traces), so a saved notebook stays small.

Where no widget manager renders it (nbconvert, a console, clients without widgets), the output
is the ``_repr_mimebundle_`` fallback: a line of text and an escaped HTML table.
"""

from __future__ import annotations

import html
import re
import sys
from typing import Any

from ipywidgets import Widget  # type: ignore[import-untyped]  # ipywidgets ships no type hints
from traitlets import Dict, Float, List, Unicode

from .. import __version__
from ..units import carbon_text, duration_text, energy_text

MODULE_NAME = "jupyterlab-carbon"
# The labextension registers its widgets under package.json's version; accept its patch releases.
MODULE_VERSION = f"^{__version__}" if re.fullmatch(r"\d+\.\d+\.\d+", __version__) else "*"
STATUSES = ("running", "ok", "error", "interrupted")


class CarbonWidget(Widget):  # type: ignore[misc]  # an untyped base class
    """The live meter of one ``%%carbon`` execution.

    A plain ``Widget``, not a ``DOMWidget``: the latter opens a second comm for its ``Layout``
    model, which this view never uses (the browser's model supplies the DOM defaults).
    """

    _model_name = Unicode("CarbonModel").tag(sync=True)
    _view_name = Unicode("CarbonView").tag(sync=True)
    _model_module = Unicode(MODULE_NAME).tag(sync=True)
    _view_module = Unicode(MODULE_NAME).tag(sync=True)
    _model_module_version = Unicode(MODULE_VERSION).tag(sync=True)
    _view_module_version = Unicode(MODULE_VERSION).tag(sync=True)

    msg_id = Unicode("", help="The execute_request's msg_id: the key of the server's events and record.").tag(sync=True)
    experiment = Unicode("", help="The experiment named with -e; empty: the server's default.").tag(sync=True)
    run_name = Unicode("", help="The run's name (-n).").tag(sync=True)
    budget = Dict(help="kind, limit, currency, text, on_budget; plus spent and exceeded_at once crossed.").tag(
        sync=True
    )
    status = Unicode("running", help="running, then ok, error or interrupted.").tag(sync=True)
    started_at = Float(0.0, help="Epoch seconds when the body began (the kernel's clock).").tag(sync=True)
    summary = Dict(
        help="The final figures: energy_j, duration_s, methods, flags, metrics, source (in-kernel or server)."
    ).tag(sync=True)
    details = List(Unicode(), help="The kernel's summary line, part by part (repetitions, FLOPs, per unit).").tag(
        sync=True
    )

    def show(self) -> None:
        """Display it while it runs; with a display id, so that the end also updates frontends without widgets."""
        from IPython.display import display

        self._handle = display(self, display_id=True)  # type: ignore[no-untyped-call]

    def show_final(self) -> None:
        """Display a widget that will not change: its own bundle, published as is. ``display``
        would first try IPython's dozen formatters on it, which cost a trivial cell more than
        the rest of the magic (``benchmarks/magic.py``); and no display id is needed."""
        publish_after_pending_output(self._repr_mimebundle_())

    def finish(
        self, status: str, summary: dict[str, Any], details: list[str], budget: dict[str, Any] | None = None
    ) -> None:
        """The body ended: its status and the kernel's figures (the server's arrive in the browser)."""
        if status not in STATUSES or status == "running":
            raise ValueError(f"a finished widget's status is ok, error or interrupted, not {status!r}")
        with self.hold_sync():
            if budget is not None:
                self.budget = budget
            self.summary = summary
            self.details = details
            self.status = status
        handle = getattr(self, "_handle", None)
        if handle is not None:
            handle.update(self)

    def summary_rows(self) -> list[tuple[str, str]]:
        """What the fallback shows, as (label, value) rows."""
        rows: list[tuple[str, str]] = []
        if self.experiment:
            rows.append(("Experiment", self.experiment))
        if self.run_name:
            rows.append(("Name", self.run_name))
        rows.append(("Status", self.status))
        figures = self.summary
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
        if self.budget:
            rows.append(("Budget", _budget_text(self.budget)))
        if self.status != "running" and "energy_j" not in figures:
            rows.append(("Energy", "measured by the server: see the cell's badge and the Run Ledger"))
        return rows

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any]:
        bundle: dict[str, Any] = super()._repr_mimebundle_(**kwargs) or {}
        rows = self.summary_rows()
        if self.status == "ok" and self.details:
            # The same line as the magic printed before it had a widget.
            bundle["text/plain"] = "jupyterlab-carbon: " + "; ".join(self.details)
        else:
            bundle["text/plain"] = "jupyterlab-carbon: " + "; ".join(f"{label} {value}" for label, value in rows)
        rows += [("Kernel", detail) for detail in self.details]
        cells = "".join(
            f"<tr><th scope='row'>{html.escape(label)}</th><td>{html.escape(value)}</td></tr>" for label, value in rows
        )
        bundle["text/html"] = (
            f"<table class='jp-carbon-WidgetFallback'><caption>jupyterlab-carbon</caption>{cells}</table>"
        )
        return bundle


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


def publish_after_pending_output(bundle: dict[str, Any]) -> None:
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
        publish_display_data(bundle)  # type: ignore[no-untyped-call]
        return

    def flush_pending() -> None:
        for stream in streams:
            if stream._flush_pending or getattr(stream, "_subprocess_flush_pending", True):  # type: ignore[union-attr]
                stream.flush()

    publisher._flush_streams = flush_pending
    try:
        publish_display_data(bundle)  # type: ignore[no-untyped-call]
    finally:
        del publisher._flush_streams
