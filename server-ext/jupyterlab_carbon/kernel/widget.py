"""The ``%%carbon`` widget's kernel side: a small ipywidgets model the labextension's view renders.

The kernel only says what it knows (the execution's msg_id, experiment, budget, whether the body
is still running, and its own measurement when it made one). The view follows the server's live
power and run events for that msg_id in the browser while the body runs; at its end the output
becomes the final figures under the labextension's own MIME type (``final_output``), which a
saved notebook keeps and draws again without a widget model.

Where no widget manager renders it (nbconvert, a console, clients without widgets), the output
is the ``_repr_mimebundle_`` fallback: a line of text and an escaped HTML table.
"""

from __future__ import annotations

import re
from typing import Any

from ipywidgets import Widget  # type: ignore[import-untyped]  # ipywidgets ships no type hints
from traitlets import Dict, Float, List, Unicode

from .. import __version__
from . import final_output

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
            # The output becomes the final figures under the labextension's own MIME type, as a
            # short body's: a saved notebook draws them again, where the widget's model, gone
            # with the kernel, would leave "Error displaying widget: model not found".
            handle.update(final_output.bundle(self.state()), raw=True)
            self.close()

    def state(self) -> dict[str, Any]:
        """The figures a frontend draws (``final_output.bundle``'s input)."""
        return {name: getattr(self, name) for name in final_output.STATE_FIELDS}

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any]:
        bundle: dict[str, Any] = super()._repr_mimebundle_(**kwargs) or {}
        return {**bundle, **final_output.fallback(self.state())}
