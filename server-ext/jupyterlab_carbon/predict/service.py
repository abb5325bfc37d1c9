"""The lookup the gate calls before every cell run: the most specific basis first, fast.

Per lookup: at most one indexed ledger query by code hash (the cell's own history), and none
when the runs of that code are cached: the server tells the service of every run it records
(``run_recorded``), which drops that code's entry; entries also expire after CACHE_S, for runs
recorded elsewhere (another server on a shared ledger, headless runs). The code's numbers are
remembered (bounded) by template, so a cell whose numbers changed (``epochs = 2`` ->
``epochs = 20``) finds its earlier ``--flops`` runs by their code hashes, through the same cache.
The calibration, the intensity in force and the greener alternatives are cached too.
"""

from __future__ import annotations

import hashlib
import math
import re
import statistics
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..data import cloud_regions, grid_zones
from ..intensity import JOULES_PER_KWH, ForecastPoint, ResolvedIntensity, compute_impact
from ..ledger import Ledger
from ..ledger.query import RunQuery
from ..records import RunRecord
from .calibration import Calibration, calibrate, find_calibration
from .history import HISTORY_LIMIT, history_estimate
from .interval import Interval
from .known import TEMPLATE_PREFIX_HEX, CodeFilter, is_digest
from .priors import DEFAULT_SPREAD, GpuSpec, gpu_specs, mfu_prior

CACHE_S = 60.0  # calibration and intensity: recomputed at most once a minute
CALIBRATION_RUNS = 2000  # the newest runs read for the calibration
TEMPLATES_MAX = 4096
RUNS_CACHE_MAX = 4096  # code hashes whose runs are kept in memory (at most HISTORY_LIMIT runs each)
# ASCII digits only (Python's literals): the page blanks numbers with the same pattern (src/predict/known.ts).
NUMBER = re.compile(r"(?<![A-Za-z_0-9.])\d+(?:\.\d+)?(?:[eE][-+]?\d+)?(?![A-Za-z_0-9])", re.ASCII)
# The small-scale utilisation of a notebook's training step is far below a tuned cluster's.
PRIOR_SPREAD = 2.0 * DEFAULT_SPREAD


