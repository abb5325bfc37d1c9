"""Hardware priors: the bundled GPU table (``data/gpu_specs.csv``) and utilisation priors.

The utilisation prior is the "effective MFU at TDP": the fraction of the datasheet's peak dense
FLOP/s a training run achieves, counting the device at its TDP. It is fitted on the rows of
``data/published_training_runs.csv`` marked ``split=prior`` (one per device family), never on the
rows the benchmark scores; a device family without such a row gets ``DEFAULT_MFU`` and a wider interval.
"""

from __future__ import annotations

import csv
import difflib
import io
import math
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

DTYPES = ("fp32", "tf32", "bf16", "fp16", "fp8")
# A common planning figure for dense transformer training on modern accelerators (30-50 % is typical).
DEFAULT_MFU = 0.4
# Ratio spreads of the energy interval: a fitted prior, the generic default, a figure the user gave.
FITTED_SPREAD = 0.3
DEFAULT_SPREAD = 0.5
GIVEN_SPREAD = 0.15


@dataclass(frozen=True)
class GpuSpec:
    key: str  # H100-SXM, A100-SXM-80GB...
    model: str
    peak_tflops: dict[str, float]  # dense, per dtype the datasheet gives
    tdp_watts: float
    memory_gb: float
    source: str
    reference: str
    license: str

    @property
    def family(self) -> str:
        """H100, A100, V100...: devices of one family share a utilisation prior."""
        return self.key.split("-")[0]

    def default_dtype(self) -> str:
        """The usual training precision: bf16, else fp16, else fp32."""
        return next(d for d in ("bf16", "fp16", "fp32") if d in self.peak_tflops)

    def to_json(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "model": self.model,
            "peak_tflops": self.peak_tflops,
            "tdp_watts": self.tdp_watts,
            "memory_gb": self.memory_gb,
            "source": self.source,
            "reference": self.reference,
            "license": self.license,
        }


@dataclass(frozen=True)
class PublishedRun:
    """One row of the published training runs table (see data/README.md)."""

    model: str
    architecture: str  # dense | moe | encoder-decoder
    parameters: float
    tokens: float | None
    flops: float | None  # total training FLOPs when the paper reports them
    hardware: str
    hardware_key: str | None  # a gpu_specs.csv key; None when the table has no datasheet row for it
    count: int | None
    gpu_hours: float | None
    power_w: float | None
    pue: float | None
    energy_mwh: float
    energy_basis: str
    split: str  # prior (informs the priors) | held-out (scored) | unscored
    reference: str

    def training_flops(self) -> float | None:
        """6·N·D for a dense model with known tokens, else the paper's own FLOPs."""
        if self.architecture == "dense" and self.tokens is not None:
            return 6.0 * self.parameters * self.tokens
        return self.flops


def _read(name: str) -> list[dict[str, str]]:
    text = resources.files("jupyterlab_carbon.data").joinpath(name).read_text(encoding="utf-8")
    return list(csv.DictReader(io.StringIO(text, newline="")))


def _number(text: str) -> float | None:
    return float(text) if text.strip() else None


@cache
def gpu_specs() -> dict[str, GpuSpec]:
    """Every bundled GPU by key."""
    specs = {}
    for row in _read("gpu_specs.csv"):
        peaks = {dtype: float(row[f"{dtype}_tflops"]) for dtype in DTYPES if row[f"{dtype}_tflops"].strip()}
        specs[row["key"]] = GpuSpec(
            key=row["key"],
            model=row["model"],
            peak_tflops=peaks,
            tdp_watts=float(row["tdp_watts"]),
            memory_gb=float(row["memory_gb"]),
            source=row["source"],
            reference=row["reference"],
            license=row["license"],
        )
    return specs


def find_gpu(name: str) -> GpuSpec:
    """The GPU of that key (case-insensitive), or a ValueError listing close keys."""
    specs = gpu_specs()
    by_lower = {key.lower(): spec for key, spec in specs.items()}
    spec = by_lower.get(name.strip().lower())
    if spec is not None:
        return spec
    close = difflib.get_close_matches(name.strip().lower(), list(by_lower), n=3, cutoff=0.4)
    hint = f" Did you mean {', '.join(by_lower[c].key for c in close)}?" if close else ""
    raise ValueError(f"Unknown GPU {name[:40]!r}: the bundled table has {', '.join(sorted(specs))}.{hint}")


@cache
def published_runs() -> tuple[PublishedRun, ...]:
    rows = []
    for row in _read("published_training_runs.csv"):
        count = _number(row["count"])
        rows.append(
            PublishedRun(
                model=row["model"],
                architecture=row["architecture"],
                parameters=float(row["parameters"]),
                tokens=_number(row["tokens"]),
                flops=_number(row["flops"]),
                hardware=row["hardware"],
                hardware_key=row["hardware_key"] or None,
                count=int(count) if count is not None else None,
                gpu_hours=_number(row["gpu_hours"]),
                power_w=_number(row["power_w"]),
                pue=_number(row["pue"]),
                energy_mwh=float(row["energy_mwh"]),
                energy_basis=row["energy_basis"],
                split=row["split"],
                reference=row["reference"],
            )
        )
    return tuple(rows)


def implied_mfu(run: PublishedRun) -> float | None:
    """The effective MFU at TDP that reproduces the run's reported energy; None when it cannot be known."""
    flops = run.training_flops()
    if run.hardware_key is None or flops is None:
        return None
    spec = gpu_specs()[run.hardware_key]
    peak = spec.peak_tflops[spec.default_dtype()] * 1e12
    joules = run.energy_mwh * 3.6e9
    return flops * spec.tdp_watts * (run.pue or 1.0) / (peak * joules)


@cache
def fitted_mfu() -> dict[str, tuple[float, tuple[str, ...]]]:
    """Per device family: the geometric mean implied MFU of its ``split=prior`` rows, and those rows' models."""
    by_family: dict[str, list[tuple[float, str]]] = {}
    for run in published_runs():
        mfu = implied_mfu(run) if run.split == "prior" else None
        if mfu is not None and run.hardware_key is not None:
            by_family.setdefault(gpu_specs()[run.hardware_key].family, []).append((mfu, run.model))
    return {
        family: (math.exp(sum(math.log(m) for m, _ in rows) / len(rows)), tuple(model for _, model in rows))
        for family, rows in by_family.items()
    }


@dataclass(frozen=True)
class MfuPrior:
    value: float
    spread: float  # the energy interval's ratio spread
    text: str  # what it rests on, for the assumptions list


def mfu_prior(spec: GpuSpec, given: float | None) -> MfuPrior:
    """The utilisation to assume: the user's, else the family's fitted prior, else DEFAULT_MFU."""
    if given is not None:
        return MfuPrior(given, GIVEN_SPREAD, f"MFU {given:g} as given")
    fitted = fitted_mfu().get(spec.family)
    if fitted is not None:
        value, models = fitted
        return MfuPrior(
            value,
            FITTED_SPREAD,
            f"MFU {value:.2f}: the {spec.family} prior fitted on the published runs {', '.join(models)} "
            "(effective MFU with the GPU at its TDP)",
        )
    return MfuPrior(
        DEFAULT_MFU, DEFAULT_SPREAD, f"MFU {DEFAULT_MFU:g}: a generic planning figure, no published {spec.family} run"
    )
