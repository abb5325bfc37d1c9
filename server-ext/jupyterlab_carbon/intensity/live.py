"""Live grid carbon intensity from public APIs, cached, with failures that say why.

A live figure beats an annual average when the grid swings through the day (Great Britain's
intensity can halve between a still night and a windy afternoon). But a notebook must never
hang or break because an API is slow or down, so every provider here:

- uses only ``urllib`` with a timeout (5 s by default);
- caches answers for 15 minutes by default, keyed by provider, base URL and zone, which is
  about as often as the underlying data changes and keeps well inside rate limits;
- turns every failure (HTTP status, timeout, unreachable host, bad JSON, missing field,
  missing credentials) into a ``LiveIntensityError`` whose ``reason`` is one readable
  sentence that the resolver puts in front of the user before falling back to bundled data.

Nothing here touches the network at import time; a request happens only in ``fetch``.
Base URLs are parameters so tests can point providers at a loopback server.
"""

from __future__ import annotations

import base64
import json
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from typing import Any, Protocol, runtime_checkable

DEFAULT_TIMEOUT_S = 5.0
DEFAULT_TTL_S = 15 * 60.0
# WattTime reports pounds of CO2 per MWh: 1 lb/MWh = 453.59237 g / 1000 kWh.
G_PER_KWH_PER_LB_PER_MWH = 0.45359237


@dataclass(frozen=True)
class LiveIntensity:
    """One live reading for one zone, with the provider and the time it refers to."""

    zone: str
    gco2e_per_kwh: float
    provider: str  # short id: "gb-carbon-intensity", "electricitymaps", "watttime"
    provider_label: str  # for people: "GB Carbon Intensity API"
    signal: str  # what the number is: "average (actual)", "marginal (MOER forecast)", ...
    observed_at: str | None  # the provider's timestamp for the value, as it sent it
    fetched_at: float  # time.time() when it was fetched

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return asdict(self)


@dataclass(frozen=True)
class ForecastPoint:
    """One point of a provider's intensity forecast: the time it starts (epoch seconds) and the intensity."""

    at: float
    gco2e_per_kwh: float


class LiveIntensityError(Exception):
    """A live provider could not give a value; ``reason`` says why in one sentence."""

    def __init__(self, provider: str, zone: str, reason: str) -> None:
        # provider: the provider's label, as shown to people.
        super().__init__(f"{provider} ({zone}): {reason}")
        self.provider = provider
        self.zone = zone
        self.reason = reason


@runtime_checkable
class LiveIntensityProvider(Protocol):
    """Anything that can give the current intensity of a zone named with our zone codes."""

    name: str
    label: str

    def fetch(self, zone: str) -> LiveIntensity:
        """The current intensity of ``zone``; raises LiveIntensityError on any failure."""
        ...

    def forecast(self, zone: str) -> list[ForecastPoint]:
        """The forecast of ``zone`` for the next 24 hours; raises LiveIntensityError on any failure."""
        ...


