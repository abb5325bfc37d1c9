"""``jupyter carbon run NOTEBOOK...``: execute, measure, record, report, and gate."""

from __future__ import annotations

import argparse
import json
import sys
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..cli import EXIT_CELL_FAILED, EXIT_GATE, EXIT_OK, UsageError
from ..measurement import Monitor
from .gates import Budget, check_baseline, check_budget, parse_budget, parse_increase
from .parameters import parse_value
from .report import FORMATS, build_report, history_reference, write_report
from .run import Instruments, NotebookRun, run_notebook
from .settings import HeadlessSettings, meter_config

if TYPE_CHECKING:
    from ..ledger import Ledger

DEFAULT_INCREASE = "10%"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("notebooks", nargs="+", metavar="NOTEBOOK", type=Path, help="notebooks to run, in order")
    parser.add_argument(
        "-o",
        "--output",
        type=Path,
        help="the executed notebook (a folder when several are run); default: NAME.carbon.ipynb beside each",
    )
    parser.add_argument(
        "--report",
        type=Path,
        action="append",
        default=[],
        metavar="FILE",
        help="write the report to FILE (.md, .html or .json; repeat for several formats)",
    )
    parser.add_argument("--budget", help="fail (exit 1) above this energy or CO2e, e.g. 50Wh, 0.2kWh, 20g")
    parser.add_argument("--baseline", type=Path, help="a report JSON of an earlier run to compare with")
    parser.add_argument(
        "--max-increase",
        default=DEFAULT_INCREASE,
        help=f"fail (exit 1) when the energy rose more than this against --baseline (default {DEFAULT_INCREASE})",
    )
    parser.add_argument(
        "-p",
        "--parameter",
        nargs=2,
        action="append",
        default=[],
        metavar=("NAME", "VALUE"),
        help="set a parameter (injected after the cell tagged 'parameters'; VALUE read as a Python literal)",
    )
    parser.add_argument("--kernel", help="kernel name (default: the notebook's)")
    parser.add_argument("--timeout", type=float, help="seconds a cell may run (default: no limit)")
    parser.add_argument("--experiment", help="the experiment of the runs (default: each notebook's path)")
    parser.add_argument("--ledger", help="SQLAlchemy URL of the ledger (default: the server's configuration)")


def _outputs(notebooks: list[Path], output: Path | None) -> list[Path]:
    if output is None:
        return [nb.with_name(f"{nb.stem}.carbon.ipynb") for nb in notebooks]
    if len(notebooks) == 1 and output.suffix == ".ipynb":
        return [output]
    if output.suffix == ".ipynb":
        raise UsageError(f"-o {output} names one notebook, but {len(notebooks)} are run: give a folder")
    return [output / nb.name for nb in notebooks]


