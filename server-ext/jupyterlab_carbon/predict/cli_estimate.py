"""``jupyter carbon estimate ... [--json]``: the training-run calculator on the command line."""

from __future__ import annotations

import argparse
import json

from ..cli import EXIT_OK, UsageError
from .calculator import estimate_training
from .estimate_view import EstimateView, add_options, run_from


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_options(parser)
    parser.add_argument("--json", action="store_true", help="print the whole estimate as JSON")


def run(args: argparse.Namespace) -> int:
    try:
        result = estimate_training(run_from(args))
    except ValueError as err:
        raise UsageError(str(err)) from None
    print(json.dumps(result.to_json(), indent=1, allow_nan=False) if args.json else repr(EstimateView(result)))
    return EXIT_OK
