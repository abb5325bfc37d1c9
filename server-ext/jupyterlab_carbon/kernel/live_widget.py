"""When the ``%%carbon`` widget appears: live once the body has run a moment, else only at its end.

Opening a widget's comm and displaying it costs milliseconds (each display waits for the kernel's
output thread), more than a trivial cell takes. So a body still running after ``LIVE_AFTER_S``
gets the live widget, shown from a background thread in the cell's context (its output and comm
belong to that cell); a shorter one shows only its final figures, once, at its end, as a plain
bundle without a widget model (``final_output``).
"""

from __future__ import annotations

import contextvars
import functools
import itertools
import math
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

from . import channel, final_output
from .options import CellOptions

LIVE_AFTER_S = 0.25


@functools.cache
def widgets_available() -> bool:
    try:
        from . import widget  # noqa: F401  # ipywidgets is an optional extra
    except ImportError:
        return False
    return True


class _Later:
    """Runs callbacks after a delay unless cancelled, on one daemon thread for the whole kernel
    (starting a thread per cell costs a trivial cell more than the rest of the magic)."""

    def __init__(self) -> None:
        self._condition = threading.Condition()
        self._due: dict[int, tuple[float, Callable[[], None]]] = {}
        self._tokens = itertools.count()
        self._thread: threading.Thread | None = None
        self._wakes_at = math.inf  # when the thread wakes by itself (monotonic clock)

    def schedule(self, delay_s: float, callback: Callable[[], None]) -> int:
        with self._condition:
            token = next(self._tokens)
            at = time.monotonic() + delay_s
            self._due[token] = (at, callback)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="jupyterlab-carbon-widget", daemon=True)
                self._thread.start()
            elif at < self._wakes_at:
                # Woken only when it would sleep past this: in a run of short cells, each
                # cancelled before it is due, the thread wakes once per LIVE_AFTER_S instead of
                # taking the GIL from every cell.
                self._condition.notify()
            return token

    def cancel(self, token: int) -> None:
        with self._condition:
            self._due.pop(token, None)

    def _run(self) -> None:
        while True:
            with self._condition:
                if not self._due:
                    self._wakes_at = math.inf
                    self._condition.wait()
                    continue
                token, (at, callback) = min(self._due.items(), key=lambda item: item[1][0])
                remaining = at - time.monotonic()
                if remaining > 0:
                    self._wakes_at = at
                    self._condition.wait(remaining)
                    continue
                del self._due[token]
            try:
                callback()
            except Exception as err:  # one cell's failed display must not end the others' live widgets
                print(f"jupyterlab-carbon: the live widget could not be shown: {err}", file=sys.stderr)


_later = _Later()


class DeferredWidget:
    """One ``%%carbon`` execution's widget (see the module's docstring)."""

    def __init__(self, options: CellOptions) -> None:
        self._options = options
        self._request = channel.current_request()
        self.started_at = time.time()
        self._lock = threading.Lock()
        self._ended = False
        self._widget: Any | None = None
        self._token = _later.schedule(LIVE_AFTER_S, functools.partial(contextvars.copy_context().run, self._show_live))

    def _state(
        self, status: str, summary: dict[str, Any], details: list[str], budget: dict[str, Any] | None
    ) -> dict[str, Any]:
        """What the output shows (``final_output.STATE_FIELDS``)."""
        options = self._options
        declared = {**options.budget.to_json(), "on_budget": options.on_budget} if options.budget is not None else {}
        return {
            "msg_id": str(self._request.get("msg_id", "")) if self._request is not None else "",
            "experiment": options.experiment or "",
            "run_name": options.name or "",
            "budget": budget or declared,
            "status": status,
            "started_at": self.started_at,
            "summary": summary,
            "details": details,
        }

    def _show_live(self) -> None:
        with self._lock:
            if self._ended:
                return
            from .widget import CarbonWidget

            widget = CarbonWidget(**self._state("running", {}, [], None))
            widget.show()
            self._widget = widget

    def body_ended(self) -> None:
        """No live display from now on (what follows the body is the magic's own bookkeeping)."""
        _later.cancel(self._token)
        with self._lock:  # a live display under way completes first
            self._ended = True

    def finish(self, status: str, summary: dict[str, Any], details: list[str], budget: dict[str, Any] | None) -> None:
        """The live widget takes the final figures; a body that ended before it showed gets them as a
        plain output (``final_output``)."""
        self.body_ended()
        if self._widget is not None:
            self._widget.finish(status, summary, details, budget)
            return
        # No widget model for a body this short: its final figures as a plain bundle.
        final_output.publish_after_pending_output(final_output.bundle(self._state(status, summary, details, budget)))
