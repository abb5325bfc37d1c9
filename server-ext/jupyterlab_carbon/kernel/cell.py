"""Running a ``%%carbon`` cell: its body exactly as without the magic, annotated and measured.

With the server watching the kernel, the server measures and records the execution; the magic
annotates it (experiment, tags, metrics, budget...). Without one (a console, papermill, another
editor), the magic measures the body in the kernel with the same library and records the run
itself, labelled ``in-kernel``.
"""

from __future__ import annotations

import _thread
import ast
import math
import os
import statistics
import sys
import threading
import time
from contextlib import nullcontext
from typing import Any

from ..measurement import Monitor, Window, WindowMeasurement
from ..units import duration_text, energy_text
from . import api, channel
from .flops import FlopCount, count_flops
from .live_widget import DeferredWidget, widgets_available
from .options import Budget, CellOptions

CHECK_EVERY_S = 0.25


def watched() -> bool:
    """True when a server with this extension started this kernel and records its executions."""
    return os.environ.get(channel.WATCHED_ENV) == "1" and channel.current_request() is not None


def _execute(shell: Any, cell: str) -> Any:
    """Run the cell's code as IPython would, returning its last expression's value."""
    __tracebackhide__ = True
    transformed = shell.transform_cell(cell)
    filename = shell.compile.cache(transformed, shell.execution_count)
    tree = shell.transform_ast(shell.compile.ast_parse(transformed, filename=filename))
    last: ast.expr | None = None
    if tree.body and isinstance(tree.body[-1], ast.Expr):
        last = tree.body.pop().value
    exec(shell.compile(tree, filename, "exec"), shell.user_global_ns, shell.user_ns)
    if last is None:
        return None
    expression = ast.Expression(last)
    ast.fix_missing_locations(expression)
    return eval(shell.compile(expression, filename, "eval"), shell.user_global_ns, shell.user_ns)


def _start_update(options: CellOptions) -> dict[str, Any]:
    update: dict[str, Any] = {}
    if options.experiment is not None:
        update["experiment"] = options.experiment
    if options.name is not None:
        update["name"] = options.name
    if options.tags:
        update["tags"] = list(options.tags)
    if options.budget is not None:
        update["budget"] = {**options.budget.to_json(), "on_budget": options.on_budget}
    if options.per is not None:
        update["per"] = options.per.to_json()
    if options.repeat > 1:
        update["repeat"] = {"count": options.repeat}
    return update


def _metrics(shell: Any, options: CellOptions) -> dict[str, float]:
    """The metrics' values after the body; a metric that cannot be read is named on stderr."""
    values: dict[str, float] = {}
    for name, expression in options.metrics:
        try:
            value = eval(expression, shell.user_global_ns, shell.user_ns)
            number = float(value)
        except Exception as err:  # the body ran; a metric typo must not turn it into an error
            print(
                f"%%carbon: metric {name!r} not recorded: {expression} -> {type(err).__name__}: {err}", file=sys.stderr
            )
            continue
        if not math.isfinite(number):
            print(
                f"%%carbon: metric {name!r} not recorded: {expression} is {number}, not a finite number",
                file=sys.stderr,
            )
            continue
        values[name] = number
    return values


def _spread(windows: list[WindowMeasurement]) -> dict[str, Any]:
    energies = [w.attributed_j for w in windows]
    durations = [w.duration_s for w in windows]
    return {
        "count": len(windows),
        "energy_j": {
            "mean": statistics.fmean(energies),
            "sd": statistics.stdev(energies) if len(energies) > 1 else 0.0,
        },
        "duration_s": {
            "mean": statistics.fmean(durations),
            "sd": statistics.stdev(durations) if len(durations) > 1 else 0.0,
        },
        "methods": sorted({m for w in windows for m in w.methods}),
    }


class _KernelBudget:
    """Without a server, the kernel checks an energy budget itself (a thread, every CHECK_EVERY_S)."""

    def __init__(self, monitor: Monitor, window: Window, budget: Budget, stop: bool) -> None:
        self._monitor, self._window, self._budget, self._stop = monitor, window, budget, stop
        self._done = threading.Event()
        self.exceeded: dict[str, Any] | None = None
        threading.Thread(target=self._run, name="jupyterlab-carbon-budget", daemon=True).start()

    def _run(self) -> None:
        while not self._done.wait(CHECK_EVERY_S):
            spent = self._monitor.end(self._window).attributed_j
            if spent >= self._budget.limit:
                self.exceeded = {
                    "exceeded_at": time.time(),
                    "spent": spent,
                    "limit": self._budget.limit,
                    "kind": "energy",
                }
                if self._stop:
                    _thread.interrupt_main()
                return

    def close(self) -> None:
        self._done.set()


