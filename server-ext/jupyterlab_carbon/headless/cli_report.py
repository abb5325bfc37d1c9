"""``jupyter carbon report``: a report of runs already in the ledger."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

from ..cli import EXIT_OK, UsageError
from ..ledger import MAX_LIMIT, Ledger, RunQuery
from ..records import RunRecord
from .report import FORMATS, build_report, history_reference, to_html, to_markdown, write_report
from .run import notebook_label
from .settings import HeadlessSettings


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "notebook", nargs="?", type=Path, help="the notebook whose latest session (kernel) to report on"
    )
    parser.add_argument("--experiment", help="every run of this experiment")
    parser.add_argument("--since", help="runs started on or after this date or time (ISO 8601, e.g. 2026-11-01)")
    parser.add_argument("--format", choices=FORMATS, default="md", help="md (default), html or json")
    parser.add_argument("-o", "--output", type=Path, help="write to FILE (default: standard output)")
    parser.add_argument("--baseline", type=Path, help="a report JSON to compare with")
    parser.add_argument("--ledger", help="SQLAlchemy URL of the ledger (default: the server's configuration)")


def _since(text: str | None) -> float | None:
    if text is None:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise UsageError(
            f"--since {text!r} is not an ISO 8601 date or time, e.g. 2026-11-01 or 2026-11-01T09:00"
        ) from None
    return moment.timestamp()


def _all(ledger: Ledger, query: RunQuery) -> list[RunRecord]:
    records: list[RunRecord] = []
    while True:
        _, page = ledger.search(query, order="asc", limit=MAX_LIMIT, offset=len(records))
        records += page
        if len(page) < MAX_LIMIT:
            return records


def select_runs(ledger: Ledger, args: argparse.Namespace) -> tuple[list[RunRecord], dict[str, Any]]:
    """The runs the arguments name, and the scope as the report states it."""
    since = _since(args.since)
    if args.notebook is None and args.experiment is None and since is None:
        raise UsageError("name a NOTEBOOK, an --experiment or a --since date")
    scope: dict[str, Any] = {"experiment": args.experiment, "since": args.since}
    query = RunQuery(experiment=args.experiment, since=since)
    if args.notebook is not None:
        label = notebook_label(args.notebook)
        _, latest = ledger.search(RunQuery(notebook_path=label, experiment=args.experiment, since=since), limit=1)
        if not latest:
            raise UsageError(f"the ledger has no run of {label}: run it with `jupyter carbon run {args.notebook}`")
        scope.update(notebook=label, kernel_id=latest[0].kernel_id)
        query = RunQuery(notebook_path=label, kernel_id=latest[0].kernel_id, experiment=args.experiment, since=since)
    return _all(ledger, query), scope


def run(args: argparse.Namespace) -> int:
    baseline = None
    if args.baseline is not None:
        try:
            baseline = json.loads(args.baseline.read_text())
        except (OSError, ValueError) as err:
            raise UsageError(f"cannot read the baseline {args.baseline}: {err}") from None
    settings = HeadlessSettings(args.ledger)
    ledger = Ledger(settings.ledger_url)
    records, scope = select_runs(ledger, args)
    if not records:
        raise UsageError(f"no run in the ledger matches {scope}")
    experiments = {r.experiment for r in records}
    history = (
        history_reference(ledger, next(iter(experiments)), min(r.started_at for r in records))
        if len(experiments) == 1 and args.experiment is None
        else []
    )
    described = ", ".join(f"{k} {v}" for k, v in scope.items() if v is not None and k != "kernel_id")
    report = build_report(records, f"Carbon report: {described}", scope, baseline, history)
    if args.output is not None:
        write_report(report, args.output, args.format)
    elif args.format == "json":
        sys.stdout.write(json.dumps(report, indent=1, allow_nan=False) + "\n")
    else:
        sys.stdout.write((to_html(report) if args.format == "html" else to_markdown(report)) + "\n")
    return EXIT_OK
