"""Nothing non-finite: impacts are finite or refused, and the ledger reads and sums any stored row."""

from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path

import pytest

from jupyterlab_carbon.intensity import IntensitySettings, compute_impact, resolve_intensity
from jupyterlab_carbon.ledger import Ledger

from .test_ledger import make_record

FR = resolve_intensity(IntensitySettings(settings_zone="FR"))


def finite_numbers(value: object) -> bool:
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, dict):
        return all(finite_numbers(item) for item in value.values())
    if isinstance(value, (list, tuple)):
        return all(finite_numbers(item) for item in value)
    return True


def test_an_ordinary_impact_is_finite() -> None:
    impact = compute_impact(3.6e6, FR, 0.25, "EUR")
    assert finite_numbers(impact.to_json()) and impact.cost == pytest.approx(0.25)


@pytest.mark.parametrize(
    ("changes", "price", "words"),
    [
        ({"pue": math.inf}, None, "PUE"),
        ({"pue": math.nan}, None, "PUE"),
        ({"gco2e_per_kwh": math.inf}, None, "carbon intensity"),
        ({"gco2e_per_kwh": math.nan}, None, "carbon intensity"),
        ({"gco2e_per_kwh": 1e308, "pue": 1e308}, None, "overflow"),
        ({}, 1e308, "overflow"),
    ],
)
def test_an_impact_that_would_not_be_finite_is_refused(
    changes: dict[str, float], price: float | None, words: str
) -> None:
    with pytest.raises(ValueError, match=words):
        compute_impact(3.6e6 * 1000, replace(FR, **changes), price, "EUR")


@pytest.fixture
def ledger(tmp_path: Path) -> Ledger:
    return Ledger(data_dir=tmp_path)


def test_rows_stored_with_infinities_are_read_back(ledger: Ledger) -> None:
    ledger.add_run(make_record("a", node_j=math.inf, impact={"gco2e": math.inf, "cost": math.nan}))
    [record] = ledger.runs()
    assert record.node_j == math.inf and record.impact is not None and record.impact["gco2e"] == math.inf
    assert ledger.run("a") == record


def test_totals_skip_non_finite_values_and_never_overflow(ledger: Ledger) -> None:
    ledger.add_run(make_record("a", node_j=math.inf, impact={"gco2e": math.inf, "cost": 1.0, "currency": "EUR"}))
    ledger.add_run(make_record("b", node_j=1.0, impact={"gco2e": math.nan, "cost": math.inf, "currency": "EUR"}))
    ledger.add_run(make_record("c", node_j=2.0, impact={"gco2e": 3.0, "cost": 2.0, "currency": "EUR"}))
    totals = ledger.totals()
    # a's impact holds the non-JSON token Infinity, which SQLite cannot read: all of it is left out.
    assert totals["runs"] == 3 and totals["node_j"] == 3.0 and totals["gco2e"] == 3.0
    assert totals["costs"] == {"EUR": 2.0}
    # Finite values whose sum is too large for a float: null, not infinity.
    ledger.add_run(make_record("d", node_j=1.7e308))
    ledger.add_run(make_record("e", node_j=1.7e308))
    assert ledger.totals()["node_j"] is None
