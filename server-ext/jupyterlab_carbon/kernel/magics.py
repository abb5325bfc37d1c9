"""IPython side: ``%load_ext jupyterlab_carbon`` registers ``%carbon`` (line) and ``%%carbon`` (cell).

Imports nothing of tornado or the Jupyter server: a kernel only needs the meters library.
"""

from __future__ import annotations

import html
import os
import shlex
import sys
from typing import Any

from IPython.core.error import UsageError
from IPython.core.magic import Magics, line_cell_magic, magics_class

from ..meters import Diagnosis, MeterConfig, MeterSet, Status, open_meters
from . import api
from .cell import run_cell
from .channel import WATCHED_ENV, publish
from .history import compare, export, history, last_run
from .options import USAGE as CELL_USAGE
from .options import CellOptions, parse_options

USAGE = (
    "Usage: %carbon status | last | history [N] | compare RUN RUN... | export [PATH] [--format csv|json]"
    " | estimate --gpu H100-SXM --count 64 --params 7e9 --tokens 2e12 (see %carbon estimate --help)"
    "   (and %%carbon [options] on a cell: %%carbon --help)"
)


class MeterStatus:
    """The meters this kernel's machine offers and why others are missing (text and HTML)."""

    def __init__(self, meters: MeterSet) -> None:
        self.channels = meters.channels
        self.diagnoses = [d for d in meters.diagnoses if d.status is not Status.OK or d.source == "model"]
        self.modeled = meters.modeled

    def __repr__(self) -> str:
        lines = ["jupyterlab-carbon meters on this machine:"]
        for channel in self.channels:
            lines.append(f"  {channel.id:<24} {channel.label}  [{channel.method.value}, {channel.source}]")
        if not self.channels:
            lines.append("  (none)")
        if self.diagnoses:
            lines.append("Diagnosis:")
            for diagnosis in self.diagnoses:
                lines.append(f"  {diagnosis.source}: {diagnosis.status.value}: {diagnosis.message}")
                if diagnosis.fix:
                    lines.append(f"    fix: {diagnosis.fix}")
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        rows = "".join(
            f"<tr><td><code>{html.escape(c.id)}</code></td><td>{html.escape(c.label)}</td>"
            f"<td>{html.escape(c.method.value)}</td><td>{html.escape(c.source)}</td></tr>"
            for c in self.channels
        )
        items = "".join(_diagnosis_html(d) for d in self.diagnoses)
        return (
            '<div class="jp-carbon-status"><strong>jupyterlab-carbon meters on this machine</strong>'
            "<table><thead><tr><th>Channel</th><th>Device</th><th>Method</th><th>Source</th></tr></thead>"
            f"<tbody>{rows}</tbody></table>"
            + (f"<p><strong>Diagnosis</strong></p><ul>{items}</ul>" if items else "")
            + "</div>"
        )


def _diagnosis_html(diagnosis: Diagnosis) -> str:
    fix = f"<br/>Fix: <code>{html.escape(diagnosis.fix)}</code>" if diagnosis.fix else ""
    return (
        f"<li><strong>{html.escape(diagnosis.source)}</strong> ({html.escape(diagnosis.status.value)}): "
        f"{html.escape(diagnosis.message)}{fix}</li>"
    )


@magics_class
class CarbonMagics(Magics):
    @line_cell_magic
    def carbon(self, line: str, cell: str | None = None) -> Any:
        """%carbon status | last | history [N];  %%carbon [options] on a cell (see USAGE)."""
        __tracebackhide__ = True
        if cell is not None:
            if line.strip() in ("-h", "--help"):
                print(CELL_USAGE)
                return None
            options = parse_options(line)
            _declare_flops(self.shell, options)
            return run_cell(self.shell, options, cell)
        words = shlex.split(line)
        command, rest = (words[0], words[1:]) if words else ("", [])
        if command == "status" and not rest:
            meters = open_meters(MeterConfig.from_environment())
            try:
                return MeterStatus(meters)
            finally:
                meters.close()
        if command == "last" and not rest:
            return last_run()
        if command == "history" and len(rest) <= 1 and all(word.isdigit() for word in rest):
            return history(int(rest[0]) if rest else 10)
        if command == "estimate":
            return _estimate(rest)
        if command == "compare" and len(rest) >= 2:
            try:
                return compare(rest)
            except ValueError as err:
                raise UsageError(f"%carbon compare: {err}") from None
        if command == "export" and len(rest) <= 3:
            export_format = "csv"
            if "--format" in rest:
                index = rest.index("--format")
                export_format = rest[index + 1] if index + 1 < len(rest) else ""
                rest = rest[:index] + rest[index + 2 :]
            if export_format not in ("csv", "json") or len(rest) > 1:
                raise UsageError("%carbon export [PATH] [--format csv|json]")
            path = rest[0] if rest else ("emissions.csv" if export_format == "csv" else "runs.json")
            print(export(path, export_format))
            return None
        print(USAGE)
        return None


def _estimate(words: list[str]) -> Any:
    """The training-run calculator (jupyterlab_carbon.predict.calculator) as a text and HTML result."""
    from ..predict.estimate_view import USAGE as ESTIMATE_USAGE
    from ..predict.estimate_view import EstimateView, estimate_from_words

    if words in (["-h"], ["--help"]):
        print(f"%carbon {ESTIMATE_USAGE}")
        return None
    try:
        return EstimateView(estimate_from_words(words))
    except ValueError as err:
        raise UsageError(f"%carbon estimate: {err}") from None


def _declare_flops(shell: Any, options: CellOptions) -> None:
    """``--predict``: count one training step's FLOPs on a meta-device copy, before the body runs.

    Published as the annotation ``flops_declared``; a declaration that cannot be evaluated is
    reported and the body runs anyway (the prediction is advice, the training is the work).
    """
    if not options.predict:
        return
    from ..predict.flops import ANNOTATION_KEY, evaluate_declaration

    try:
        declared = evaluate_declaration(options.predict, shell.user_ns)
    except Exception as err:  # user expressions: any error is theirs to read, not a reason to skip the cell
        print(f"%%carbon --predict: FLOPs not counted: {type(err).__name__}: {err}", file=sys.stderr)
        return
    api.annotate({ANNOTATION_KEY: declared})


def register_magics(ipython: Any) -> None:
    ipython.register_magics(CarbonMagics)
    ipython.events.register("post_run_cell", _report_failure)


def _report_failure(result: Any) -> None:
    """Tell the watcher a cell failed: some errors (a magic's UsageError) reach only the reply,
    which the server does not see, and the run would be recorded ``ok``."""
    if not result.success and os.environ.get(WATCHED_ENV) == "1":
        publish({"status": "error"})
