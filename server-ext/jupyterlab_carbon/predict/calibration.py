"""Basis 3: this node's achieved FLOP/s and joules per FLOP, per device and dtype, from its ``--flops`` runs.

Each ``%%carbon --flops`` run is a point (FLOPs, measured energy, duration). Per device and dtype
the points are fitted with a line, energy = fixed + J/FLOP x FLOPs (and the same for time), so a
cell's fixed costs (start-up, data loading) do not inflate the per-FLOP figure; with a single
point, or points of one size, the line goes through zero.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from ..records import RunRecord
from .interval import Interval

# The spread of a prediction from one or two points, where the residuals say nothing yet.
FEW_POINTS_SPREAD = 0.3
MIN_SPREAD = 0.1


@dataclass(frozen=True)
class CalibrationPoint:
    run_id: str
    started_at: float
    device: str
    dtype: str
    flops: float
    energy_j: float
    duration_s: float

    def to_json(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "started_at": self.started_at,
            "flops": self.flops,
            "energy_j": self.energy_j,
            "duration_s": self.duration_s,
            "flops_per_s": self.flops / self.duration_s,
            "joules_per_flop": self.energy_j / self.flops,
        }


@dataclass(frozen=True)
class Line:
    intercept: float
    slope: float

    def at(self, x: float) -> float:
        return self.intercept + self.slope * x


def fit_line(xs: Sequence[float], ys: Sequence[float]) -> Line:
    """Least squares y = a + b·x with a >= 0 and b > 0; through zero when that is all the points allow."""
    through_zero = Line(0.0, sum(ys) / sum(xs))
    if len(set(xs)) < 2:
        return through_zero
    n = len(xs)
    mean_x, mean_y = sum(xs) / n, sum(ys) / n
    sxx = sum((x - mean_x) ** 2 for x in xs)
    slope = sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True)) / sxx
    intercept = mean_y - slope * mean_x
    if slope <= 0 or intercept < 0:
        return through_zero
    return Line(intercept, slope)


@dataclass(frozen=True)
class Calibration:
    device: str
    dtype: str
    points: tuple[CalibrationPoint, ...]
    energy: Line
    duration: Line
    spread: float  # the largest relative error of the fit on its own points (at least MIN_SPREAD)

    @property
    def joules_per_flop(self) -> float:
        return self.energy.slope

    @property
    def flops_per_s(self) -> float:
        return 1.0 / self.duration.slope

    def predict(self, flops: float) -> tuple[Interval, Interval]:
        """Energy (J) and duration (s) of ``flops`` on this node."""
        return (
            Interval.relative(self.energy.at(flops), self.spread),
            Interval.relative(self.duration.at(flops), self.spread),
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "device": self.device,
            "dtype": self.dtype,
            "runs": len(self.points),
            "flops_per_s": self.flops_per_s,
            "joules_per_flop": self.joules_per_flop,
            "fixed_energy_j": self.energy.intercept,
            "fixed_duration_s": self.duration.intercept,
            "spread": self.spread,
            "points": [point.to_json() for point in self.points],
        }


def device_of(run: RunRecord) -> str:
    """gpu when the run's energy includes a GPU's share, else cpu."""
    return "gpu" if any(c.domain == "gpu" and c.attributed_j > 0 for c in run.channels) else "cpu"


def point_of(run: RunRecord) -> CalibrationPoint | None:
    """The run's calibration point, or None for a run without counted FLOPs or a measurement."""
    flops = run.extra.get("flops")
    if not isinstance(flops, dict):
        return None
    count = flops.get("count")
    if not isinstance(count, int | float) or count <= 0 or run.status != "ok":
        return None
    if run.attributed_j <= 0 or run.duration_s <= 0:
        return None
    declared = run.extra.get("flops_declared")
    dtype = flops.get("dtype") or (declared.get("dtype") if isinstance(declared, dict) else None) or "any"
    return CalibrationPoint(
        run.run_id, run.started_at, device_of(run), str(dtype), float(count), run.attributed_j, run.duration_s
    )


def _relative_error(line: Line, xs: Sequence[float], ys: Sequence[float]) -> float:
    return max(abs(line.at(x) / y - 1.0) for x, y in zip(xs, ys, strict=True))


def calibrate(runs: Iterable[RunRecord]) -> dict[tuple[str, str], Calibration]:
    """Per (device, dtype): the fitted lines over every run with counted FLOPs."""
    groups: dict[tuple[str, str], list[CalibrationPoint]] = {}
    for run in runs:
        point = point_of(run)
        if point is not None:
            groups.setdefault((point.device, point.dtype), []).append(point)
    fits = {}
    for (device, dtype), points in groups.items():
        xs = [p.flops for p in points]
        energy = fit_line(xs, [p.energy_j for p in points])
        duration = fit_line(xs, [p.duration_s for p in points])
        if len(points) < 3:
            spread = FEW_POINTS_SPREAD
        else:
            errors = (
                _relative_error(energy, xs, [p.energy_j for p in points]),
                _relative_error(duration, xs, [p.duration_s for p in points]),
            )
            spread = max(MIN_SPREAD, *errors)
        fits[(device, dtype)] = Calibration(device, dtype, tuple(points), energy, duration, spread)
    return fits


def find_calibration(fits: dict[tuple[str, str], Calibration], device: str, dtype: str) -> Calibration | None:
    """The device's fit for that dtype, else its dtype-less fit ("any")."""
    kind = "gpu" if device not in ("cpu", "gpu") else device
    return fits.get((kind, dtype)) or fits.get((kind, "any"))
