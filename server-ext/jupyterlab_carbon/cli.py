"""``jupyter carbon``: the command line (``jupyter-carbon`` on PATH, found by ``jupyter``'s dispatcher).

Each subcommand lives in its own module and is registered in :data:`SUBCOMMANDS` by name, with a
loader imported only when that subcommand runs (so ``jupyter carbon run`` never imports the
others' dependencies). To add one, write a module with ``add_arguments(parser)`` and
``run(args) -> int`` and add a line to the registry.

Exit statuses (all subcommands): 0 ok, 1 over a budget or a baseline (the CI gate), 2 a cell failed
(the report is written all the same), 3 a usage error (bad option, missing file).
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from types import ModuleType

EXIT_OK = 0
EXIT_GATE = 1
EXIT_CELL_FAILED = 2
EXIT_USAGE = 3


class UsageError(Exception):
    """A mistake in the command line or its files: printed without a traceback, exit status 3."""


@dataclass(frozen=True)
class Subcommand:
    """A registered subcommand: its one-line help and the module holding add_arguments and run."""

    help: str
    module: str

    def load(self) -> ModuleType:
        return importlib.import_module(self.module, __package__)


SUBCOMMANDS: dict[str, Subcommand] = {
    "run": Subcommand("execute notebooks, measuring every cell; gate on a budget or a baseline", ".headless.cli_run"),
    "report": Subcommand("a graded sustainability report from the ledger (md, html, json)", ".headless.cli_report"),
    "estimate": Subcommand(
        "the training-run calculator: time, energy, CO2e, cost from size and GPUs", ".predict.cli_estimate"
    ),
}


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        """argparse exits 2 on a usage error; 2 means a failed cell here, so usage errors exit 3."""
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


def build_parser(chosen: str | None) -> argparse.ArgumentParser:
    """The parser, with the arguments of ``chosen`` only (the others are listed, not imported)."""
    parser = _Parser(prog="jupyter carbon", description="Energy and carbon of notebooks, without a server.")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True, parser_class=_Parser)
    for name, subcommand in SUBCOMMANDS.items():
        sub = commands.add_parser(name, help=subcommand.help, description=subcommand.help)
        if name == chosen:
            subcommand.load().add_arguments(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    chosen = next((a for a in args_list if not a.startswith("-")), None)
    args = build_parser(chosen if chosen in SUBCOMMANDS else None).parse_args(args_list)
    run: Callable[[argparse.Namespace], int] = SUBCOMMANDS[args.command].load().run
    try:
        return run(args)
    except UsageError as err:
        print(f"jupyter carbon {args.command}: {err}", file=sys.stderr)
        return EXIT_USAGE


if __name__ == "__main__":
    # `python -m jupyterlab_carbon.cli` runs this file as `__main__`, a second copy of the module
    # whose UsageError is not the one the subcommands raise: run the package's own main.
    from jupyterlab_carbon.cli import main as package_main

    sys.exit(package_main())
