"""The options of ``%%carbon``, checked before the cell's body runs.

Every mistake is an IPython ``UsageError`` that says which option and why, so a typo in a
budget never costs a training run.
"""

from __future__ import annotations

import argparse
import functools
import math
import re
import shlex
from dataclasses import dataclass
from typing import Any

from IPython.core.error import UsageError

REPEAT_MAX = 10000
# Units of a budget: energy (to joules), emissions (to grams CO2e); anything else of three
# letters is a currency code, compared with the server's configured currency.
ENERGY_UNITS = {"J": 1.0, "KJ": 1e3, "WH": 3600.0, "KWH": 3.6e6, "MWH": 3.6e9}
CARBON_UNITS = {"G": 1.0, "GCO2E": 1.0, "KG": 1e3, "KGCO2E": 1e3, "T": 1e6}
_BUDGET = re.compile(r"\s*([0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)\s*([A-Za-z][A-Za-z0-9]*)\s*")
_CURRENCY = re.compile(r"[A-Za-z]{3}")
_METRIC_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.\-]{0,63}")

USAGE = (
    "%%carbon [-e EXPERIMENT] [-n NAME] [-t TAG]... [--budget 5Wh|2g|0.10EUR] [--on-budget warn|stop] "
    '[--flops] [--predict "model=net, batch=b, steps=n"] [--metric NAME[=EXPRESSION]]... [--repeat N] '
    "[--per N UNIT] [--quiet]"
)


@dataclass(frozen=True)
class Budget:
    """A limit on the cell's attributed energy, emissions or cost."""

    kind: str  # energy | carbon | cost
    limit: float  # joules, grams CO2e, or currency units
    currency: str | None
    text: str  # as the user wrote it

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "limit": self.limit, "currency": self.currency, "text": self.text}


@dataclass(frozen=True)
class Per:
    """Work done by the cell, to state its cost per unit (kWh per 1,000 inferences)."""

    count: float
    unit: str

    def to_json(self) -> dict[str, Any]:
        return {"count": self.count, "unit": self.unit}


@dataclass(frozen=True)
class CellOptions:
    experiment: str | None = None
    name: str | None = None
    tags: tuple[str, ...] = ()
    budget: Budget | None = None
    on_budget: str = "warn"
    flops: bool = False
    metrics: tuple[tuple[str, str], ...] = ()  # (name, expression)
    repeat: int = 1
    per: Per | None = None
    quiet: bool = False
    predict: tuple[tuple[str, str], ...] = ()  # (model|batch|steps, expression), evaluated before the body


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> Any:  # argparse would exit the kernel's process
        raise UsageError(f"%%carbon: {message}\nUsage: {USAGE}")


def parse_budget(text: str) -> Budget:
    match = _BUDGET.fullmatch(text)
    if match is None:
        raise UsageError(f"%%carbon: --budget {text!r} is not a number and a unit, such as 5Wh, 2g or 0.10EUR.")
    value, unit = float(match.group(1)), match.group(2)
    if not math.isfinite(value) or value <= 0:
        raise UsageError(f"%%carbon: --budget {text!r} must be above zero.")
    upper = unit.upper()
    if upper in ENERGY_UNITS:
        return Budget("energy", value * ENERGY_UNITS[upper], None, text)
    if upper in CARBON_UNITS:
        return Budget("carbon", value * CARBON_UNITS[upper], None, text)
    if _CURRENCY.fullmatch(unit):
        return Budget("cost", value, upper, text)
    raise UsageError(
        f"%%carbon: --budget unit {unit!r} is not known: use J, kJ, Wh, kWh (energy), g, kg (CO2e) "
        "or a three-letter currency code such as EUR."
    )


def _metric(spec: str) -> tuple[str, str]:
    name, _, expression = spec.partition("=")
    name, expression = name.strip(), expression.strip()
    if not _METRIC_NAME.fullmatch(name):
        raise UsageError(f"%%carbon: --metric {spec!r}: a metric name is a Python-like name of at most 64 characters.")
    if "=" in spec and not expression:
        raise UsageError(f"%%carbon: --metric {spec!r} has no expression after '='.")
    expression = expression or name
    try:
        compile(expression, "<%%carbon --metric>", "eval")
    except SyntaxError as err:
        raise UsageError(
            f"%%carbon: --metric {spec!r}: {expression!r} is not a Python expression ({err.msg})."
        ) from None
    return name, expression


@functools.cache
def _parser() -> _Parser:
    parser = _Parser(prog="%%carbon", add_help=False, usage=USAGE)
    parser.add_argument("-e", "--experiment")
    parser.add_argument("-n", "--name")
    parser.add_argument("-t", "--tag", action="append", default=[])
    parser.add_argument("--budget")
    parser.add_argument("--on-budget", choices=("warn", "stop"), default="warn")
    parser.add_argument("--flops", action="store_true")
    parser.add_argument("--predict")
    parser.add_argument("--metric", action="append", default=[])
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--per", nargs=2, metavar=("N", "UNIT"))
    parser.add_argument("--quiet", action="store_true")
    return parser


def parse_options(line: str) -> CellOptions:
    """The options on the ``%%carbon`` line; UsageError naming the problem otherwise."""
    try:
        words = shlex.split(line)
    except ValueError as err:
        raise UsageError(f"%%carbon: cannot split the options ({err}); check the quotes.") from None
    args = _parser().parse_args(words)
    from ..ledger.annotations import experiment_name, tag  # the ledger's own checks, same messages

    try:
        experiment = experiment_name(args.experiment) if args.experiment is not None else None
        name = experiment_name(args.name) if args.name is not None else None
        tags = tuple(sorted({tag(value) for value in args.tag}))
    except ValueError as err:
        raise UsageError(f"%%carbon: {err}") from None
    if not 1 <= args.repeat <= REPEAT_MAX:
        raise UsageError(f"%%carbon: --repeat must be 1 to {REPEAT_MAX}, not {args.repeat}.")
    per = None
    if args.per is not None:
        count_text, unit = args.per
        try:
            count = float(count_text)
        except ValueError:
            count = math.nan
        if not math.isfinite(count) or count <= 0:
            raise UsageError(
                f"%%carbon: --per needs a count above zero and a unit, as in --per 1000 inferences; got {count_text!r}."
            )
        per = Per(count, tag(unit) if unit.strip() else "units")
    metrics = tuple(_metric(spec) for spec in args.metric)
    predict: tuple[tuple[str, str], ...] = ()
    if args.predict is not None:
        from ..predict.flops import parse_declaration  # light: ast only, torch is imported when evaluated

        try:
            predict = parse_declaration(args.predict)
        except ValueError as err:
            raise UsageError(f"%%carbon: {err}") from None
    if len({name for name, _ in metrics}) != len(metrics):
        raise UsageError("%%carbon: a metric is named twice.")
    return CellOptions(
        experiment=experiment,
        name=name,
        tags=tags,
        budget=parse_budget(args.budget) if args.budget is not None else None,
        on_budget=args.on_budget,
        flops=args.flops,
        metrics=metrics,
        repeat=args.repeat,
        per=per,
        quiet=args.quiet,
        predict=predict,
    )
