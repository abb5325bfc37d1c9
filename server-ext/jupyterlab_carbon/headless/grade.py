"""The A-F grade of a report: four things a user can change, scored 0-4, averaged.

The report's JSON keeps the inputs and the rubric version, so anyone can recompute the grade
(:func:`grade_from_report`) and see which criterion cost the letter. The README documents the rubric.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

RUBRIC_VERSION = 1
LETTERS = ("A", "B", "C", "D", "F")
# Mean points from which each letter is earned (F below the last).
LETTER_FLOORS = ((3.5, "A"), (2.75, "B"), (2.0, "C"), (1.25, "D"))


@dataclass(frozen=True)
class Criterion:
    key: str
    title: str
    # Thresholds for 4, 3, 2 and 1 points; anything past the last scores 0.
    limits: tuple[float, float, float, float]
    higher_is_better: bool
    advice: str

    def points(self, value: float) -> int:
        for points, limit in zip((4, 3, 2, 1), self.limits, strict=True):
            if (value >= limit) if self.higher_is_better else (value <= limit):
                return points
        return 0


CRITERIA = (
    Criterion(
        "energy_change",
        "Energy against the baseline or the experiment's history",
        (0.0, 0.10, 0.25, 0.50),
        False,
        "Find the cells whose energy rose (the comparison table) and what changed in them.",
    ),
    Criterion(
        "idle_share",
        "Share of the energy spent idle",
        (0.10, 0.25, 0.40, 0.60),
        False,
        "Shorten waits (sleeps, I/O, interactive pauses) and release GPUs between runs.",
    ),
    Criterion(
        "intensity",
        "Carbon intensity of the grid (gCO2e/kWh)",
        (100.0, 250.0, 400.0, 600.0),
        False,
        "Run in a lower-carbon region or cloud region, or at hours when the grid is cleaner.",
    ),
    Criterion(
        "measured_share",
        "Share of the energy measured rather than modeled",
        (0.90, 0.70, 0.50, 0.25),
        True,
        "Give the meters read access (RAPL: see `%carbon status` for the one-line fix), so figures are measured.",
    ),
)


@dataclass(frozen=True)
class GradeInputs:
    """What the grade is computed from; None where it is not known (the criterion is left out)."""

    energy_change: float | None  # fraction, e.g. 0.12 for +12 %
    reference: str | None  # what energy_change compares with ("baseline", "history of 3 runs")
    idle_share: float | None
    intensity: float | None
    measured_share: float | None


def grade(inputs: GradeInputs) -> dict[str, Any]:
    """The letter, the mean points, and each criterion's value, points and advice."""
    values = asdict(inputs)
    criteria = []
    for criterion in CRITERIA:
        value = values[criterion.key]
        criteria.append(
            {
                "key": criterion.key,
                "title": criterion.title,
                "value": value,
                "points": None if value is None else criterion.points(value),
                "advice": criterion.advice,
            }
        )
    scored = [c["points"] for c in criteria if c["points"] is not None]
    mean = sum(scored) / len(scored) if scored else None
    letter = "F" if mean is None else next((grade for floor, grade in LETTER_FLOORS if mean >= floor), "F")
    return {
        "letter": letter if scored else None,
        "points": mean,
        "rubric_version": RUBRIC_VERSION,
        "inputs": values,
        "criteria": criteria,
    }


def grade_from_report(report: dict[str, Any]) -> dict[str, Any]:
    """Recompute a report's grade from the inputs its JSON carries (same rubric version only)."""
    stored = report["grade"]
    if stored["rubric_version"] != RUBRIC_VERSION:
        raise ValueError(
            f"this report was graded with rubric {stored['rubric_version']}; this version applies rubric "
            f"{RUBRIC_VERSION}: regrade it with the jupyterlab-carbon version that wrote it"
        )
    return grade(GradeInputs(**stored["inputs"]))
