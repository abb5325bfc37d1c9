"""Predictions: the gate's lookup before a cell runs, this node's calibration, the training-run calculator."""

from __future__ import annotations

import math
from typing import Any, cast

import tornado.web

from ..impact_service import ImpactService
from ..predict.calculator import TrainingRun, estimate_training
from ..predict.memo import PredictionMemo
from ..predict.priors import gpu_specs
from ..predict.service import LookupRequest, PredictionService, code_hash
from .base import CarbonHandler, checked_text

MAX_CODE_CHARS = 1 << 20  # 1 MiB of code: larger cells are data, not code the gate should read
MAX_BODY_BYTES = 5 * MAX_CODE_CHARS  # JSON escapes can grow a cell's text
LOOKUP_KEYS = ("kernel_id", "notebook_path", "cell_id", "code", "execution_count", "flops_declared")
ESTIMATE_KEYS = (
    "gpu",
    "count",
    "params",
    "tokens",
    "flops",
    "mfu",
    "pue",
    "dtype",
    "zone",
    "region",
    "price",
    "currency",
)


def _object(body: Any, allowed: tuple[str, ...]) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise tornado.web.HTTPError(400, "The body must be a JSON object")
    unknown = sorted(set(body) - set(allowed))
    if unknown:
        raise tornado.web.HTTPError(
            400, f"Unknown field(s) {', '.join(repr(k[:40]) for k in unknown[:5])}; allowed: {', '.join(allowed)}"
        )
    return body


def _text(body: dict[str, Any], name: str, max_chars: int, required: bool = False) -> str | None:
    value = body.get(name)
    if value is None:
        if required:
            raise tornado.web.HTTPError(400, f"'{name}' is required")
        return None
    if not isinstance(value, str):
        raise tornado.web.HTTPError(400, f"'{name}' must be a string or null")
    return checked_text(name, value, max_chars)


def _number(body: dict[str, Any], name: str) -> float | None:
    value = body.get(name)
    if value is None:
        return None
    try:
        # An integer beyond any float (JSON allows 400 digits) overflows: refused like infinity.
        finite = not isinstance(value, bool) and isinstance(value, int | float) and math.isfinite(float(value))
    except OverflowError:
        finite = False
    if not finite:
        raise tornado.web.HTTPError(400, f"'{name}' must be a finite number or null")
    return float(value)


def _declared(value: Any) -> dict[str, Any] | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise tornado.web.HTTPError(400, "'flops_declared' must be an object {count, device, dtype} or null")
    count = _number(value, "count")
    if count is None or count <= 0:
        raise tornado.web.HTTPError(400, "'flops_declared.count' must be a number above zero")
    declared: dict[str, Any] = {"count": count}
    for key in ("device", "dtype", "device_name"):
        text = _text(value, key, 128)
        if text is not None:
            declared[key] = text
    return declared


class _PredictionsHandler(CarbonHandler):
    """What the prediction endpoints share: one service per server, made at first use."""

    @property
    def memo(self) -> PredictionMemo:
        return cast(PredictionMemo, self.state.setdefault("prediction_memo", PredictionMemo()))

    @property
    def predictions(self) -> PredictionService:
        service = self.state.get("predictions")
        if service is None:
            impact = cast(ImpactService, self.state["impact"])

            def price() -> tuple[float | None, str | None]:
                settings = impact.settings()
                return settings.price_per_kwh, settings.currency or None

            service = PredictionService(
                self.ledger, impact.resolved, price, self.visible_users, forecast=impact.lowest_forecast
            )
            self.state["predictions"] = service
            watcher = self.state.get("watcher")
            if watcher is not None:  # every run the server records refreshes that code's cached history
                watcher.add_run_listener(service.run_recorded)
        return cast(PredictionService, service)


class PredictHandler(_PredictionsHandler):
    """POST: the prediction for a cell about to run ({"prediction": null} when nothing is known)."""

    @tornado.web.authenticated
    async def post(self) -> None:
        body = _object(self.json_body(MAX_BODY_BYTES, None), LOOKUP_KEYS)
        code = body.get("code")
        if not isinstance(code, str):
            raise tornado.web.HTTPError(400, "'code' is required: the cell's source as a string")
        if len(code) > MAX_CODE_CHARS:
            raise tornado.web.HTTPError(400, f"'code' must be at most {MAX_CODE_CHARS} characters, got {len(code)}")
        count = body.get("execution_count")
        if count is not None and (isinstance(count, bool) or not isinstance(count, int)):
            raise tornado.web.HTTPError(400, "'execution_count' must be a whole number or null")
        request = LookupRequest(
            kernel_id=cast(str, _text(body, "kernel_id", 128, required=True)),
            notebook_path=_text(body, "notebook_path", 4096),
            cell_id=_text(body, "cell_id", 256),
            code=code,
            flops_declared=_declared(body.get("flops_declared")),
        )
        prediction = await self.in_thread(self.predictions.lookup, request)
        if prediction is not None:
            self.memo.remember(request.kernel_id, code_hash(code), prediction)
        self.write_json({"prediction": prediction})


class KnownCodesHandler(_PredictionsHandler):
    """GET: which codes the lookup may have a basis for, so that the page starts the others at once."""

    @tornado.web.authenticated
    async def get(self) -> None:
        self.write_json(await self.in_thread(self.predictions.known))


class CalibrationHandler(_PredictionsHandler):
    """GET: this node's calibration per device and dtype, with its data points."""

    @tornado.web.authenticated
    async def get(self) -> None:
        fits = await self.in_thread(self.predictions.calibrations)
        self.write_json({"calibrations": [fit.to_json() for _, fit in sorted(fits.items())]})


class AccuracyHandler(_PredictionsHandler):
    """GET: predicted against measured for the newest runs that kept their prediction."""

    @tornado.web.authenticated
    async def get(self) -> None:
        self.write_json(await self.in_thread(self.predictions.accuracy))


class GpusHandler(CarbonHandler):
    """GET: the bundled GPUs the calculator knows, with their datasheet figures and sources."""

    @tornado.web.authenticated
    async def get(self) -> None:
        self.write_json({"gpus": [spec.to_json() for _, spec in sorted(gpu_specs().items())]})


class EstimateHandler(CarbonHandler):
    """POST: the training-run calculator (FLOPs, GPU-hours, wall time, energy, CO2e, cost, assumptions)."""

    @tornado.web.authenticated
    async def post(self) -> None:
        body = _object(self.json_body(64 * 1024, None), ESTIMATE_KEYS)
        count = body.get("count", 1)
        if isinstance(count, bool) or not isinstance(count, int):
            raise tornado.web.HTTPError(400, "'count' must be a whole number of GPUs")
        impact = cast(ImpactService, self.state["impact"])
        settings = impact.settings()
        price = _number(body, "price")
        run = TrainingRun(
            gpu=cast(str, _text(body, "gpu", 64, required=True)),
            count=count,
            params=_number(body, "params"),
            tokens=_number(body, "tokens"),
            flops=_number(body, "flops"),
            mfu=_number(body, "mfu"),
            pue=_number(body, "pue"),
            dtype=_text(body, "dtype", 16),
            zone=_text(body, "zone", 64),
            region=_text(body, "region", 128),
            price_per_kwh=price if price is not None else settings.price_per_kwh,
            currency=_text(body, "currency", 3) or settings.currency or None,
        )
        try:
            result = await self.in_thread(estimate_training, run)
        except ValueError as err:
            raise tornado.web.HTTPError(400, str(err)) from None
        self.write_json(result.to_json())
