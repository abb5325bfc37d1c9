"""The training-run calculator: a run too big for this node, from its size and its hardware.

FLOPs = 6·N·D for a dense transformer (N parameters, D tokens: forward 2·N·D, backward 4·N·D),
or the FLOPs given. Then, with the GPU's dense peak for the dtype and a utilisation (MFU):

- GPU-hours = FLOPs / (peak x MFU) / 3600;  wall time = GPU-hours / count;
- energy = GPU-hours x TDP (the GPUs only, at their TDP), facility energy = energy x PUE;
- CO2e = facility energy x the zone's or cloud region's intensity; cost = facility energy x price.

Every assumption is listed in the result; the interval comes from the MFU's uncertainty.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from ..data import cloud_regions
from ..intensity import IntensitySettings, ResolvedIntensity, compute_impact, resolve_intensity
from .interval import Interval
from .priors import find_gpu, mfu_prior

JOULES_PER_KWH = 3.6e6
# A well-run data centre's PUE when neither a PUE nor a cloud region is given.
DEFAULT_PUE = 1.1
MAX_COUNT = 1_000_000


@dataclass(frozen=True)
class TrainingRun:
    """What the user says about the run; None where the calculator's default applies."""

    gpu: str
    count: int = 1
    params: float | None = None
    tokens: float | None = None
    flops: float | None = None  # total training FLOPs, instead of params and tokens
    mfu: float | None = None
    pue: float | None = None
    dtype: str | None = None
    zone: str | None = None  # grid zone, e.g. FR
    region: str | None = None  # provider:region, e.g. aws:us-east-1
    price_per_kwh: float | None = None
    currency: str | None = None

    def check(self) -> None:
        """ValueError naming the first thing wrong."""
        if self.flops is None and (self.params is None or self.tokens is None):
            raise ValueError(
                "give the model's parameters and training tokens (--params, --tokens), or its FLOPs (--flops)"
            )
        if self.flops is not None and (self.params is not None or self.tokens is not None):
            # One of the two would be ignored: say so rather than pick one.
            raise ValueError("give the FLOPs (--flops), or the parameters and tokens (--params, --tokens), not both")
        numbers = {"params": self.params, "tokens": self.tokens, "flops": self.flops, "price": self.price_per_kwh}
        for name, value in numbers.items():
            if value is not None and (not math.isfinite(value) or value <= 0):
                raise ValueError(f"{name} must be a finite number above zero, got {value!r}")
        if not 1 <= self.count <= MAX_COUNT:
            raise ValueError(f"count must be 1 to {MAX_COUNT:,} GPUs, got {self.count}")
        if self.mfu is not None and not 0 < self.mfu <= 1:
            raise ValueError(f"mfu must be above 0 and at most 1 (a fraction of the peak), got {self.mfu!r}")
        if self.pue is not None and not 1 <= self.pue <= 3:
            raise ValueError(f"pue must be 1 to 3, got {self.pue!r}")
        if self.zone and self.region:
            raise ValueError("give a grid zone or a cloud region, not both")
        if self.region is not None and ":" not in self.region:
            raise ValueError(f"region must be provider:region, such as aws:us-east-1, got {self.region[:40]!r}")


@dataclass(frozen=True)
class TrainingEstimate:
    flops: float
    gpu: dict[str, Any]
    dtype: str
    mfu: float
    pue: float
    count: int
    gpu_hours: Interval
    wall_time_s: Interval
    energy_j: Interval  # the GPUs'
    facility_energy_j: Interval  # x PUE
    gco2e: Interval
    cost: Interval | None
    currency: str | None
    intensity: ResolvedIntensity
    assumptions: list[str]
    regions: list[dict[str, Any]] = field(default_factory=list)  # the same run in every bundled cloud region

    def to_json(self) -> dict[str, Any]:
        return {
            "flops": self.flops,
            "gpu": self.gpu,
            "dtype": self.dtype,
            "mfu": self.mfu,
            "pue": self.pue,
            "count": self.count,
            "gpu_hours": self.gpu_hours.to_json(),
            "wall_time_s": self.wall_time_s.to_json(),
            "energy_j": self.energy_j.to_json(),
            "facility_energy_j": self.facility_energy_j.to_json(),
            "gco2e": self.gco2e.to_json(),
            "cost": self.cost.to_json() if self.cost is not None else None,
            "currency": self.currency,
            "intensity": self.intensity.to_json(),
            "assumptions": self.assumptions,
            "regions": self.regions,
        }


