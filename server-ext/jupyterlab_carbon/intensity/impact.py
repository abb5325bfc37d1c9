"""Turn measured energy into emissions, cost and everyday equivalents.

The arithmetic is deliberately plain so anyone can check a badge by hand:

- energy (kWh) = joules / 3.6e6;
- facility energy (kWh) = energy x PUE (the data centre's cooling and power losses);
- emissions (gCO2e) = facility energy x carbon intensity (gCO2e/kWh);
- cost = facility energy x price per kWh, only when the user set a price: the extension never
  invents a tariff, because a wrong cost is worse than none.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from ..data import equivalences
from .resolve import ResolvedIntensity

JOULES_PER_KWH = 3.6e6
# Shown under every badge: one transport, one digital, one nature comparison.
DEFAULT_EQUIVALENTS = ("car_km_eu", "streaming_hours", "tree_months")


@dataclass(frozen=True)
class Equivalent:
    """One everyday comparison of an emission (or an energy), with its citation."""

    key: str
    label: str
    value: float
    unit: str
    source: str
    reference: str


@dataclass(frozen=True)
class Impact:
    """Energy, emissions, cost and equivalents of one measured piece of work."""

    energy_joules: float
    energy_kwh: float
    pue: float
    facility_energy_kwh: float
    gco2e_per_kwh: float
    gco2e: float
    cost: float | None
    currency: str | None
    price_per_kwh: float | None
    intensity: ResolvedIntensity
    equivalents: tuple[Equivalent, ...]

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict (the intensity and equivalents nested)."""
        return asdict(self)


def compute_impact(
    energy_joules: float,
    intensity: ResolvedIntensity,
    price_per_kwh: float | None,
    currency: str | None,
    equivalent_keys: Sequence[str] = DEFAULT_EQUIVALENTS,
) -> Impact:
    """Emissions and cost of ``energy_joules`` under ``intensity`` (which carries the PUE).

    Every number of the result is finite: a ValueError says which input or result is not, so
    that no infinity ever reaches a badge, the ledger or its sums.
    """
    if not math.isfinite(energy_joules) or energy_joules < 0:
        raise ValueError(f"energy must be a finite number of joules >= 0, got {energy_joules!r}")
    if price_per_kwh is not None and (not math.isfinite(price_per_kwh) or price_per_kwh < 0):
        raise ValueError(f"the price per kWh must be a number >= 0, got {price_per_kwh!r}")
    if not math.isfinite(intensity.pue) or intensity.pue < 1:
        raise ValueError(f"the PUE must be a finite number >= 1, got {intensity.pue!r}")
    if not math.isfinite(intensity.gco2e_per_kwh) or intensity.gco2e_per_kwh < 0:
        raise ValueError(f"the carbon intensity must be a finite number >= 0, got {intensity.gco2e_per_kwh!r}")
    energy_kwh = energy_joules / JOULES_PER_KWH
    facility_kwh = energy_kwh * intensity.pue
    gco2e = facility_kwh * intensity.gco2e_per_kwh
    cost = facility_kwh * price_per_kwh if price_per_kwh is not None else None
    results = {"facility energy (kWh)": facility_kwh, "emissions (gCO2e)": gco2e, "cost": cost}
    overflowed = [name for name, value in results.items() if value is not None and not math.isfinite(value)]
    if overflowed:
        raise ValueError(
            f"{' and '.join(overflowed)} of {energy_joules!r} J overflow a float (PUE {intensity.pue!r}, "
            f"{intensity.gco2e_per_kwh!r} gCO2e/kWh, price {price_per_kwh!r}): check these settings"
        )
    return Impact(
        energy_joules=energy_joules,
        energy_kwh=energy_kwh,
        pue=intensity.pue,
        facility_energy_kwh=facility_kwh,
        gco2e_per_kwh=intensity.gco2e_per_kwh,
        gco2e=gco2e,
        cost=cost,
        currency=currency if cost is not None else None,
        price_per_kwh=price_per_kwh,
        intensity=intensity,
        equivalents=_equivalents(gco2e, facility_kwh * 1000.0, equivalent_keys),
    )


def _equivalents(gco2e: float, facility_wh: float, keys: Sequence[str]) -> tuple[Equivalent, ...]:
    table = {e.key: e for e in equivalences()}
    unknown = [k for k in keys if k not in table]
    if unknown:
        raise ValueError(f"Unknown equivalence {unknown}; known: {', '.join(sorted(table))}")
    out = []
    for key in keys:
        row = table[key]
        amount = gco2e if row.per == "gco2e" else facility_wh
        out.append(
            Equivalent(
                key=key,
                label=row.label,
                value=amount * row.factor,
                unit=row.unit,
                source=row.source,
                reference=row.reference,
            )
        )
    return tuple(out)