def run_cell(shell: Any, options: CellOptions, cell: str) -> Any:
    """Run the body (``--repeat`` times), then record what the options ask; exceptions propagate."""
    __tracebackhide__ = True
    api.annotate(_start_update(options))
    server_records = watched()
    # In the kernel: the whole body without a server, each repetition, and a budget's account.
    whole_needed = not server_records or options.budget is not None
    monitor = api.monitor() if options.repeat > 1 or whole_needed else None
    whole = monitor.begin("cell") if monitor is not None and whole_needed else None
    guard = None
    if options.budget is not None and not server_records and monitor is not None and whole is not None:
        if options.budget.kind == "energy":
            guard = _KernelBudget(monitor, whole, options.budget, options.on_budget == "stop")
        else:
            print(
                f"%%carbon: the budget {options.budget.text} is not checked: without the Jupyter server extension "
                "the kernel knows no carbon intensity or price; an energy budget (J, Wh, kWh) is checked here.",
                file=sys.stderr,
            )
    repetitions: list[WindowMeasurement] = []
    status = "ok"
    flops = count_flops() if options.flops else nullcontext(None)
    counted: FlopCount | None = None
    # The live delay counts from here, the body's start: the monitor's first opening in a kernel
    # (tens of milliseconds, far more on a loaded machine) must not turn a short body into a live one.
    widget = None if options.quiet or not widgets_available() else DeferredWidget(options)
    try:
        result = None
        with flops as counted:
            for index in range(options.repeat):
                window = monitor.begin(f"repeat {index + 1}") if monitor is not None and options.repeat > 1 else None
                result = _execute(shell, cell)
                if window is not None and monitor is not None:
                    repetitions.append(monitor.end(window))
        return result
    except KeyboardInterrupt:
        status = "interrupted"
        raise
    except BaseException:
        status = "error"
        raise
    finally:
        if widget is not None:
            widget.body_ended()
        update: dict[str, Any] = {}
        if guard is not None:
            guard.close()
            if guard.exceeded is not None and options.budget is not None:
                update["budget"] = {**options.budget.to_json(), "on_budget": options.on_budget, **guard.exceeded}
        if counted is not None:
            update["flops"] = counted.to_json()
            if counted.note:
                print(counted.note, file=sys.stderr)
        if status == "ok" and options.metrics:
            update["metrics"] = _metrics(shell, options)
        if repetitions:
            update["repeat"] = _spread(repetitions)
        if update:
            api.annotate(update)
        measured = monitor.end(whole) if whole is not None and monitor is not None else None
        if measured is not None and not server_records:
            from .in_kernel import record_in_kernel

            record_in_kernel(cell, measured, status, api.current_notes(), shell.execution_count)
        if status == "interrupted" and options.budget is not None and options.on_budget == "stop":
            spent = energy_text(measured.attributed_j) if measured is not None else "an unknown amount"
            print(
                f"%%carbon: interrupted; its budget was {options.budget.text} (--on-budget stop), and the cell "
                f"spent {spent} by this kernel's own measurement (the server's record says budget-exceeded when "
                "the budget stopped it).",
                file=sys.stderr,
            )
        own = measured if not server_records else None
        if widget is not None:
            widget.finish(
                status,
                _widget_summary(measured, update.get("metrics", {}), widget.started_at),
                _summary_parts(options, own, repetitions, server_records),
                update.get("budget"),
            )
        elif not options.quiet and status == "ok":
            print("jupyterlab-carbon: " + "; ".join(_summary_parts(options, own, repetitions, server_records)))


def _widget_summary(measured: WindowMeasurement | None, metrics: dict[str, float], started: float) -> dict[str, Any]:
    """The kernel's final figures for the widget: its own measurement when it made one."""
    summary: dict[str, Any] = {"duration_s": time.time() - started, "metrics": metrics, "source": "kernel"}
    if measured is not None:
        summary.update(
            energy_j=measured.attributed_j,
            duration_s=measured.duration_s,
            methods=list(measured.methods),
            flags=list(measured.flags),
            source="in-kernel",
        )
    return summary


def _summary_parts(
    options: CellOptions, measured: WindowMeasurement | None, repetitions: list[WindowMeasurement], server: bool
) -> list[str]:
    parts: list[str] = []
    if options.experiment:
        parts.append(f"experiment {options.experiment!r}")
    if repetitions:
        spread = _spread(repetitions)
        energy, duration = spread["energy_j"], spread["duration_s"]
        parts.append(
            f"{spread['count']} runs: {energy_text(energy['mean'])} ± {energy_text(energy['sd'])}, "
            f"{duration_text(duration['mean'])} ± {duration_text(duration['sd'])} each"
        )
    flops = api.current_notes().extra.get("flops")
    if options.flops and flops and flops.get("count"):
        parts.append(f"{flops['count']:.3g} FLOPs")
    if measured is not None:
        methods = ", ".join(measured.methods)
        parts.append(f"{energy_text(measured.attributed_j)} in {duration_text(measured.duration_s)} ({methods})")
        if options.per is not None:
            per_unit = measured.attributed_j / options.repeat / options.per.count
            parts.append(f"{energy_text(per_unit)} per unit of work ({options.per.count:g} {options.per.unit} a run)")
    elif server:
        parts.append("measured by the server: the figure shows in the cell's badge and the Run Ledger")
    return parts