class TTLCache:
    """A small thread-safe cache whose entries expire ``ttl_s`` seconds after being stored.

    The clock is injectable so expiry can be tested without sleeping.
    """

    def __init__(self, ttl_s: float = DEFAULT_TTL_S, clock: Callable[[], float] = time.monotonic):
        self.ttl_s = ttl_s
        self._clock = clock
        self._entries: dict[tuple[str, ...], tuple[float, Any]] = {}
        self._lock = threading.Lock()

    def get(self, key: tuple[str, ...]) -> Any:
        """The value stored under ``key`` if it has not expired."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            stored_at, value = entry
            if self._clock() - stored_at >= self.ttl_s:
                del self._entries[key]
                return None
            return value

    def put(self, key: tuple[str, ...], value: Any) -> None:
        """Store ``value`` under ``key`` from now."""
        with self._lock:
            self._entries[key] = (self._clock(), value)

    def clear(self) -> None:
        """Forget everything (after the user changes provider settings, for instance)."""
        with self._lock:
            self._entries.clear()


# One cache per process by default, so providers built afresh per request still share it.
SHARED_CACHE = TTLCache()


class _HttpProvider(ABC):
    """What the three providers share: caching, HTTP with a timeout, error translation."""

    name = ""
    label = ""

    def __init__(self, base_url: str, timeout_s: float, cache: TTLCache | None) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout_s = timeout_s
        self.cache = SHARED_CACHE if cache is None else cache

    def fetch(self, zone: str) -> LiveIntensity:
        """The cached value for ``zone`` if fresh, else a new one from the API."""
        key = (self.name, self.base_url, zone)
        cached: LiveIntensity | None = self.cache.get(key)
        if cached is not None:
            return cached
        value = self._query(zone)
        self.cache.put(key, value)
        return value

    @abstractmethod
    def _query(self, zone: str) -> LiveIntensity:
        """Ask the API for ``zone`` (no cache); raise LiveIntensityError on any failure."""

    def forecast(self, zone: str) -> list[ForecastPoint]:
        """The intensity forecast of ``zone`` for the next 24 hours, oldest first (cached like ``fetch``)."""
        key = (self.name, self.base_url, zone, "forecast")
        cached = self.cache.get(key)
        if cached is not None:
            return list(cached)
        points = sorted(self._query_forecast(zone), key=lambda point: point.at)
        if not points:
            raise self._error(zone, "the forecast has no points")
        self.cache.put(key, tuple(points))
        return points

    @abstractmethod
    def _query_forecast(self, zone: str) -> list[ForecastPoint]:
        """Ask the API for the forecast of ``zone`` (no cache); raise LiveIntensityError on any failure."""

    def _epoch(self, zone: str, value: Any, what: str) -> float:
        """An ISO 8601 time (``Z`` or an offset) as epoch seconds, or an error naming the field."""
        if isinstance(value, str):
            try:
                parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
            except ValueError:
                parsed = None
            if parsed is not None:
                return (parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)).timestamp()
        raise self._error(zone, f"the forecast has no usable {what} (got {str(value)[:40]!r})")

    def _error(self, zone: str, reason: str) -> LiveIntensityError:
        return LiveIntensityError(self.label, zone, reason)

    def _get_json(self, zone: str, path: str, params: Mapping[str, str], headers: Mapping[str, str]) -> Any:
        """GET ``base_url + path`` and decode its JSON body, or raise a readable error."""
        url = self.base_url + path
        if params:
            url += "?" + urllib.parse.urlencode(params)
        request = urllib.request.Request(url, headers={"Accept": "application/json", **headers})
        host = urllib.parse.urlsplit(url).netloc
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_s) as response:
                body = response.read()
        except urllib.error.HTTPError as exc:
            hint = " (check the credentials)" if exc.code in (401, 403) else ""
            raise self._error(zone, f"{host} answered HTTP {exc.code} {exc.reason}{hint}") from exc
        except TimeoutError as exc:
            raise self._error(zone, f"{host} did not answer within {self.timeout_s:g} s") from exc
        except urllib.error.URLError as exc:
            if isinstance(exc.reason, TimeoutError):
                raise self._error(zone, f"{host} did not answer within {self.timeout_s:g} s") from exc
            raise self._error(zone, f"cannot reach {host}: {exc.reason}") from exc
        except OSError as exc:
            raise self._error(zone, f"connection to {host} failed: {exc}") from exc
        try:
            return json.loads(body)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise self._error(zone, f"{host} answered with something that is not valid JSON") from exc

    def _number(self, zone: str, value: Any, what: str) -> float:
        """``value`` as a non-negative float, or an error naming the field."""
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
            raise self._error(zone, f"the answer has no usable {what} (got {value!r})")
        return float(value)


class GBCarbonIntensityProvider(_HttpProvider):
    """Great Britain's national grid intensity from the Carbon Intensity API (no account).

    ``GET {base}/intensity`` answers ``{"data": [{"from", "to", "intensity": {"forecast",
    "actual", "index"}}]}`` for the current half hour; ``actual`` is null until metered, so the
    forecast is used then and the signal says which. Covers zone ``GB`` only.
    """

    name = "gb-carbon-intensity"
    label = "GB Carbon Intensity API (National Energy System Operator)"

    def __init__(
        self,
        base_url: str = "https://api.carbonintensity.org.uk",
        timeout_s: float = DEFAULT_TIMEOUT_S,
        cache: TTLCache | None = None,
        now: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(base_url, timeout_s, cache)
        self._now = now

    def _query_forecast(self, zone: str) -> list[ForecastPoint]:
        """``GET {base}/intensity/{from}/fw24h``: the half hours of the next 24 hours, each with its forecast."""
        if zone != "GB":
            raise self._error(zone, "this provider covers Great Britain only (zone GB)")
        start = datetime.fromtimestamp(self._now(), timezone.utc).strftime("%Y-%m-%dT%H:%MZ")
        payload = self._get_json(zone, f"/intensity/{start}/fw24h", {}, {})
        periods = payload.get("data") if isinstance(payload, dict) else None
        if not isinstance(periods, list):
            raise self._error(zone, "the forecast has no data list")
        points = []
        for period in periods:
            intensity = period.get("intensity") if isinstance(period, dict) else None
            if not isinstance(intensity, dict):
                raise self._error(zone, "a forecast period has no intensity object")
            value = self._number(zone, intensity.get("forecast"), "forecast intensity")
            points.append(ForecastPoint(self._epoch(zone, period.get("from"), "period start"), value))
        return points

    def _query(self, zone: str) -> LiveIntensity:
        if zone != "GB":
            raise self._error(zone, "this provider covers Great Britain only (zone GB)")
        payload = self._get_json(zone, "/intensity", {}, {})
        try:
            period = payload["data"][0]
            intensity = period["intensity"]
        except (KeyError, IndexError, TypeError) as exc:
            raise self._error(zone, "the answer has no data[0].intensity") from exc
        if not isinstance(intensity, dict):
            raise self._error(zone, "data[0].intensity is not a JSON object")
        actual = intensity.get("actual")
        kind, value = ("actual", actual) if actual is not None else ("forecast", intensity.get("forecast"))
        return LiveIntensity(
            zone=zone,
            gco2e_per_kwh=self._number(zone, value, f"{kind} intensity"),
            provider=self.name,
            provider_label=self.label,
            signal=f"average ({kind})",
            observed_at=period.get("from"),
            fetched_at=time.time(),
        )


class ElectricityMapsProvider(_HttpProvider):
    """Electricity Maps' latest carbon intensity of a zone (needs an API token).

    ``GET {base}/v3/carbon-intensity/latest?zone=XX`` with header ``auth-token`` answers
    ``{"zone", "carbonIntensity", "datetime", "updatedAt"}``. Electricity Maps' zone codes equal
    ours for countries and Nordic bidding zones; ``zone_map`` translates the others
    (e.g. ``{"US-CA": "US-CAL-CISO"}``).
    """

    name = "electricitymaps"
    label = "Electricity Maps"

    def __init__(
        self,
        token: str | None,
        base_url: str = "https://api.electricitymap.org",
        zone_map: Mapping[str, str] | None = None,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        cache: TTLCache | None = None,
    ) -> None:
        super().__init__(base_url, timeout_s, cache)
        self.token = token
        self.zone_map = dict(zone_map or {})

    def _query(self, zone: str) -> LiveIntensity:
        if not self.token:
            raise self._error(zone, "no API token is set (Electricity Maps needs an auth-token)")
        remote_zone = self.zone_map.get(zone, zone)
        payload = self._get_json(zone, "/v3/carbon-intensity/latest", {"zone": remote_zone}, {"auth-token": self.token})
        if not isinstance(payload, dict):
            raise self._error(zone, "the answer is not a JSON object")
        return LiveIntensity(
            zone=zone,
            gco2e_per_kwh=self._number(zone, payload.get("carbonIntensity"), "carbonIntensity"),
            provider=self.name,
            provider_label=self.label,
            signal="average (latest)",
            observed_at=payload.get("datetime"),
            fetched_at=time.time(),
        )

    def _query_forecast(self, zone: str) -> list[ForecastPoint]:
        """``GET {base}/v3/carbon-intensity/forecast?zone=XX``: ``{"forecast": [{"carbonIntensity", "datetime"}]}``."""
        if not self.token:
            raise self._error(zone, "no API token is set (Electricity Maps needs an auth-token)")
        payload = self._get_json(
            zone, "/v3/carbon-intensity/forecast", {"zone": self.zone_map.get(zone, zone)}, {"auth-token": self.token}
        )
        points = payload.get("forecast") if isinstance(payload, dict) else None
        if not isinstance(points, list):
            raise self._error(zone, "the forecast has no forecast list")
        return [
            ForecastPoint(
                self._epoch(zone, point.get("datetime"), "datetime"),
                self._number(zone, point.get("carbonIntensity"), "carbonIntensity"),
            )
            for point in points
            if isinstance(point, dict)
        ]


class WattTimeProvider(_HttpProvider):
    """WattTime's marginal operating emissions rate (MOER) for a grid region (needs an account).

    Login is ``GET {base}/login`` with HTTP basic auth, answering ``{"token": ...}``; the value
    is the first point of ``GET {base}/v3/forecast?region=..&signal_type=co2_moer`` with
    ``Authorization: Bearer <token>``, answering ``{"data": [{"point_time", "value"}],
    "meta": {"units": "lbs_co2_per_mwh", ...}}`` (WattTime v3 documentation, docs.watttime.org).
    ``/v3/signal-index`` is not used: it returns a 0-100 percentile, not an intensity.
    A MOER is a marginal rate, higher than the average the bundled data holds; the signal
    field says so. WattTime names regions its own way (``CAISO_NORTH``), hence ``regions``,
    mapping our zone codes to WattTime regions.
    """

    name = "watttime"
    label = "WattTime"

    def __init__(
        self,
        username: str | None,
        password: str | None,
        regions: Mapping[str, str],
        base_url: str = "https://api.watttime.org",
        timeout_s: float = DEFAULT_TIMEOUT_S,
        cache: TTLCache | None = None,
    ) -> None:
        super().__init__(base_url, timeout_s, cache)
        self.username = username
        self.password = password
        self.regions = dict(regions)

    def _moer_forecast(self, zone: str) -> tuple[str, list[dict[str, Any]]]:
        """The region and the points of its MOER forecast (lbs/MWh), after logging in."""
        if not (self.username and self.password):
            raise self._error(zone, "no WattTime username and password are set")
        region = self.regions.get(zone)
        if region is None:
            raise self._error(zone, f"no WattTime region is configured for zone {zone}")
        basic = base64.b64encode(f"{self.username}:{self.password}".encode()).decode("ascii")
        login = self._get_json(zone, "/login", {}, {"Authorization": f"Basic {basic}"})
        token = login.get("token") if isinstance(login, dict) else None
        if not token:
            raise self._error(zone, "the WattTime login answered without a token")
        payload = self._get_json(
            zone,
            "/v3/forecast",
            {"region": region, "signal_type": "co2_moer"},
            {"Authorization": f"Bearer {token}"},
        )
        try:
            points = payload["data"]
            units = payload["meta"]["units"]
            first = points[0]
        except (KeyError, IndexError, TypeError) as exc:
            raise self._error(zone, "the answer has no data[0] or meta.units") from exc
        if not isinstance(first, dict) or not isinstance(points, list):
            raise self._error(zone, "data[0] is not a JSON object")
        if units != "lbs_co2_per_mwh":
            raise self._error(zone, f"unexpected units {units!r} (expected lbs_co2_per_mwh)")
        return region, points

    def _query(self, zone: str) -> LiveIntensity:
        region, points = self._moer_forecast(zone)
        point = points[0]
        lbs_per_mwh = self._number(zone, point.get("value"), "MOER value")
        return LiveIntensity(
            zone=zone,
            gco2e_per_kwh=lbs_per_mwh * G_PER_KWH_PER_LB_PER_MWH,
            provider=self.name,
            provider_label=self.label,
            signal=f"marginal (MOER forecast, region {region})",
            observed_at=point.get("point_time"),
            fetched_at=time.time(),
        )

    def _query_forecast(self, zone: str) -> list[ForecastPoint]:
        _, points = self._moer_forecast(zone)
        return [
            ForecastPoint(
                self._epoch(zone, point.get("point_time"), "point_time"),
                self._number(zone, point.get("value"), "MOER value") * G_PER_KWH_PER_LB_PER_MWH,
            )
            for point in points
            if isinstance(point, dict)
        ]
