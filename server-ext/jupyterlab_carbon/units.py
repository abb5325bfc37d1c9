"""Quantities for people, as the frontend's format.ts writes them: sensible units, never "0.000".

Used wherever Python prints a figure (the kernel's magic and ``measure()``, reports).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .measurement import WindowMeasurement

MISSING = "\N{EN DASH}"  # a value that is not known
_WH_UNITS = ((1e6, "MWh"), (1e3, "kWh"), (1.0, "Wh"), (1e-3, "mWh"), (1e-6, "µWh"))
_GRAM_UNITS = ((1e6, "tCO₂e"), (1e3, "kgCO₂e"), (1.0, "gCO₂e"), (1e-3, "mgCO₂e"))


def significant(value: float) -> str:
    """Two to three significant digits, without trailing zeros."""
    magnitude = abs(value)
    if 0 < magnitude < 1:
        text = f"{value:.2g}"
    else:
        digits = 0 if magnitude >= 100 else 1 if magnitude >= 10 else 2
        text = f"{value:.{digits}f}"
    if "e" not in text and "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


def _scaled(value: float, units: tuple[tuple[float, str], ...]) -> str:
    magnitude = abs(value)
    scale, unit = next(((s, u) for s, u in units if magnitude >= s), units[-1])
    return f"{significant(value / scale)} {unit}"


def energy_text(joules: float | None) -> str:
    """Energy in Wh-based units: 36 J -> "10 mWh"."""
    if joules is None or not math.isfinite(joules):
        return MISSING
    return "0 Wh" if joules == 0 else _scaled(joules / 3600.0, _WH_UNITS)


def carbon_text(grams: float | None) -> str:
    if grams is None or not math.isfinite(grams):
        return MISSING
    return "0 gCO₂e" if grams == 0 else _scaled(grams, _GRAM_UNITS)


def duration_text(seconds: float | None) -> str:
    if seconds is None or not math.isfinite(seconds):
        return MISSING
    if seconds < 1:
        return f"{significant(seconds * 1000)} ms"
    if seconds < 60:
        return f"{significant(seconds)} s"
    minutes, secs = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min" if hours else f"{minutes} min {secs:02d} s"


def describe_window(name: str, window: WindowMeasurement) -> str:
    """One line: name, energy, duration, methods and flags."""
    label = f"{name}: " if name else ""
    flags = f"; flags: {', '.join(window.flags)}" if window.flags else ""
    return (
        f"{label}{energy_text(window.attributed_j)} in {duration_text(window.duration_s)} "
        f"({', '.join(window.methods) or 'no meter'}{flags})"
    )
