"""The CI gates of ``jupyter carbon run``: an energy or carbon budget, and the allowed increase against a baseline."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from ..units import carbon_text, energy_text

# Unit -> (quantity, factor to joules or grams).
_UNITS: dict[str, tuple[str, float]] = {
    "j": ("energy", 1.0),
    "kj": ("energy", 1e3),
    "mwh": ("energy", 3.6),
    "wh": ("energy", 3600.0),
    "kwh": ("energy", 3.6e6),
    "mg": ("carbon", 1e-3),
    "g": ("carbon", 1.0),
    "kg": ("carbon", 1e3),
    "t": ("carbon", 1e6),
}
_BUDGET = re.compile(r"\s*(\d+(?:\.\d*)?|\.\d+)\s*([a-zA-Z]+?)(?:co2e?)?\s*", re.IGNORECASE)


@dataclass(frozen=True)
class Budget:
    quantity: str  # energy (joules) or carbon (grams CO2e)
    limit: float
    text: str

    def used(self, energy_j: float, gco2e: float | None) -> float | None:
        return energy_j if self.quantity == "energy" else gco2e

    def describe(self, value: float) -> str:
        return energy_text(value) if self.quantity == "energy" else carbon_text(value)


def parse_budget(text: str) -> Budget:
    """``50Wh``, ``0.2kWh``, ``20g``, ``1.5kgCO2e``: a ValueError says what is accepted."""
    match = _BUDGET.fullmatch(text)
    unit = match.group(2).lower() if match else ""
    # Units are read case-insensitively, so "MWh" is milliwatt-hours: nobody budgets a notebook in megawatt-hours.
    if not match or unit not in _UNITS:
        raise ValueError(
            f"cannot read the budget {text!r}: give a number and a unit, energy (J, kJ, mWh, Wh, kWh) "
            "or CO2e (mg, g, kg, t), e.g. --budget 50Wh or --budget 20g"
        )
    quantity, factor = _UNITS[unit]
    return Budget(quantity, float(match.group(1)) * factor, text.strip())


def parse_increase(text: str) -> float:
    """``10%`` or ``0.1`` as a fraction (0.1)."""
    stripped = text.strip()
    try:
        value = float(stripped[:-1]) / 100.0 if stripped.endswith("%") else float(stripped)
    except ValueError:
        raise ValueError(f"cannot read the allowed increase {text!r}: give a percentage such as 10%") from None
    if value < 0:
        raise ValueError(f"the allowed increase must be 0% or more, not {text!r}")
    return value


def check_budget(budget: Budget, energy_j: float, gco2e: float | None) -> str | None:
    """None when within budget, else the message that fails the build."""
    used = budget.used(energy_j, gco2e)
    if used is None:
        return f"Cannot check the budget {budget.text}: no CO2e was computed for these runs."
    if used <= budget.limit:
        return None
    over = (used - budget.limit) / budget.limit * 100 if budget.limit > 0 else float("inf")
    return f"Over budget: the run used {budget.describe(used)}, the budget is {budget.text} (+{over:.0f} %)."


def check_baseline(comparison: dict[str, Any], max_increase: float) -> str | None:
    """None when the energy rose by at most ``max_increase`` against the baseline, else the failure message."""
    change = comparison.get("energy_change")
    if change is None or change <= max_increase:
        return None
    worst = comparison.get("largest_increase")
    where = f"; largest increase: {worst['label']} ({worst['change'] * 100:+.0f} %)" if worst else ""
    return (
        f"Energy {change * 100:+.0f} % against the baseline ({energy_text(comparison['baseline_energy_j'])} -> "
        f"{energy_text(comparison['energy_j'])}), more than the allowed +{max_increase * 100:.0f} %{where}."
    )
