"""``%carbon estimate ...``: the calculator's options, and its result as text and as HTML."""

from __future__ import annotations

import argparse
import html
from collections.abc import Sequence
from typing import Any

from ..units import carbon_text, duration_text, energy_text
from .calculator import TrainingEstimate, TrainingRun, estimate_training

USAGE = (
    "estimate --gpu H100-SXM --count 64 (--params 7e9 --tokens 2e12 | --flops 8.4e22) [--mfu 0.4] [--pue 1.1] "
    "[--dtype bf16] [--region aws:us-east-1 | --zone FR] [--price 0.15 --currency EUR]"
)


class EstimateUsageError(ValueError):
    """Options the calculator cannot read; the message says which and shows the usage."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> Any:  # argparse would exit the process (a kernel's!)
        raise EstimateUsageError(f"{message}\nUsage: {USAGE}")


def add_options(parsed: argparse.ArgumentParser) -> None:
    """The calculator's options, shared by ``%carbon estimate`` and ``jupyter carbon estimate``."""
    parsed.add_argument("--gpu", required=True, help="a gpu_specs.csv key, e.g. H100-SXM, A100-SXM-80GB")
    parsed.add_argument("--count", type=int, default=1, help="number of GPUs")
    parsed.add_argument("--params", type=float, help="model parameters (dense transformer)")
    parsed.add_argument("--tokens", type=float, help="training tokens")
    parsed.add_argument("--flops", type=float, help="total training FLOPs, instead of --params and --tokens")
    parsed.add_argument("--mfu", type=float, help="model FLOPs utilisation, 0-1 (default: the device's prior)")
    parsed.add_argument("--pue", type=float, help="data centre PUE (default: the region's, else 1.1)")
    parsed.add_argument("--dtype", help="fp32, tf32, bf16, fp16 or fp8 (default: bf16, else fp16)")
    where = parsed.add_mutually_exclusive_group()
    where.add_argument("--region", help="provider:region, e.g. aws:us-east-1")
    where.add_argument("--zone", help="grid zone, e.g. FR, US-CA")
    parsed.add_argument("--price", type=float, help="price per kWh")
    parsed.add_argument("--currency", help="ISO 4217 code of --price, e.g. EUR")


def parser(prog: str = "%carbon estimate") -> argparse.ArgumentParser:
    parsed = _Parser(prog=prog, add_help=False, usage=USAGE)
    add_options(parsed)
    return parsed


def run_from(args: argparse.Namespace) -> TrainingRun:
    return TrainingRun(
        gpu=args.gpu,
        count=args.count,
        params=args.params,
        tokens=args.tokens,
        flops=args.flops,
        mfu=args.mfu,
        pue=args.pue,
        dtype=args.dtype,
        zone=args.zone,
        region=args.region,
        price_per_kwh=args.price,
        currency=args.currency.upper() if args.currency else None,
    )


def estimate_from_words(words: Sequence[str], prog: str = "%carbon estimate") -> TrainingEstimate:
    """Parse the options and run the calculator; EstimateUsageError or ValueError saying what is wrong."""
    return estimate_training(run_from(parser(prog).parse_args(list(words))))


def _range(low: str, p50: str, high: str) -> str:
    return f"{p50} ({low} to {high})"


class EstimateView:
    """A calculator result for a notebook: text for consoles, escaped HTML for JupyterLab."""

    def __init__(self, result: TrainingEstimate) -> None:
        self.result = result

    def rows(self) -> list[tuple[str, str]]:
        r = self.result
        rows = [
            ("FLOPs", f"{r.flops:.3g}"),
            ("GPUs", f"{r.count} x {r.gpu['model']} ({r.dtype}, MFU {r.mfu:.2f})"),
            ("GPU-hours", _range(*(f"{v:,.0f}" for v in (r.gpu_hours.low, r.gpu_hours.p50, r.gpu_hours.high)))),
            (
                "Wall time",
                _range(*(duration_text(v) for v in (r.wall_time_s.low, r.wall_time_s.p50, r.wall_time_s.high))),
            ),
            ("Energy (GPUs)", _range(*(energy_text(v) for v in (r.energy_j.low, r.energy_j.p50, r.energy_j.high)))),
            (
                f"Energy (facility, PUE {r.pue:g})",
                _range(
                    *(
                        energy_text(v)
                        for v in (r.facility_energy_j.low, r.facility_energy_j.p50, r.facility_energy_j.high)
                    )
                ),
            ),
            ("Emissions", _range(*(carbon_text(v) for v in (r.gco2e.low, r.gco2e.p50, r.gco2e.high)))),
        ]
        if r.cost is not None:
            rows.append(
                (
                    "Cost",
                    _range(*(f"{v:,.0f} {r.currency or ''}".strip() for v in (r.cost.low, r.cost.p50, r.cost.high))),
                )
            )
        greenest = r.regions[0] if r.regions else None
        if greenest is not None:
            rows.append(
                (
                    "Greenest cloud region",
                    f"{greenest['provider']}:{greenest['region']} ({carbon_text(greenest['gco2e'])})",
                )
            )
        return rows

    def __repr__(self) -> str:
        lines = ["jupyterlab-carbon training-run estimate:"]
        lines += [f"  {name:<28} {value}" for name, value in self.rows()]
        lines.append("Assumptions:")
        lines += [f"  - {line}" for line in self.result.assumptions]
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        rows = "".join(
            f"<tr><th scope='row'>{html.escape(name)}</th><td>{html.escape(value)}</td></tr>"
            for name, value in self.rows()
        )
        assumptions = "".join(f"<li>{html.escape(line)}</li>" for line in self.result.assumptions)
        return (
            '<div class="jp-carbon-estimate"><strong>Training-run estimate</strong>'
            f"<table><tbody>{rows}</tbody></table><p>Assumptions</p><ul>{assumptions}</ul></div>"
        )
