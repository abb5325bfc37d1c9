"""Predictions: FLOPs on the meta device, the calculator, the memo, history and calibration."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest
from IPython.core.error import UsageError

from jupyterlab_carbon.predict.calculator import TrainingRun, estimate_training
from jupyterlab_carbon.predict.calibration import calibrate, fit_line
from jupyterlab_carbon.predict.flops import evaluate_declaration, parse_declaration, training_step_flops
from jupyterlab_carbon.predict.history import history_estimate
from jupyterlab_carbon.predict.memo import PredictionMemo
from jupyterlab_carbon.predict.priors import find_gpu, fitted_mfu, implied_mfu, published_runs
from jupyterlab_carbon.predict.service import scale_factor

from .test_ledger import make_record


@pytest.fixture
def torch() -> Any:
    """PyTorch, an optional extra: the FLOP counting tests need it, the rest do not."""
    return pytest.importorskip("torch")


def test_mlp_step_flops_by_hand(torch: Any) -> None:
    model = torch.nn.Sequential(torch.nn.Linear(10, 20), torch.nn.ReLU(), torch.nn.Linear(20, 5))
    batch = (torch.randn(8, 10), torch.zeros(8))
    # forward 2·B·in·out per layer: 2·8·10·20 + 2·8·20·5 = 4800; backward: layer 2 grad input and weight
    # (1600 + 1600), layer 1 grad weight only (its input needs no gradient): 3200.
    step = training_step_flops(model, batch)
    assert step.per_step == 4800 + 3200 + 3200 == 11200
    assert (step.device, step.dtype) == ("cpu", "float32")
    assert model[0].weight.device.type == "cpu" and model[0].weight.grad is None  # the real model is untouched


def test_cnn_step_flops_by_hand(torch: Any) -> None:
    model = torch.nn.Sequential(
        torch.nn.Conv2d(3, 4, 3), torch.nn.ReLU(), torch.nn.Flatten(), torch.nn.Linear(4 * 8 * 8, 10)
    )
    conv = 2 * 8 * 4 * 8 * 8 * 3 * 3 * 3  # 2·B·Cout·Hout·Wout·Cin·k·k = 110,592
    linear = 2 * 8 * 256 * 10  # 40,960
    # conv: forward + grad weight (no grad input for the first layer); linear: forward + grad input + grad weight
    assert training_step_flops(model, torch.randn(8, 3, 10, 10)).per_step == 2 * conv + 3 * linear == 344064


def test_declaration_is_parsed_and_evaluated_in_a_namespace(torch: Any) -> None:
    pairs = parse_declaration("model=net, batch=(x, y), steps=epochs*4")
    assert pairs == (("model", "net"), ("batch", "(x, y)"), ("steps", "epochs * 4"))
    namespace: dict[str, Any] = {"net": torch.nn.Linear(10, 20), "x": torch.randn(8, 10), "y": None, "epochs": 3}
    declared = evaluate_declaration(pairs, namespace)
    assert declared["per_step"] == 2 * 8 * 10 * 20 * 2  # forward + grad weight
    assert declared["steps"] == 12 and declared["count"] == declared["per_step"] * 12
    for bad in ("net", "model=net", "model=net, batch=x, epochs=2", "model=net, batch=x, steps=(", "model=a, model=b"):
        with pytest.raises(ValueError):
            parse_declaration(bad)


def test_calculator_worked_example() -> None:
    # 7e9 parameters, 2e12 tokens: 6·N·D = 8.4e22 FLOPs. H100 SXM bf16 989.5 TFLOPS at MFU 0.4:
    # 8.4e22 / 3.958e14 = 2.1223e8 GPU-seconds = 58,952 GPU-hours; 64 GPUs: 921 h wall time;
    # x 700 W = 1.4856e11 J = 41.27 MWh; x PUE 1.1 = 45.39 MWh; x FR 56.039 g/kWh = 2.544 tCO2e.
    result = estimate_training(
        TrainingRun(gpu="h100-sxm", count=64, params=7e9, tokens=2e12, mfu=0.4, pue=1.1, zone="FR", price_per_kwh=0.2)
    )
    assert result.flops == pytest.approx(8.4e22)
    assert result.gpu_hours.p50 == pytest.approx(58952.3, rel=1e-4)
    assert result.wall_time_s.p50 / 3600 == pytest.approx(58952.3 / 64, rel=1e-4)
    assert result.energy_j.p50 / 3.6e9 == pytest.approx(41.267, rel=1e-4)
    assert result.facility_energy_j.p50 / 3.6e9 == pytest.approx(45.394, rel=1e-4)
    assert result.gco2e.p50 / 1e6 == pytest.approx(45.394e3 * 56.039 / 1e6, rel=1e-3)
    assert result.cost is not None and result.cost.p50 == pytest.approx(45.394e3 * 0.2, rel=1e-4)
    assert result.energy_j.low < result.energy_j.p50 < result.energy_j.high
    assert any("6 x 7e+09" in line for line in result.assumptions) and any("MFU 0.4" in a for a in result.assumptions)
    assert result.regions[0]["gco2e"] <= result.regions[-1]["gco2e"]


def test_calculator_refuses_bad_input() -> None:
    for run, message in (
        (TrainingRun(gpu="H100-SXM", params=7e9), "tokens"),
        (TrainingRun(gpu="H100", params=7e9, tokens=1e12), "Unknown GPU"),
        (TrainingRun(gpu="V100-PCIe", flops=1e20, dtype="bf16"), "no bf16"),
        (TrainingRun(gpu="A10", flops=1e20, mfu=1.5), "mfu"),
        (TrainingRun(gpu="A10", flops=1e20, zone="FR", region="aws:us-east-1"), "not both"),
    ):
        with pytest.raises(ValueError, match=message):
            estimate_training(run)


def test_priors_are_fitted_on_prior_rows_only() -> None:
    fitted = fitted_mfu()
    assert fitted["A100"][1] == ("Llama 2 7B",) and fitted["V100"][1] == ("GPT-3 175B",)
    llama_7b = next(run for run in published_runs() if run.model == "Llama 2 7B")
    assert fitted["A100"][0] == implied_mfu(llama_7b)
    assert {run.split for run in published_runs()} == {"prior", "held-out", "unscored"}
    assert find_gpu("A100-SXM-80GB").tdp_watts == 400


def test_memo_takes_once_and_forgets_after_ten_minutes() -> None:
    now = [0.0]
    memo = PredictionMemo(max_entries=2, clock=lambda: now[0])
    memo.remember("k", "h1", {"p": 1})
    assert memo.take("k", "h1") == {"p": 1} and memo.take("k", "h1") is None
    memo.remember("k", "h1", {"p": 1})
    now[0] = 601.0
    assert memo.take("k", "h1") is None
    for code in ("a", "b", "c"):
        memo.remember("k", code, {"code": code})
    assert len(memo) == 2 and memo.take("k", "a") is None and memo.take("k", "c") == {"code": "c"}


def test_history_prefers_the_same_cell() -> None:
    runs = [
        make_record(f"r{i}", attributed_j=float(j), notebook_path="a.ipynb", extra={"cell_id": cell})
        for i, (j, cell) in enumerate([(10, "c1"), (20, "c1"), (30, "c1"), (1000, "c2")])
    ]
    found = history_estimate(runs, "c1", "a.ipynb")
    assert found is not None and found.same_cell and found.runs == 3
    assert found.energy_j.p50 == 20 and found.energy_j.low == 12 and found.energy_j.high == 28
    by_notebook = history_estimate(runs, None, "a.ipynb")
    assert by_notebook is not None and by_notebook.runs == 4 and not by_notebook.same_cell
    assert history_estimate(runs, None, "b.ipynb") is None


def test_calibration_fits_fixed_cost_and_per_flop() -> None:
    runs = []
    for i, flops in enumerate((1e9, 2e9, 4e9)):
        record = make_record(f"c{i}", extra={"flops": {"count": flops}})
        runs.append(
            dataclasses.replace(record, attributed_j=5 + flops * 1e-8, ended_at=record.started_at + 1 + flops / 1e9)
        )
    fits = calibrate(runs)
    fit = fits[("gpu", "any")]  # make_record's runs include a GPU share
    assert fit.joules_per_flop == pytest.approx(1e-8) and fit.energy.intercept == pytest.approx(5)
    assert fit.flops_per_s == pytest.approx(1e9)
    energy, duration = fit.predict(8e9)
    assert energy.p50 == pytest.approx(85) and duration.p50 == pytest.approx(9)
    assert fit_line([1.0, 1.0], [2.0, 4.0]).intercept == 0  # one size: through zero


def test_scale_factor_multiplies_changed_numbers() -> None:
    assert scale_factor((2.0, 64.0, 0.1), (20.0, 64.0, 0.1)) == (10.0, ["2 -> 20"])
    assert scale_factor((2.0, 64.0), (4.0, 128.0))[0] == 4.0


def test_console_estimate_json_and_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    from jupyterlab_carbon.cli import EXIT_USAGE, main

    assert (
        main(["estimate", "--gpu", "H100-SXM", "--count", "64", "--params", "7e9", "--tokens", "2e12", "--json"]) == 0
    )
    printed = json.loads(capsys.readouterr().out)
    assert printed["flops"] == pytest.approx(8.4e22) and printed["assumptions"]
    assert main(["estimate", "--gpu", "H100-SXM", "--params", "7e9"]) == EXIT_USAGE
    assert "tokens" in capsys.readouterr().err


def test_estimate_magic_text_and_escaped_html() -> None:
    from jupyterlab_carbon.kernel.magics import _estimate

    view = _estimate(["--gpu", "A100-SXM-80GB", "--count", "8", "--flops", "1e21", "--zone", "FR"])
    assert "GPU-hours" in repr(view) and "Assumptions" in repr(view)
    assert "<table>" in view._repr_html_() and "<script" not in view._repr_html_()
    with pytest.raises(UsageError, match="estimate"):
        _estimate(["--gpu", "A100-SXM-80GB"])


def test_predict_option_is_checked_before_the_body() -> None:
    from jupyterlab_carbon.kernel.options import parse_options

    options = parse_options('--flops --predict "model=net, batch=next(iter(loader)), steps=epochs*len(loader)"')
    assert options.predict[0] == ("model", "net") and options.predict[2][0] == "steps"
    with pytest.raises(UsageError, match="--predict"):
        parse_options('--predict "net, batch=x"')


def test_lookup_caches_a_codes_runs_until_a_run_is_recorded(tmp_path: Any) -> None:
    from jupyterlab_carbon.intensity import IntensitySettings, resolve_intensity
    from jupyterlab_carbon.ledger import Ledger
    from jupyterlab_carbon.predict.service import LookupRequest, PredictionService, code_hash

    with Ledger(f"sqlite:///{tmp_path / 'ledger.sqlite'}") as ledger:
        service = PredictionService(ledger, lambda: resolve_intensity(IntensitySettings()), lambda: (None, None))
        request = LookupRequest("k", "a.ipynb", "c1", "fit()")
        assert service.lookup(request) is None
        record = make_record("a" * 32, code_hash=code_hash("fit()"), notebook_path="a.ipynb", extra={"cell_id": "c1"})
        ledger.write_batch([], [record])
        assert service.lookup(request) is None  # cached: no query per lookup
        service.run_recorded(record)
        prediction = service.lookup(request)
        assert prediction is not None and prediction["basis"]["kind"] == "history"
        assert prediction["energy_j"]["p50"] == record.attributed_j


def test_scale_factor_ignores_numbers_too_large_for_a_float() -> None:
    huge = float("9" * 400)  # a 400-digit literal reads as infinity
    assert scale_factor((huge, 2.0), (1.0, 4.0)) == (2.0, ["2 -> 4"])
