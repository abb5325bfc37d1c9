"""The live providers' 24-hour forecasts and the greenest time the prediction gate shows."""

from __future__ import annotations

import logging
import threading
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from jupyterlab_carbon.impact_service import ImpactService
from jupyterlab_carbon.intensity import (
    ElectricityMapsProvider,
    ForecastCache,
    ForecastPoint,
    GBCarbonIntensityProvider,
    IntensitySettings,
    LiveIntensity,
    LiveIntensityError,
    TTLCache,
    WattTimeProvider,
)
from jupyterlab_carbon.predict.service import greener

from .fakeapi import FakeApi, Reply
from .test_intensity import WATTTIME_FORECAST, WATTTIME_LOGIN

NOW = datetime(2024, 5, 1, 11, 47, tzinfo=timezone.utc).timestamp()


def epoch(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def test_gb_forecast_asks_for_the_next_24_hours_from_now(api: FakeApi) -> None:
    path = "/intensity/2024-05-01T11:47Z/fw24h"
    periods = [
        {"from": "2024-05-01T11:30Z", "to": "2024-05-01T12:00Z", "intensity": {"forecast": 119, "actual": None}},
        {"from": "2024-05-01T12:00Z", "to": "2024-05-01T12:30Z", "intensity": {"forecast": 87, "actual": None}},
    ]
    api.routes[path] = Reply.json({"data": periods})
    provider = GBCarbonIntensityProvider(base_url=api.base_url, cache=TTLCache(), now=lambda: NOW)
    assert provider.forecast("GB") == [
        ForecastPoint(epoch("2024-05-01T11:30Z"), 119.0),
        ForecastPoint(epoch("2024-05-01T12:00Z"), 87.0),
    ]
    provider.forecast("GB")
    assert api.count(path) == 1  # cached like the current value


def test_electricity_maps_forecast(api: FakeApi) -> None:
    api.routes["/v3/carbon-intensity/forecast"] = Reply.json(
        {
            "zone": "FR",
            "forecast": [
                {"carbonIntensity": 40, "datetime": "2024-05-01T13:00:00.000Z"},
                {"carbonIntensity": 31, "datetime": "2024-05-01T12:00:00.000Z"},
            ],
        }
    )
    provider = ElectricityMapsProvider("tok", base_url=api.base_url, cache=TTLCache())
    points = provider.forecast("FR")
    assert [point.gco2e_per_kwh for point in points] == [31.0, 40.0]  # oldest first
    assert api.seen[0].query == {"zone": ["FR"]} and api.seen[0].headers["auth-token"] == "tok"


def test_watttime_forecast_in_grams_per_kwh(api: FakeApi) -> None:
    api.routes["/login"] = Reply.json(WATTTIME_LOGIN)
    api.routes["/v3/forecast"] = Reply.json(WATTTIME_FORECAST)
    provider = WattTimeProvider("ada", "pw", {"US-CA": "CAISO_NORTH"}, base_url=api.base_url, cache=TTLCache())
    points = provider.forecast("US-CA")
    assert [point.gco2e_per_kwh for point in points] == pytest.approx([900 * 0.45359237, 905 * 0.45359237])
    assert points[1].at - points[0].at == 300


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ({"data": "nope"}, "no data list"),
        ({"data": [{"from": "yesterday", "intensity": {"forecast": 10}}]}, "no usable period start"),
        ({"data": [{"from": "2024-05-01T12:00Z", "intensity": {"forecast": -3}}]}, "no usable forecast intensity"),
        ({"data": []}, "no points"),
    ],
)
def test_gb_forecast_failures_say_why(api: FakeApi, body: Any, reason: str) -> None:
    api.routes["/intensity/2024-05-01T11:47Z/fw24h"] = Reply.json(body)
    provider = GBCarbonIntensityProvider(base_url=api.base_url, cache=TTLCache(), now=lambda: NOW)
    with pytest.raises(LiveIntensityError, match=reason):
        provider.forecast("GB")


class ScriptedProvider:
    """A provider whose forecast is a list, or an error, and that can be held mid-fetch."""

    name = "gb-carbon-intensity"  # a name the settings accept
    label = "Scripted"

    def __init__(self, points: list[ForecastPoint] | None) -> None:
        self.points = points
        self.release = threading.Event()
        self.release.set()
        self.calls = 0

    def fetch(self, zone: str) -> LiveIntensity:
        raise AssertionError("not used")

    def forecast(self, zone: str) -> list[ForecastPoint]:
        self.calls += 1
        self.release.wait(5)
        if self.points is None:
            raise LiveIntensityError(self.label, zone, "down for maintenance")
        return list(self.points)


def test_the_lowest_point_ahead_without_waiting_for_the_network(caplog: pytest.LogCaptureFixture) -> None:
    clock = [0.0]
    forecasts = ForecastCache(refresh_s=900, clock=lambda: clock[0], wall_clock=lambda: NOW)
    provider = ScriptedProvider(
        [
            ForecastPoint(NOW - 7200, 5.0),  # past: not a time to run at
            ForecastPoint(NOW - 600, 90.0),  # the current half hour
            ForecastPoint(NOW + 3600, 40.0),
            ForecastPoint(NOW + 7200, 40.0),  # as low, later: the earlier one is shown
            ForecastPoint(NOW + 90000, 1.0),  # beyond 24 hours
        ]
    )
    provider.release.clear()
    assert forecasts.lowest(provider, "GB") is None  # not fetched yet: the lookup does not wait
    provider.release.set()
    forecasts.wait(5)
    assert forecasts.lowest(provider, "GB") == ForecastPoint(NOW + 3600, 40.0)
    assert provider.calls == 1  # fresh for refresh_s

    # A failed refresh keeps what was known, and says why in the log.
    clock[0] = 901.0
    provider.points = None
    with caplog.at_level(logging.INFO):
        forecasts.lowest(provider, "GB")
        forecasts.wait(5)
    assert forecasts.lowest(provider, "GB") == ForecastPoint(NOW + 3600, 40.0)
    assert "down for maintenance" in caplog.text


def test_the_gate_shows_the_greenest_time_here(tmp_path: Path) -> None:
    service = ImpactService(tmp_path / "settings.json", IntensitySettings(user_zone="GB"), {})
    assert service.lowest_forecast() is None  # no live provider chosen
    point = ForecastPoint(NOW + 3600, 40.0)
    at_best = greener(3.6e6, 1.5, point)["forecast"]
    assert at_best == {"at": NOW + 3600, "gco2e_per_kwh": 40.0, "gco2e": pytest.approx(60.0)}  # 1 kWh x PUE 1.5
    assert greener(3.6e6, 1.5)["forecast"] is None


def test_the_impact_service_asks_the_users_provider_for_its_zone(tmp_path: Path) -> None:
    soon = time.time() + 1800  # the service reads the real clock
    provider = ScriptedProvider([ForecastPoint(soon, 33.0)])
    providers = {"gb-carbon-intensity": provider}
    service = ImpactService(tmp_path / "settings.json", IntensitySettings(user_zone="GB"), providers)
    service.update({"liveProvider": "gb-carbon-intensity"})
    assert service.lowest_forecast() is None  # fetching
    service._forecasts.wait(5)
    assert service.lowest_forecast() == ForecastPoint(soon, 33.0)
    # A number the user typed is not a zone's: no forecast applies.
    service.update({"liveProvider": "gb-carbon-intensity", "intensity": 100})
    assert service.lowest_forecast() is None
