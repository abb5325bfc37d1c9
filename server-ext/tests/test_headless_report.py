"""The report, its grade and its carbon statement from a known ledger (no kernel, no meter)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from jupyterlab_carbon.headless.gates import check_baseline, check_budget, parse_budget, parse_increase
from jupyterlab_carbon.headless.grade import CRITERIA, GradeInputs, grade, grade_from_report
from jupyterlab_carbon.headless.report import build_report, history_reference, to_html, to_markdown, write_report
from jupyterlab_carbon.intensity import IntensitySettings, compute_impact, resolve_intensity
from jupyterlab_carbon.ledger import Ledger, RunQuery
from jupyterlab_carbon.records import ChannelEnergy, RunRecord

FRANCE = resolve_intensity(IntensitySettings(user_zone="FR", pue=1.2))


def run(kernel: str, index: int, cpu_j: float, gpu_j: float, idle_share: float, started_at: float) -> RunRecord:
    """A cell run: a measured CPU package and a modeled GPU, ``idle_share`` of each idle."""
    channels = [
        ChannelEnergy(
            "cpu/package-0",
            "CPU package 0",
            "cpu",
            "measured-counter",
            cpu_j * 2,
            0.5,
            cpu_j,
            cpu_j * idle_share,
            cpu_j * (1 - idle_share),
        ),
        ChannelEnergy(
            "gpu/0",
            "NVIDIA A100 (modeled)",
            "gpu",
            "modeled",
            gpu_j,
            1.0,
            gpu_j,
            gpu_j * idle_share,
            gpu_j * (1 - idle_share),
        ),
    ]
    total = cpu_j + gpu_j
    return RunRecord(
        run_id=f"{kernel}{index:02d}".ljust(32, "0"),
        kernel_id=kernel,
        msg_id=f"m{index}",
        started_at=started_at,
        ended_at=started_at + 10.0,
        status="ok",
        node_j=cpu_j * 2 + gpu_j,
        attributed_j=total,
        idle_j=total * idle_share,
        active_j=total * (1 - idle_share),
        channels=channels,
        methods=["measured-counter", "modeled"],
        flags=["headless"],
        host="lab-1",
        notebook_path="train.ipynb",
        execution_count=index + 1,
        code_hash=f"code{index}",
        code_preview=f"step_{index}()",
        extra={"cell_index": index},
        impact=compute_impact(total, FRANCE, None, None).to_json(),
        experiment="train",
        source="headless",
    )


@pytest.fixture
def ledger(tmp_path: Path) -> Ledger:
    """Three earlier sessions of 'train' at 7.2 kJ each, then the one reported: 3 cells, 9 kJ."""
    book = Ledger(f"sqlite:///{tmp_path / 'ledger.sqlite'}")
    earlier = [run(f"k{s}", i, 1800.0, 600.0, 0.2, 1000.0 * s + i) for s in range(3) for i in range(3)]
    now = [run("now", i, 2250.0, 750.0, 0.2, 10_000.0 + i) for i in range(3)]
    book.write_batch([], earlier + now)
    return book


def reported(book: Ledger) -> dict:
    _, records = book.search(RunQuery(kernel_id="now"), limit=100)
    history = history_reference(book, "train", min(r.started_at for r in records))
    return build_report(records, "Carbon report: train.ipynb", {"notebook": "train.ipynb"}, None, history)


def test_report_totals_devices_methods_and_grade(ledger: Ledger) -> None:
    report = reported(ledger)
    totals = report["totals"]
    assert totals["energy_j"] == pytest.approx(9000.0)
    assert totals["gco2e"] == pytest.approx(9000.0 / 3.6e6 * 1.2 * FRANCE.gco2e_per_kwh)
    assert [c["label"] for c in report["cells"]] == ["cell 1 [1]", "cell 2 [2]", "cell 3 [3]"]
    assert [(d["label"], d["share"]) for d in report["devices"]] == [
        ("CPU package 0", pytest.approx(0.75)),
        ("NVIDIA A100 (modeled)", pytest.approx(0.25)),
    ]
    assert report["intensity"]["zone"] == "FR" and report["intensity"]["pue"] == 1.2
    inputs = report["grade"]["inputs"]
    # 9 kJ against the median of three earlier 7.2 kJ sessions: +25 %.
    assert inputs["energy_change"] == pytest.approx(0.25)
    assert inputs["reference"] == "median of 3 earlier session(s) of the experiment"
    assert (inputs["idle_share"], inputs["measured_share"]) == (pytest.approx(0.2), pytest.approx(0.75))
    points = {c["key"]: c["points"] for c in report["grade"]["criteria"]}
    assert points == {"energy_change": 2, "idle_share": 3, "intensity": 4, "measured_share": 3}
    assert report["grade"]["letter"] == "B"  # mean 3.0
    assert grade_from_report(json.loads(json.dumps(report))) == report["grade"]


def test_statement_states_what_papers_should(ledger: Ledger) -> None:
    statement = reported(ledger)["statement"]
    for expected in (
        "30 s",  # runtime
        "CPU package 0 and NVIDIA A100 (modeled)",  # hardware
        "2.5 Wh",  # energy
        "PUE) of 1.2",
        f"{FRANCE.gco2e_per_kwh:.0f} gCO2e/kWh ({FRANCE.source}, {FRANCE.year})",
        "hardware energy counters (75 %) and a utilisation x TDP model (25 %)",
        "jupyterlab-carbon",
    ):
        assert expected in statement, (expected, statement)


def test_baseline_comparison_names_the_cell_that_grew(ledger: Ledger) -> None:
    baseline = reported(ledger)
    baseline["totals"]["energy_j"] = 7500.0
    baseline["cells"][1]["energy_j"] = 1500.0  # cell 2 was half as costly
    _, records = ledger.search(RunQuery(kernel_id="now"), limit=100)
    report = build_report(records, "t", {}, baseline, [])
    comparison = report["baseline"]
    assert comparison["energy_change"] == pytest.approx(0.2)
    assert comparison["largest_increase"]["label"] == "cell 2 [2]"
    assert check_baseline(comparison, 0.1) == (
        "Energy +20 % against the baseline (2.08 Wh -> 2.5 Wh), more than the allowed +10 %; "
        "largest increase: cell 2 [2] (+100 %)."
    )
    assert check_baseline(comparison, 0.25) is None
    assert "| cell 2 [2] | 417 mWh | 833 mWh | +100 % |" in to_markdown(report)


def test_views_escape_what_users_wrote(ledger: Ledger, tmp_path: Path) -> None:
    _, records = ledger.search(RunQuery(kernel_id="now"), limit=100)
    records[0].code_preview = "<img src=x onerror=alert(1)> | `x`"
    report = build_report(records, "<b>title</b>", {}, None, [])
    page = to_html(report)
    assert "<img" not in page and "&lt;img src=x" in page and "<b>title" not in page
    assert "&lt;img src=x onerror=alert(1)> \\| \\`x\\`" in to_markdown(report)
    for suffix in ("md", "html", "json"):
        assert write_report(report, tmp_path / f"r.{suffix}").stat().st_size > 0
    assert (tmp_path / "r.cells.svg").exists() and (tmp_path / "r.devices.svg").exists()


def test_rubric_thresholds_and_letters() -> None:
    by_key = {c.key: c for c in CRITERIA}
    assert [by_key["idle_share"].points(v) for v in (0.05, 0.2, 0.3, 0.5, 0.9)] == [4, 3, 2, 1, 0]
    assert [by_key["measured_share"].points(v) for v in (1.0, 0.8, 0.6, 0.3, 0.1)] == [4, 3, 2, 1, 0]
    assert grade(GradeInputs(-0.1, "baseline", 0.05, 50.0, 1.0))["letter"] == "A"
    assert grade(GradeInputs(None, None, 0.9, 800.0, 0.0))["letter"] == "F"
    partial = grade(GradeInputs(None, None, 0.3, None, None))
    assert (partial["letter"], partial["points"]) == ("C", 2.0)
    assert grade(GradeInputs(None, None, None, None, None))["letter"] is None


def test_budgets_and_increases_parse() -> None:
    assert parse_budget("50Wh").limit == 180_000.0 and parse_budget("50Wh").quantity == "energy"
    assert parse_budget("1.5 kgCO2e").limit == 1500.0 and parse_budget("20g").quantity == "carbon"
    assert parse_budget("5mWh").limit == pytest.approx(18.0)
    with pytest.raises(ValueError, match="give a number and a unit"):
        parse_budget("50 watts")
    assert parse_increase("10%") == pytest.approx(0.1) and parse_increase("0.25") == 0.25
    with pytest.raises(ValueError, match="0% or more"):
        parse_increase("-5%")
    assert (
        check_budget(parse_budget("20g"), 1.0, None)
        == "Cannot check the budget 20g: no CO2e was computed for these runs."
    )
    assert check_budget(parse_budget("1J"), 0.5, None) is None