def code_hash(code: str) -> str:
    return hashlib.sha256(code.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class LookupRequest:
    kernel_id: str
    notebook_path: str | None
    cell_id: str | None
    code: str
    flops_declared: dict[str, Any] | None = None  # {"count", "device", "dtype"[, "device_name"]}


@dataclass(frozen=True)
class Estimate:
    energy_j: Interval
    duration_s: Interval
    kind: str
    text: str
    runs: int


class _Templates:
    """Code with its numbers blanked -> {code hash: its numbers}; bounded, oldest template first out.

    Also which of those codes have a ``--flops`` run (the flops-scaled basis needs one), so the page
    can be told which templates may scale (``flops_keys``).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_template: OrderedDict[str, dict[str, tuple[float, ...]]] = OrderedDict()
        self._flops: set[str] = set()

    def add(self, code: str, digest: str) -> tuple[str, tuple[float, ...]]:
        template = NUMBER.sub("#", code)
        numbers = tuple(float(m) for m in NUMBER.findall(code))
        with self._lock:
            known = self._by_template.pop(template, {})
            known[digest] = numbers
            while len(known) > 16:
                self._flops.discard(known.pop(next(iter(known))))
            self._by_template[template] = known
            while len(self._by_template) > TEMPLATES_MAX:
                _, dropped = self._by_template.popitem(last=False)
                self._flops.difference_update(dropped)
            return template, numbers

    def siblings(self, template: str, digest: str) -> dict[str, tuple[float, ...]]:
        with self._lock:
            return {h: n for h, n in self._by_template.get(template, {}).items() if h != digest}

    def mark_flops(self, digest: str, template: str | None = None) -> None:
        """This code (of ``template``, when the caller knows it) has a run with counted FLOPs; kept
        only while its template is."""
        with self._lock:
            templates = [self._by_template.get(template, {})] if template is not None else self._by_template.values()
            if any(digest in known for known in templates):
                self._flops.add(digest)

    def flops_keys(self) -> list[str]:
        """The page's keys (``template_key``) of the templates with a code that has a ``--flops`` run."""
        with self._lock:
            return sorted(
                template_key(template)
                for template, known in self._by_template.items()
                if not self._flops.isdisjoint(known)
            )


def template_key(template: str) -> str:
    return hashlib.sha256(template.encode("utf-8")).hexdigest()[:TEMPLATE_PREFIX_HEX]


def scale_factor(old: tuple[float, ...], new: tuple[float, ...]) -> tuple[float, list[str]]:
    """The product of the ratios of the numbers that changed (the work scales with each), and the changes."""
    factor, changes = 1.0, []
    for before, after in zip(old, new, strict=True):
        if before != after and 0 < before < math.inf and 0 < after < math.inf:
            factor *= after / before
            changes.append(f"{before:g} -> {after:g}")
    return factor, changes


def match_gpu(name: str) -> GpuSpec | None:
    """The bundled GPU a device name (torch.cuda.get_device_name) most likely is."""
    upper = name.upper()
    candidates = [spec for spec in gpu_specs().values() if spec.family.upper() in upper]
    if not candidates:
        return None
    pcie = [spec for spec in candidates if ("PCIE" in spec.key.upper()) == ("PCIE" in upper)]
    return (pcie or candidates)[0]


class PredictionService:
    def __init__(
        self,
        ledger: Ledger,
        resolve_intensity: Callable[[], ResolvedIntensity],
        price: Callable[[], tuple[float | None, str | None]],
        visible_users: tuple[str, ...] | None = None,
        clock: Callable[[], float] = time.monotonic,
        forecast: Callable[[], ForecastPoint | None] = lambda: None,
    ) -> None:
        self._ledger = ledger
        self._forecast = forecast
        self._resolve_intensity = resolve_intensity
        self._price = price
        self._visible = visible_users
        self._clock = clock
        self._templates = _Templates()
        self._lock = threading.Lock()
        self._calibration: tuple[float, dict[tuple[str, str], Calibration]] | None = None
        self._recent: tuple[float, list[RunRecord]] | None = None
        self._intensity: tuple[float, ResolvedIntensity] | None = None
        self._runs: OrderedDict[str, tuple[float, list[RunRecord]]] = OrderedDict()
        self._codes: tuple[float, CodeFilter] | None = None
        self._codes_rebuild = threading.Lock()
        self._recorded_during_rebuild: list[str] | None = None

    def run_recorded(self, record: RunRecord) -> None:
        """A run was stored: its code's cached runs are stale, and so is the calibration if it counted FLOPs.

        Its code joins the known codes at once, so the page's next refresh has it.
        """
        digest = record.code_hash
        with self._lock:
            if digest is not None:
                self._runs.pop(digest, None)
                if is_digest(digest):
                    if self._codes is not None:
                        self._codes[1].add(digest)
                    if self._recorded_during_rebuild is not None:
                        self._recorded_during_rebuild.append(digest)
            if "flops" in record.extra:
                self._calibration = self._recent = None
            elif "prediction" in record.extra:
                self._recent = None
        if digest is not None and isinstance(record.extra.get("flops"), dict):
            self._templates.mark_flops(digest)

    def known(self) -> dict[str, Any]:
        """Which codes may have a basis (see ``known.py``): the known codes rebuilt from the ledger at most
        once per CACHE_S (for runs recorded elsewhere), with this server's runs added as they are recorded."""
        with self._codes_rebuild:
            with self._lock:
                cached = self._codes
            if cached is None or self._clock() - cached[0] >= CACHE_S:
                with self._lock:
                    self._recorded_during_rebuild = []
                started = self._clock()
                digests = [digest for digest in self._ledger.code_hashes() if is_digest(digest)]
                codes = CodeFilter(len(digests) + len(digests) // 8)
                with self._lock:
                    for digest in digests + (self._recorded_during_rebuild or []):
                        codes.add(digest)
                    self._recorded_during_rebuild = None
                    self._codes = cached = (started, codes)
        with self._lock:
            payload = cached[1].to_json()
        return {"codes": payload, "templates": self._templates.flops_keys(), "refresh_s": CACHE_S}

    def _runs_of(self, digest: str) -> list[RunRecord]:
        """The newest runs of this code (cached; one indexed query when not)."""
        now = self._clock()
        with self._lock:
            cached = self._runs.get(digest)
            if cached is not None and now - cached[0] < CACHE_S:
                self._runs.move_to_end(digest)
                return cached[1]
        runs = self._ledger.runs(code_hash=digest, limit=HISTORY_LIMIT)
        with self._lock:
            self._runs[digest] = (now, runs)
            while len(self._runs) > RUNS_CACHE_MAX:
                self._runs.popitem(last=False)
        return runs

    # -- cached inputs ------------------------------------------------------------------

    def _recent_runs(self) -> list[RunRecord]:
        """The newest CALIBRATION_RUNS runs this server shows (cached for CACHE_S, with what is made of them)."""
        with self._lock:
            cached = self._recent
        if cached is not None and self._clock() - cached[0] < CACHE_S:
            return cached[1]
        _, runs = self._ledger.search(RunQuery(visible_users=self._visible), limit=CALIBRATION_RUNS)
        with self._lock:
            self._recent = (self._clock(), runs)
        return runs

    def calibrations(self) -> dict[tuple[str, str], Calibration]:
        """Per (device, dtype) fits over the newest runs with counted FLOPs (cached for CACHE_S)."""
        with self._lock:
            cached = self._calibration
        if cached is not None and self._clock() - cached[0] < CACHE_S:
            return cached[1]
        fits = calibrate(self._recent_runs())
        with self._lock:
            self._calibration = (self._clock(), fits)
        return fits

    def accuracy(self) -> dict[str, Any]:
        """Predicted against measured for the newest runs that kept the prediction they were shown."""
        runs = self._recent_runs()
        points = [point for run in runs if (point := accuracy_point(run)) is not None]
        points.sort(key=lambda point: point["started_at"])
        errors = sorted(abs(point["error"]) for point in points)
        within = sum(point["within_interval"] for point in points)
        return {
            "runs": points,
            "scanned": len(runs),
            "median_abs_error": statistics.median(errors) if errors else None,
            "within_interval": within / len(points) if points else None,
        }

    def intensity(self) -> ResolvedIntensity:
        with self._lock:
            cached = self._intensity
        if cached is not None and self._clock() - cached[0] < CACHE_S:
            return cached[1]
        resolved = self._resolve_intensity()
        with self._lock:
            self._intensity = (self._clock(), resolved)
        return resolved

    # -- the bases ----------------------------------------------------------------------

    def _history(self, request: LookupRequest, digest: str) -> Estimate | None:
        found = history_estimate(self._runs_of(digest), request.cell_id, request.notebook_path)
        if found is None:
            return None
        plural = "run" if found.runs == 1 else f"{found.runs} earlier runs"
        which = "this cell's" if found.same_cell else "this notebook's"
        return Estimate(
            found.energy_j, found.duration_s, "history", f"median of {which} {plural} with the same code", found.runs
        )

    def _scaled(
        self, request: LookupRequest, template: str, numbers: tuple[float, ...], digest: str
    ) -> Estimate | None:
        for other, old_numbers in self._templates.siblings(template, digest).items():
            runs = [
                run
                for run in self._runs_of(other)
                if run.status == "ok"
                and isinstance(run.extra.get("flops"), dict)
                and (not request.cell_id or run.extra.get("cell_id") in (None, request.cell_id))
                and run.notebook_path == request.notebook_path
            ]
            if not runs:
                continue
            factor, changes = scale_factor(old_numbers, numbers)
            energy = statistics.median(run.attributed_j for run in runs) * factor
            duration = statistics.median(run.duration_s for run in runs) * factor
            if not (math.isfinite(energy) and math.isfinite(duration)):
                continue  # numbers too large to scale by (a literal of hundreds of digits)
            spread = 0.25
            return Estimate(
                Interval.relative(energy, spread),
                Interval.relative(duration, spread),
                "flops-scaled",
                f"this cell's earlier --flops run scaled x{factor:.3g} by its changed numbers ({', '.join(changes)})",
                len(runs),
            )
        return None

    def _declared(self, declared: dict[str, Any]) -> Estimate | None:
        flops = float(declared["count"])
        device, dtype = str(declared.get("device", "cpu")), str(declared.get("dtype", "any"))
        fit = find_calibration(self.calibrations(), device, dtype)
        if fit is not None:
            energy, duration = fit.predict(flops)
            return Estimate(
                energy,
                duration,
                "flops-declared",
                f"{flops:.3g} declared FLOPs at this node's calibration for {fit.device} {fit.dtype} "
                f"({fit.flops_per_s:.3g} FLOP/s, {fit.joules_per_flop:.3g} J/FLOP, {len(fit.points)} runs)",
                len(fit.points),
            )
        spec = match_gpu(str(declared.get("device_name", ""))) if device != "cpu" else None
        if spec is None:
            return None
        prior = mfu_prior(spec, None)
        precision = {"bfloat16": "bf16", "float16": "fp16", "float32": "tf32"}.get(dtype, spec.default_dtype())
        peak = spec.peak_tflops.get(precision, spec.peak_tflops[spec.default_dtype()]) * 1e12
        seconds = flops / (peak * prior.value)
        return Estimate(
            Interval.relative(seconds * spec.tdp_watts, PRIOR_SPREAD),
            Interval.relative(seconds, PRIOR_SPREAD),
            "prior",
            f"{flops:.3g} declared FLOPs on {spec.model} at {prior.value:g} of its peak and its TDP "
            "(no calibration on this node yet)",
            0,
        )

    # -- the answer ---------------------------------------------------------------------

    def lookup(self, request: LookupRequest) -> dict[str, Any] | None:
        """The prediction for the cell (contract of issue 10), or None when nothing is known."""
        digest = code_hash(request.code)
        template, numbers = self._templates.add(request.code, digest)
        estimate = self._history(request, digest)
        if any(isinstance(run.extra.get("flops"), dict) for run in self._runs_of(digest)):
            self._templates.mark_flops(digest, template)
        if estimate is None and request.flops_declared is not None:
            estimate = self._declared(request.flops_declared)
        if estimate is None:
            estimate = self._scaled(request, template, numbers, digest)
        if estimate is None or not all(
            math.isfinite(value) for value in (estimate.energy_j.high, estimate.duration_s.high)
        ):
            return None  # nothing known, or declared FLOPs too large to mean anything
        return self._answer(estimate)

    def _answer(self, estimate: Estimate) -> dict[str, Any]:
        intensity = self.intensity()
        price, currency = self._price()
        # Each bound's own impact: a median of 0 J (a trivial cell's) has no ratio to scale by.
        impact, low, high = (
            compute_impact(joules, intensity, price, currency)
            for joules in (estimate.energy_j.p50, estimate.energy_j.low, estimate.energy_j.high)
        )
        return {
            "energy_j": estimate.energy_j.to_json(),
            "duration_s": estimate.duration_s.to_json(),
            "gco2e": {"p50": impact.gco2e, "low": low.gco2e, "high": high.gco2e},
            "cost": None
            if impact.cost is None or low.cost is None or high.cost is None
            else {"p50": impact.cost, "low": low.cost, "high": high.cost},
            "currency": impact.currency,
            "basis": {"kind": estimate.kind, "text": estimate.text, "runs": estimate.runs},
            "intensity": {
                "gco2e_per_kwh": intensity.gco2e_per_kwh,
                "zone": intensity.zone,
                "source": intensity.source,
                "year": intensity.year,
            },
            "greener": greener(estimate.energy_j.p50, intensity.pue, self._forecast()),
        }


def accuracy_point(run: RunRecord) -> dict[str, Any] | None:
    """A run's prediction against its measurement, or None for a run shown no usable prediction."""
    prediction = run.extra.get("prediction")
    if not isinstance(prediction, dict) or run.status != "ok":
        return None
    energy = prediction.get("energy_j")
    basis = prediction.get("basis")
    if not isinstance(energy, dict):
        return None
    figures = [energy.get(key) for key in ("p50", "low", "high")]
    numbers = [float(value) for value in figures if isinstance(value, int | float) and math.isfinite(value)]
    if len(numbers) != 3 or not math.isfinite(run.attributed_j):
        return None
    p50, low, high = numbers
    if p50 <= 0:
        return None
    return {
        "run_id": run.run_id,
        "started_at": run.started_at,
        "notebook_path": run.notebook_path,
        "code_preview": run.code_preview,
        "basis": basis.get("kind") if isinstance(basis, dict) and isinstance(basis.get("kind"), str) else None,
        "predicted_j": {"p50": p50, "low": low, "high": high},
        "measured_j": run.attributed_j,
        "error": run.attributed_j / p50 - 1,
        "within_interval": low <= run.attributed_j <= high,
    }


def greener(energy_j: float, pue: float, forecast: ForecastPoint | None = None) -> dict[str, Any]:
    """The same energy in the 3 greenest bundled countries (at this PUE), each provider's greenest region,
    and here at the lowest-intensity time of the live provider's forecast (when there is one)."""
    kwh = energy_j / JOULES_PER_KWH
    zones = [
        {"zone": zone.zone, "label": zone.name, "gco2e": kwh * pue * zone.gco2e_per_kwh} for zone in _greenest_zones()
    ]
    cloud = [
        {"provider": region.provider, "region": region.region, "gco2e": kwh * region.pue * region.gco2e_per_kwh}
        for region in _greenest_regions()
    ]
    at_best = (
        None
        if forecast is None
        else {"at": forecast.at, "gco2e_per_kwh": forecast.gco2e_per_kwh, "gco2e": kwh * pue * forecast.gco2e_per_kwh}
    )
    return {"zones": zones, "cloud": cloud, "forecast": at_best}


_GREEN_CACHE: dict[str, Any] = {}


def _greenest_zones() -> list[Any]:
    if "zones" not in _GREEN_CACHE:
        countries = [zone for zone in grid_zones().values() if zone.kind == "country"]
        _GREEN_CACHE["zones"] = sorted(countries, key=lambda zone: (zone.gco2e_per_kwh, zone.zone))[:3]
    return list(_GREEN_CACHE["zones"])


def _greenest_regions() -> list[Any]:
    if "regions" not in _GREEN_CACHE:
        best: dict[str, Any] = {}
        for region in cloud_regions().values():
            current = best.get(region.provider)
            if current is None or region.gco2e_per_kwh * region.pue < current.gco2e_per_kwh * current.pue:
                best[region.provider] = region
        _GREEN_CACHE["regions"] = [best[provider] for provider in sorted(best)]
    return list(_GREEN_CACHE["regions"])
