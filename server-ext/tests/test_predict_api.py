"""POST /carbon/predict (the gate's lookup), GET /carbon/predict/calibration and POST /carbon/estimate."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import time
from typing import Any

import pytest
from tornado.httpclient import HTTPClientError

from jupyterlab_carbon.handlers import NAMESPACE
from jupyterlab_carbon.ledger import Ledger
from jupyterlab_carbon.predict.service import LookupRequest

from .test_ledger import make_record

CODE = "train(epochs=2)"


async def post(jp_fetch: Any, path: str, body: Any) -> dict[str, Any]:
    response = await jp_fetch(NAMESPACE, path, method="POST", body=json.dumps(body))
    assert response.code == 200
    return dict(json.loads(response.body))


async def refused(jp_fetch: Any, path: str, body: str) -> tuple[int, str]:
    with pytest.raises(HTTPClientError) as refusal:
        await jp_fetch(NAMESPACE, path, method="POST", body=body)
    return refusal.value.code, str(json.loads(refusal.value.response.body)["message"])


def server_ledger(jp_serverapp: Any) -> Ledger:
    return jp_serverapp.web_app.settings["jupyterlab_carbon"]["ledger"]  # type: ignore[no-any-return]


async def test_no_basis_is_null_and_fast(jp_fetch: Any, jp_serverapp: Any) -> None:
    body = {"kernel_id": "k1", "notebook_path": "a.ipynb", "cell_id": "c1", "code": "1 + 1", "execution_count": None}
    assert await post(jp_fetch, "predict", body) == {"prediction": None}
    service = jp_serverapp.web_app.settings["jupyterlab_carbon"]["predictions"]
    request = LookupRequest("k1", "a.ipynb", "c1", "x = 1\nprint(x)")
    durations = []
    for _ in range(200):
        started = time.perf_counter()
        assert service.lookup(request) is None
        durations.append(time.perf_counter() - started)
    # The budget is 5 ms p95 server side; on a shared 2-core test machine the tail is noise, the median is not.
    assert sorted(durations)[len(durations) // 2] < 0.005


async def test_history_basis_after_runs_and_the_memo(jp_fetch: Any, jp_serverapp: Any) -> None:
    digest = hashlib.sha256(CODE.encode()).hexdigest()
    runs = [
        dataclasses.replace(
            make_record(f"{i:032x}", code_hash=digest, notebook_path="a.ipynb", extra={"cell_id": "c1"}),
            attributed_j=float(energy),
        )
        for i, energy in enumerate((100, 200, 300), start=1)
    ]
    server_ledger(jp_serverapp).write_batch([], runs)
    answer = await post(
        jp_fetch, "predict", {"kernel_id": "k9", "notebook_path": "a.ipynb", "cell_id": "c1", "code": CODE}
    )
    prediction = answer["prediction"]
    assert prediction["basis"]["kind"] == "history" and prediction["basis"]["runs"] == 3
    assert prediction["energy_j"] == {"p50": 200.0, "low": 120.0, "high": 280.0}
    assert prediction["gco2e"]["p50"] > 0 and len(prediction["greener"]["zones"]) == 3
    assert prediction["greener"]["forecast"] is None
    memo = jp_serverapp.web_app.settings["jupyterlab_carbon"]["prediction_memo"]
    assert memo.take("k9", digest) == prediction and memo.take("k9", digest) is None


async def test_changed_numbers_scale_an_earlier_flops_run(jp_fetch: Any, jp_serverapp: Any) -> None:
    before = "epochs = 2\ntrain(epochs)"
    digest = hashlib.sha256(before.encode()).hexdigest()
    run = make_record(
        "f" * 32, code_hash=digest, notebook_path="b.ipynb", extra={"cell_id": "c2", "flops": {"count": 1e9}}
    )
    server_ledger(jp_serverapp).write_batch([], [dataclasses.replace(run, attributed_j=50.0)])
    cell = {"kernel_id": "k1", "notebook_path": "b.ipynb", "cell_id": "c2"}
    assert (await post(jp_fetch, "predict", {**cell, "code": before}))["prediction"]["basis"]["kind"] == "history"
    scaled = (await post(jp_fetch, "predict", {**cell, "code": "epochs = 20\ntrain(epochs)"}))["prediction"]
    assert scaled["basis"]["kind"] == "flops-scaled" and scaled["energy_j"]["p50"] == pytest.approx(500.0)


async def test_declared_flops_use_the_calibration(jp_fetch: Any, jp_serverapp: Any) -> None:
    runs = []
    for i, flops in enumerate((1e9, 2e9, 4e9), start=1):
        record = make_record(f"{i:031x}c", extra={"flops": {"count": flops}}, code_hash=None)
        runs.append(dataclasses.replace(record, attributed_j=5 + flops * 1e-8))
    server_ledger(jp_serverapp).write_batch([], runs)
    calibration = json.loads((await jp_fetch(NAMESPACE, "predict", "calibration")).body)["calibrations"]
    assert calibration[0]["runs"] == 3 and calibration[0]["joules_per_flop"] == pytest.approx(1e-8)
    declared = {"count": 8e9, "device": "cuda", "dtype": "float32"}
    answer = await post(jp_fetch, "predict", {"kernel_id": "k1", "code": "fit()", "flops_declared": declared})
    assert answer["prediction"]["basis"]["kind"] == "flops-declared"
    assert answer["prediction"]["energy_j"]["p50"] == pytest.approx(85.0)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("[]", "JSON object"),
        ("{}", "'code' is required"),
        ('{"kernel_id": "k", "code": 5}', "'code' is required"),
        ('{"code": "x"}', "'kernel_id' is required"),
        ('{"kernel_id": "k", "code": "x", "cell": 1}', "Unknown field"),
        ('{"kernel_id": "k", "code": "x", "execution_count": "1"}', "execution_count"),
        ('{"kernel_id": "k", "code": "x", "flops_declared": {"count": -1}}', "above zero"),
        ("not json", "not valid JSON"),
        ('{"kernel_id": "k", "code": "x", "flops_declared": {"count": 1' + "0" * 400 + "}}", "finite number"),
        ('{"kernel_id": "k", "code": "\\ud800"}', "'code' holds a lone surrogate"),
    ],
)
async def test_bad_lookups_are_400(jp_fetch: Any, body: str, message: str) -> None:
    code, text = await refused(jp_fetch, "predict", body)
    assert code == 400 and message in text


async def test_estimate_endpoint(jp_fetch: Any) -> None:
    body = {"gpu": "H100-SXM", "count": 64, "params": 7e9, "tokens": 2e12, "mfu": 0.4, "pue": 1.1, "zone": "FR"}
    result = await post(jp_fetch, "estimate", body)
    assert result["gpu_hours"]["p50"] == pytest.approx(58952.3, rel=1e-4) and result["assumptions"]
    code, text = await refused(jp_fetch, "estimate", json.dumps({"gpu": "H100-SXM", "count": 64}))
    assert code == 400 and "tokens" in text
    code, text = await refused(jp_fetch, "estimate", json.dumps({"gpu": "B300", "flops": 1e20}))
    assert code == 400 and "Unknown GPU" in text
    both = {"gpu": "A10", "flops": 1e20, "params": 7e9, "tokens": 1e12}
    code, text = await refused(jp_fetch, "estimate", json.dumps(both))
    assert code == 400 and "not both" in text
    n = "1" + "0" * 400  # an integer beyond any float
    for huge in (f'{{"gpu": "A10", "flops": {n}}}', f'{{"gpu": "A10", "params": {n}, "tokens": 1}}'):
        code, text = await refused(jp_fetch, "estimate", huge)
        assert code == 400 and "finite number" in text
    # An energy too small for a float (0 J) still has its interval, from the relative spread.
    tiny = await post(jp_fetch, "estimate", {"gpu": "A10", "flops": 5e-324})
    assert tiny["energy_j"]["p50"] == 0.0 and tiny["gpu_hours"]["low"] <= tiny["gpu_hours"]["p50"]


async def test_a_trivial_cells_zero_joule_history_is_answered(jp_fetch: Any, jp_serverapp: Any) -> None:
    code = "x = 1"
    digest = hashlib.sha256(code.encode()).hexdigest()
    runs = [
        dataclasses.replace(
            make_record(f"{i:032x}", code_hash=digest, notebook_path="z.ipynb", extra={"cell_id": "c0"}),
            attributed_j=0.0,
        )
        for i in range(11, 14)
    ]
    server_ledger(jp_serverapp).write_batch([], runs)
    answer = await post(
        jp_fetch, "predict", {"kernel_id": "k0", "notebook_path": "z.ipynb", "cell_id": "c0", "code": code}
    )
    prediction = answer["prediction"]
    assert prediction["energy_j"] == {"p50": 0.0, "low": 0.0, "high": 0.0}
    assert prediction["gco2e"] == {"p50": 0.0, "low": 0.0, "high": 0.0}


async def test_the_run_keeps_the_prediction_shown_before_it(jp_fetch: Any, jp_ws_fetch: Any, jp_serverapp: Any) -> None:
    from .test_executions import KernelChannel, runs_for, start_kernel

    code = "total = sum(range(10))"
    digest = hashlib.sha256(code.encode()).hexdigest()
    earlier = [
        dataclasses.replace(make_record(f"{i:032x}", code_hash=digest, notebook_path=None), attributed_j=2.0)
        for i in range(21, 24)
    ]
    server_ledger(jp_serverapp).write_batch([], earlier)
    kernel_id = await start_kernel(jp_fetch)
    channel = await KernelChannel.open(jp_ws_fetch, kernel_id)
    try:
        answer = await post(jp_fetch, "predict", {"kernel_id": kernel_id, "code": code})
        assert answer["prediction"]["energy_j"]["p50"] == 2.0
        msg_id, _, _ = await channel.run(code)
        [run] = await runs_for(jp_fetch, 1, msg_id=msg_id)
        assert run["extra"]["prediction"] == answer["prediction"]
        assert run["extra"]["prediction_error"] == pytest.approx(run["attributed_j"] / 2.0 - 1)
    finally:
        channel.ws.close()
        await jp_fetch("api", "kernels", kernel_id, method="DELETE")


async def test_accuracy_lists_runs_with_their_prediction(jp_fetch: Any, jp_serverapp: Any) -> None:
    empty = json.loads((await jp_fetch(NAMESPACE, "predict", "accuracy")).body)
    assert empty["runs"] == [] and empty["median_abs_error"] is None and empty["within_interval"] is None
    shown = {"energy_j": {"p50": 100.0, "low": 80.0, "high": 120.0}, "basis": {"kind": "history"}}
    runs = [
        dataclasses.replace(
            make_record(f"{i:031x}a", extra={"prediction": shown}), attributed_j=measured, started_at=1e9 + i
        )
        for i, measured in enumerate((90.0, 150.0, 100.0))
    ]
    broken = {"energy_j": {"p50": float("nan"), "low": 0, "high": 1}}
    runs.append(make_record("b" * 32, extra={"prediction": broken}))  # no usable prediction: left out
    runs.append(make_record("c" * 32, extra={"prediction": shown}, status="error"))  # a failed cell: not judged
    server_ledger(jp_serverapp).write_batch([], runs)
    jp_serverapp.web_app.settings["jupyterlab_carbon"].pop("predictions", None)  # a fresh read of the ledger
    answer = json.loads((await jp_fetch(NAMESPACE, "predict", "accuracy")).body)
    assert [point["measured_j"] for point in answer["runs"]] == [90.0, 150.0, 100.0]  # oldest first
    assert [point["error"] for point in answer["runs"]] == pytest.approx([-0.1, 0.5, 0.0])
    assert [point["within_interval"] for point in answer["runs"]] == [True, False, True]
    assert answer["median_abs_error"] == pytest.approx(0.1) and answer["within_interval"] == pytest.approx(2 / 3)
    assert answer["runs"][0]["basis"] == "history"


async def test_gpus_endpoint_lists_the_bundled_table(jp_fetch: Any) -> None:
    gpus = json.loads((await jp_fetch(NAMESPACE, "estimate", "gpus")).body)["gpus"]
    keys = [gpu["key"] for gpu in gpus]
    assert "H100-SXM" in keys and keys == sorted(keys)
    h100 = gpus[keys.index("H100-SXM")]
    assert h100["tdp_watts"] > 0 and h100["peak_tflops"]["bf16"] > 0 and h100["reference"]