def _read_baseline(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as err:
        raise UsageError(f"cannot read the baseline {path}: {err}") from None
    if not isinstance(data, dict) or "totals" not in data or "cells" not in data:
        raise UsageError(f"{path} is not a report JSON of `jupyter carbon run --report FILE.json`")
    return data


def _check(args: argparse.Namespace) -> tuple[Budget | None, float | None, dict[str, Any] | None]:
    missing = [str(nb) for nb in args.notebooks if not nb.is_file()]
    if missing:
        raise UsageError(f"no such notebook: {', '.join(missing)}")
    for target in args.report:
        if target.suffix.lstrip(".").lower() not in FORMATS:
            raise UsageError(f"--report {target}: name the file .md, .html or .json")
    if args.timeout is not None and args.timeout <= 0:
        raise UsageError("--timeout must be a number of seconds > 0")
    try:
        budget = parse_budget(args.budget) if args.budget else None
        increase = parse_increase(args.max_increase) if args.baseline else None
    except ValueError as err:
        raise UsageError(str(err)) from None
    baseline = _read_baseline(args.baseline) if args.baseline else None
    return budget, increase, baseline


def open_instruments(settings: HeadlessSettings) -> Instruments:
    """The ledger and the meters (with the sampler started): ~0.5 s of imports and detection."""
    from ..ledger import Ledger, LedgerError

    try:
        ledger = Ledger(settings.ledger_url)
    except LedgerError as err:  # unreachable, refused, or not a ledger: before any cell runs
        raise UsageError(f"{err}. Check --ledger or JUPYTERLAB_CARBON_LEDGER_URL.") from None
    monitor = Monitor.open(meter_config(settings.carbon), period_s=settings.carbon.sample_period_s)
    for diagnosis in monitor.diagnoses:
        print(f"jupyter carbon: {getattr(diagnosis, 'message', diagnosis)}", file=sys.stderr)
    return Instruments(monitor, ledger)


def _close(instruments: Future[Instruments]) -> None:
    """Stop the sampler once the opening has ended (an interrupted start still leaves it running)."""
    if instruments.exception() is None:
        instruments.result().monitor.close()


def run(args: argparse.Namespace) -> int:
    budget, increase, baseline = _check(args)
    outputs = _outputs(args.notebooks, args.output)
    parameters = {name: parse_value(value) for name, value in args.parameter}
    try:
        settings = HeadlessSettings(args.ledger)
    except ValueError as err:  # an unknown zone or an impossible number in the server's configuration
        raise UsageError(f"the carbon settings are refused: {err}") from None
    runs: list[NotebookRun] = []
    # Opened while nbclient starts the first kernel; the first cell waits for them if need be.
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="carbon-open") as opener:
        instruments = opener.submit(open_instruments, settings)
        try:
            for notebook, output in zip(args.notebooks, outputs, strict=True):
                try:
                    runs.append(
                        run_notebook(
                            notebook,
                            output,
                            settings,
                            instruments,
                            parameters,
                            args.kernel,
                            args.timeout,
                            args.experiment,
                            sys.stdout,
                        )
                    )
                except ValueError as err:  # a bad parameter name, an unreadable notebook
                    raise UsageError(f"{notebook}: {err}") from None
        finally:
            _close(instruments)
    return _conclude(args, runs, instruments.result().ledger, budget, increase, baseline)


def _conclude(
    args: argparse.Namespace,
    runs: list[NotebookRun],
    ledger: Ledger,
    budget: Budget | None,
    increase: float | None,
    baseline: dict[str, Any] | None,
) -> int:
    records = [record for run in runs for record in run.records]
    failed = [run for run in runs if run.error is not None]
    for run in failed:
        print(f"jupyter carbon run: {run.path} stopped: {run.error} (executed copy: {run.output})", file=sys.stderr)
    if not records:
        print("jupyter carbon run: no code cell ran: nothing measured.", file=sys.stderr)
        return EXIT_CELL_FAILED if failed else EXIT_OK
    experiments = {r.experiment for r in records}
    history = (
        history_reference(ledger, experiments.pop(), min(r.started_at for r in records))
        if len(experiments) == 1
        else []
    )
    title = "Carbon report: " + ", ".join(str(run.path) for run in runs)
    report = build_report(records, title, {"run": [str(run.path) for run in runs]}, baseline, history)
    for target in args.report:
        print(f"jupyter carbon run: report written to {write_report(report, target)}")
    print(f"grade {report['grade']['letter']} (rubric v{report['grade']['rubric_version']})")
    gates = [
        check_budget(budget, report["totals"]["energy_j"], report["totals"]["gco2e"]) if budget else None,
        check_baseline(report["baseline"], increase)
        if report["baseline"] is not None and increase is not None
        else None,
    ]
    messages = [message for message in gates if message]
    for message in messages:
        print(f"jupyter carbon run: {message}", file=sys.stderr)
    if failed:
        return EXIT_CELL_FAILED
    return EXIT_GATE if messages else EXIT_OK
