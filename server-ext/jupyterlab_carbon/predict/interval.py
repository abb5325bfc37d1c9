"""A predicted quantity: a middle value and a plausible range around it."""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Interval:
    p50: float
    low: float
    high: float

    def scaled(self, factor: float) -> Interval:
        return Interval(self.p50 * factor, self.low * factor, self.high * factor)

    def to_json(self) -> dict[str, Any]:
        return {"p50": self.p50, "low": self.low, "high": self.high}

    @classmethod
    def relative(cls, p50: float, spread: float) -> Interval:
        """``p50`` with ``low = p50 / (1 + spread)`` and ``high = p50 * (1 + spread)``: symmetric in ratio."""
        return cls(p50, p50 / (1.0 + spread), p50 * (1.0 + spread))


def percentile(values: Sequence[float], fraction: float) -> float:
    """Linear-interpolated percentile of sorted or unsorted ``values`` (fraction in [0, 1])."""
    ordered = sorted(values)
    if not ordered:
        raise ValueError("percentile of no values")
    position = fraction * (len(ordered) - 1)
    below = math.floor(position)
    above = min(below + 1, len(ordered) - 1)
    return ordered[below] + (ordered[above] - ordered[below]) * (position - below)


def spread_of(values: Sequence[float]) -> Interval:
    """Median and 10th-90th percentiles; with fewer than 3 values, the median ± the largest deviation."""
    middle = statistics.median(values)
    if len(values) >= 3:
        return Interval(middle, percentile(values, 0.1), percentile(values, 0.9))
    deviation = max(abs(value - middle) for value in values)
    return Interval(middle, max(0.0, middle - deviation), middle + deviation)