def _intensity(run: TrainingRun) -> ResolvedIntensity:
    provider, region = run.region.split(":", 1) if run.region else (None, None)
    settings = IntensitySettings(user_zone=run.zone or None, cloud_provider=provider, cloud_region=region, pue=run.pue)
    resolved = resolve_intensity(settings)
    if run.pue is None and region is None:
        # resolve_intensity assumes a desk (PUE 1.0); a training cluster sits in a data centre.
        resolved = ResolvedIntensity(**{**resolved.to_json(), "pue": DEFAULT_PUE, "pue_source": "assumed data centre"})
    return resolved


def estimate_training(run: TrainingRun) -> TrainingEstimate:
    """The run's FLOPs, time, energy, emissions and cost, each with an interval; ValueError on bad input."""
    run.check()
    spec = find_gpu(run.gpu)
    dtype = (run.dtype or spec.default_dtype()).lower()
    if dtype not in spec.peak_tflops:
        raise ValueError(f"{spec.key} has no {dtype} figure in its datasheet; it has {', '.join(spec.peak_tflops)}")
    prior = mfu_prior(spec, run.mfu)
    assumptions: list[str] = []
    if run.flops is not None:
        flops = run.flops
        assumptions.append(f"FLOPs {flops:.3g} as given")
    else:
        assert run.params is not None and run.tokens is not None  # check() made sure
        flops = 6.0 * run.params * run.tokens
        assumptions.append(
            f"FLOPs = 6 x {run.params:.3g} parameters x {run.tokens:.3g} tokens = {flops:.3g} "
            "(dense transformer: forward 2·N·D, backward 4·N·D; attention and recomputation not counted)"
        )
    peak = spec.peak_tflops[dtype] * 1e12
    assumptions.append(
        f"{spec.model}: {spec.peak_tflops[dtype]:g} TFLOPS dense {dtype} peak, {spec.tdp_watts:g} W TDP "
        f"({spec.reference})"
    )
    assumptions.append(prior.text)
    assumptions.append("energy: the GPUs at their TDP for the whole run; host CPUs, memory and network not counted")
    intensity = _intensity(run)
    assumptions.append(f"PUE {intensity.pue:g} ({intensity.pue_source})")
    assumptions.append(f"carbon intensity {intensity.gco2e_per_kwh:g} gCO2e/kWh: {intensity.message}")
    gpu_seconds = flops / (peak * prior.value)
    middle = Interval.relative(1.0, prior.spread)
    gpu_hours = middle.scaled(gpu_seconds / 3600.0)
    energy = middle.scaled(gpu_seconds * spec.tdp_watts)
    impact = compute_impact(energy.p50, intensity, run.price_per_kwh, run.currency)
    # From the relative interval, not the energy's: an energy too small for a float is 0 J.
    ratio_low, ratio_high = middle.low / middle.p50, middle.high / middle.p50
    cost = None
    if impact.cost is not None:
        cost = Interval(impact.cost, impact.cost * ratio_low, impact.cost * ratio_high)
        assumptions.append(f"price {run.price_per_kwh:g} {run.currency or ''} per kWh as given".replace("  ", " "))
    return TrainingEstimate(
        flops=flops,
        gpu=spec.to_json(),
        dtype=dtype,
        mfu=prior.value,
        pue=intensity.pue,
        count=run.count,
        gpu_hours=gpu_hours,
        wall_time_s=middle.scaled(gpu_seconds / run.count),
        energy_j=energy,
        facility_energy_j=energy.scaled(intensity.pue),
        gco2e=Interval(impact.gco2e, impact.gco2e * ratio_low, impact.gco2e * ratio_high),
        cost=cost,
        currency=impact.currency,
        intensity=intensity,
        assumptions=assumptions,
        regions=_regions(energy.p50),
    )


def _regions(energy_j: float) -> list[dict[str, Any]]:
    """The same run's emissions in every bundled cloud region (each with its own PUE), greenest first."""
    kwh = energy_j / JOULES_PER_KWH
    rows = [
        {
            "provider": region.provider,
            "region": region.region,
            "location": region.location,
            "gco2e_per_kwh": region.gco2e_per_kwh,
            "pue": region.pue,
            "gco2e": kwh * region.pue * region.gco2e_per_kwh,
        }
        for region in cloud_regions().values()
    ]
    return sorted(rows, key=lambda row: (row["gco2e"], row["provider"], row["region"]))
