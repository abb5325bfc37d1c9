"""Intensity resolution, live providers against a loopback server, and impact arithmetic."""

from __future__ import annotations

import base64
import json
import socket
import time
from dataclasses import replace

import pytest

from jupyterlab_carbon.data import cloud_provider_pue, cloud_regions, equivalences, grid_zones
from jupyterlab_carbon.intensity import (
    ElectricityMapsProvider,
    ForecastPoint,
    GBCarbonIntensityProvider,
    IntensitySettings,
    LiveIntensity,
    LiveIntensityError,
    LiveIntensityProvider,
    ResolvedIntensity,
    TTLCache,
    WattTimeProvider,
    compute_impact,
    resolve_intensity,
    resolve_live,
)

from .fakeapi import FakeApi, Reply

# Responses recorded in the shape the public APIs document.
GB_RESPONSE = {
    "data": [
        {
            "from": "2024-05-01T11:30Z",
            "to": "2024-05-01T12:00Z",
            "intensity": {"forecast": 119, "actual": 123, "index": "low"},
        }
    ]
}
EM_RESPONSE = {
    "zone": "FR",
    "carbonIntensity": 52,
    "datetime": "2024-05-01T12:00:00.000Z",
    "updatedAt": "2024-05-01T11:48:19.114Z",
    "createdAt": "2024-04-28T12:49:43.213Z",
    "emissionFactorType": "lifecycle",
    "isEstimated": True,
    "estimationMethod": "TIME_SLICER_AVERAGE",
}
WATTTIME_LOGIN = {"token": "eyJhbGciOi.recorded.token"}
WATTTIME_FORECAST = {
    "data": [
        {"point_time": "2024-05-01T12:00:00+00:00", "value": 900.0},
        {"point_time": "2024-05-01T12:05:00+00:00", "value": 905.0},
    ],
    "meta": {
        "data_point_period_seconds": 300,
        "region": "CAISO_NORTH",
        "warnings": [],
        "signal_type": "co2_moer",
        "model": {"date": "2023-03-01"},
        "units": "lbs_co2_per_mwh",
        "generated_at_period_seconds": 300,
        "generated_at": "2024-05-01T12:00:00+00:00",
    },
}


def bundled(zone: str) -> float:
    return grid_zones()[zone].gco2e_per_kwh


# --- resolution order ----------------------------------------------------------------------

EVERYTHING = IntensitySettings(
    user_gco2e_per_kwh=123.0,
    user_zone="FR",
    cloud_provider="aws",
    cloud_region="us-east-1",
    settings_zone="DE",
)


def test_a_number_the_user_set_wins_over_everything() -> None:
    resolved = resolve_intensity(EVERYTHING)
    assert (resolved.method, resolved.gco2e_per_kwh) == ("user-value", 123.0)
    assert not resolved.is_assumption
    assert "123" in resolved.message


def test_a_user_zone_wins_over_cloud_region_and_settings_zone() -> None:
    resolved = resolve_intensity(replace(EVERYTHING, user_gco2e_per_kwh=None))
    assert (resolved.method, resolved.zone) == ("user-zone", "FR")
    assert resolved.gco2e_per_kwh == bundled("FR")
    assert resolved.zone_name == "France" and resolved.source and resolved.year and resolved.license


def test_a_cloud_region_wins_over_the_settings_zone() -> None:
    resolved = resolve_intensity(replace(EVERYTHING, user_gco2e_per_kwh=None, user_zone=None))
    region = cloud_regions()[("aws", "us-east-1")]
    assert resolved.method == "cloud-region"
    assert resolved.gco2e_per_kwh == region.gco2e_per_kwh
    assert (resolved.zone, resolved.cloud_provider, resolved.cloud_region) == ("US-VA", "aws", "us-east-1")


def test_the_settings_zone_wins_over_the_world_average() -> None:
    settings = IntensitySettings(settings_zone="DE")
    resolved = resolve_intensity(settings)
    assert resolved.method == "settings-zone"
    assert (resolved.zone, resolved.gco2e_per_kwh) == ("DE", bundled("DE"))
    assert not resolved.is_assumption


def test_nothing_set_is_the_world_average_flagged_as_an_assumption() -> None:
    resolved = resolve_intensity(IntensitySettings())
    assert resolved.method == "assumed-world-average"
    assert resolved.gco2e_per_kwh == 475
    assert resolved.is_assumption
    assert resolved.message.startswith("Region unknown: using the world average 475 gCO2e/kWh (")
    assert "2019" in resolved.message and resolved.message.endswith("Pick your region in Settings > Carbon.")
    assert resolved.to_json()["is_assumption"] is True


def test_zone_codes_are_case_insensitive() -> None:
    assert resolve_intensity(IntensitySettings(user_zone=" se-se3 ")).zone == "SE-SE3"


# --- cloud regions and PUE -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("provider", "region", "pue", "pue_from"),
    [
        ("aws", "us-east-1", 1.135, "fleet average"),
        ("azure", "westeurope", 1.185, "fleet average"),
        ("gcp", "us-east2", 1.1, "fleet average"),
        ("gcp", "europe-west1", 1.08, "Green Algorithms datacentre PUE"),
    ],
)
def test_cloud_region_brings_its_intensity_and_pue(
    provider: str, region: str, pue: float, pue_from: str
) -> None:
    resolved = resolve_intensity(IntensitySettings(cloud_provider=provider, cloud_region=region))
    row = cloud_regions()[(provider, region)]
    assert resolved.method == "cloud-region"
    assert resolved.gco2e_per_kwh == row.gco2e_per_kwh
    assert resolved.pue == pue
    assert pue_from in resolved.pue_source
    assert region in resolved.message and resolved.source == row.source


def test_azure_portal_names_and_region_without_provider_resolve() -> None:
    by_portal_name = resolve_intensity(IntensitySettings(cloud_provider="Azure", cloud_region="West Europe"))
    assert by_portal_name.cloud_region == "westeurope"
    without_provider = resolve_intensity(IntensitySettings(cloud_region="europe-west1"))
    assert (without_provider.cloud_provider, without_provider.pue) == ("gcp", 1.08)


def test_pue_user_value_beats_region_and_provider_beats_desk() -> None:
    user = resolve_intensity(IntensitySettings(cloud_provider="aws", cloud_region="us-east-1", pue=1.4))
    assert (user.pue, user.pue_source) == (1.4, "your setting")
    provider_only = resolve_intensity(IntensitySettings(cloud_provider="azure", settings_zone="NL"))
    assert provider_only.pue == cloud_provider_pue()["azure"].pue == 1.185
    assert provider_only.method == "settings-zone"
    desk = resolve_intensity(IntensitySettings(settings_zone="NL"))
    assert desk.pue == 1.0 and "no data-centre" in desk.pue_source


def test_user_value_keeps_the_cloud_pue() -> None:
    settings = IntensitySettings(user_gco2e_per_kwh=300, cloud_provider="aws", cloud_region="us-east-1")
    resolved = resolve_intensity(settings)
    assert (resolved.method, resolved.gco2e_per_kwh, resolved.pue) == ("user-value", 300, 1.135)


# --- errors --------------------------------------------------------------------------------


def test_unknown_zone_lists_close_matches() -> None:
    with pytest.raises(ValueError, match=r"Unknown grid zone 'FRA'.*FR \(France\)"):
        resolve_intensity(IntensitySettings(user_zone="FRA"))
    with pytest.raises(ValueError, match=r"CA-MB"):
        resolve_intensity(IntensitySettings(settings_zone="CA-MT"))


def test_a_typo_is_reported_even_when_a_higher_setting_wins() -> None:
    with pytest.raises(ValueError, match="Unknown grid zone 'Narnia'"):
        resolve_intensity(IntensitySettings(user_gco2e_per_kwh=100, settings_zone="Narnia"))


def test_unknown_region_and_provider_errors() -> None:
    with pytest.raises(ValueError, match=r"Unknown aws region 'us-east-9'.*us-east-1"):
        resolve_intensity(IntensitySettings(cloud_provider="aws", cloud_region="us-east-9"))
    with pytest.raises(ValueError, match="is not a aws region; it is a azure region"):
        resolve_intensity(IntensitySettings(cloud_provider="aws", cloud_region="westeurope"))
    with pytest.raises(ValueError, match=r"Unknown cloud provider 'amazon'.*aws, azure, gcp"):
        resolve_intensity(IntensitySettings(cloud_provider="amazon"))


@pytest.mark.parametrize(
    "settings",
    [
        IntensitySettings(pue=0.9),
        IntensitySettings(user_gco2e_per_kwh=-1),
        IntensitySettings(user_gco2e_per_kwh=float("nan")),
        IntensitySettings(price_per_kwh=-0.1),
    ],
)
def test_impossible_numbers_are_rejected(settings: IntensitySettings) -> None:
    with pytest.raises(ValueError):
        resolve_intensity(settings)


# --- live providers ------------------------------------------------------------------------


def test_gb_live_value_replaces_the_bundled_one(api: FakeApi) -> None:
    api.routes["/intensity"] = Reply.json(GB_RESPONSE)
    provider = GBCarbonIntensityProvider(base_url=api.base_url, cache=TTLCache())
    assert isinstance(provider, LiveIntensityProvider)
    resolved = resolve_live(IntensitySettings(settings_zone="GB"), provider)
    assert (resolved.method, resolved.zone, resolved.gco2e_per_kwh) == ("live", "GB", 123)
    assert "GB Carbon Intensity API" in resolved.source and "live" in resolved.source
    assert "actual" in resolved.source
    assert resolved.observed_at == "2024-05-01T11:30Z"
    assert "Using live data" in resolved.message and resolved.live_error is None
    assert api.count("/intensity") == 1


def test_gb_uses_the_forecast_until_the_actual_is_metered(api: FakeApi) -> None:
    payload = json.loads(json.dumps(GB_RESPONSE))
    payload["data"][0]["intensity"]["actual"] = None
    api.routes["/intensity"] = Reply.json(payload)
    live = GBCarbonIntensityProvider(base_url=api.base_url, cache=TTLCache()).fetch("GB")
    assert (live.gco2e_per_kwh, live.signal) == (119, "average (forecast)")


def test_gb_provider_refuses_other_zones_without_a_request(api: FakeApi) -> None:
    provider = GBCarbonIntensityProvider(base_url=api.base_url, cache=TTLCache())
    with pytest.raises(LiveIntensityError, match="Great Britain only"):
        provider.fetch("FR")
    assert api.seen == []


def test_electricity_maps_sends_token_and_zone(api: FakeApi) -> None:
    api.routes["/v3/carbon-intensity/latest"] = Reply.json(EM_RESPONSE)
    provider = ElectricityMapsProvider("secret", base_url=api.base_url, cache=TTLCache())
    resolved = resolve_live(IntensitySettings(user_zone="FR"), provider)
    assert (resolved.method, resolved.gco2e_per_kwh) == ("live", 52)
    assert resolved.zone_name == "France" and "Electricity Maps" in resolved.source
    request = api.seen[0]
    assert request.query == {"zone": ["FR"]}
    assert request.headers["auth-token"] == "secret"


def test_electricity_maps_zone_map_translates_our_codes(api: FakeApi) -> None:
    api.routes["/v3/carbon-intensity/latest"] = Reply.json({**EM_RESPONSE, "zone": "US-CAL-CISO"})
    provider = ElectricityMapsProvider(
        "secret", base_url=api.base_url, zone_map={"US-CA": "US-CAL-CISO"}, cache=TTLCache()
    )
    live = provider.fetch("US-CA")
    assert live.zone == "US-CA" and api.seen[0].query == {"zone": ["US-CAL-CISO"]}


def assert_fell_back(zone: str, resolved: ResolvedIntensity, reason: str) -> None:
    assert resolved.method == "user-zone"
    assert resolved.gco2e_per_kwh == bundled(zone)
    assert resolved.live_error is not None and reason in resolved.live_error
    assert "Live intensity from Electricity Maps failed" in resolved.message
    assert "Using the bundled value instead" in resolved.message
    assert reason in resolved.message


def test_http_500_falls_back_to_the_bundled_value(api: FakeApi) -> None:
    api.routes["/v3/carbon-intensity/latest"] = Reply(500, b"{}")
    provider = ElectricityMapsProvider("secret", base_url=api.base_url, cache=TTLCache())
    resolved = resolve_live(IntensitySettings(user_zone="FR"), provider)
    assert_fell_back("FR", resolved, "HTTP 500")


def test_timeout_falls_back_to_the_bundled_value(api: FakeApi) -> None:
    api.routes["/v3/carbon-intensity/latest"] = Reply(200, json.dumps(EM_RESPONSE).encode(), delay_s=1.0)
    provider = ElectricityMapsProvider("secret", base_url=api.base_url, timeout_s=0.2, cache=TTLCache())
    started = time.monotonic()
    resolved = resolve_live(IntensitySettings(user_zone="FR"), provider)
    assert time.monotonic() - started < 0.9
    assert_fell_back("FR", resolved, "did not answer within 0.2 s")


def test_bad_json_falls_back_to_the_bundled_value(api: FakeApi) -> None:
    api.routes["/v3/carbon-intensity/latest"] = Reply(200, b"<html>maintenance</html>")
    provider = ElectricityMapsProvider("secret", base_url=api.base_url, cache=TTLCache())
    resolved = resolve_live(IntensitySettings(user_zone="FR"), provider)
    assert_fell_back("FR", resolved, "not valid JSON")


def test_missing_field_and_unauthorised_are_readable(api: FakeApi) -> None:
    provider = ElectricityMapsProvider("secret", base_url=api.base_url, cache=TTLCache())
    api.routes["/v3/carbon-intensity/latest"] = Reply.json({"zone": "FR", "carbonIntensity": None})
    with pytest.raises(LiveIntensityError, match="no usable carbonIntensity"):
        provider.fetch("FR")
    api.routes["/v3/carbon-intensity/latest"] = Reply(401, b"{}")
    with pytest.raises(LiveIntensityError, match=r"HTTP 401 .*check the credentials"):
        provider.fetch("FR")


def test_missing_token_fails_without_a_request(api: FakeApi) -> None:
    provider = ElectricityMapsProvider(None, base_url=api.base_url, cache=TTLCache())
    resolved = resolve_live(IntensitySettings(user_zone="FR"), provider)
    assert_fell_back("FR", resolved, "no API token")
    assert api.seen == []


def test_unreachable_host_is_readable() -> None:
    with socket.socket() as probe:  # a port that was free a moment ago: nothing listens there
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    provider = GBCarbonIntensityProvider(base_url=f"http://127.0.0.1:{port}", timeout_s=1, cache=TTLCache())
    with pytest.raises(LiveIntensityError, match=rf"cannot reach 127\.0\.0\.1:{port}"):
        provider.fetch("GB")


def test_cache_hit_makes_no_second_request(api: FakeApi) -> None:
    api.routes["/v3/carbon-intensity/latest"] = Reply.json(EM_RESPONSE)
    provider = ElectricityMapsProvider("secret", base_url=api.base_url, cache=TTLCache())
    first = resolve_live(IntensitySettings(user_zone="FR"), provider)
    second = resolve_live(IntensitySettings(user_zone="FR"), provider)
    assert first.gco2e_per_kwh == second.gco2e_per_kwh == 52
    assert api.count("/v3/carbon-intensity/latest") == 1
    provider.fetch("DE")  # another zone is another cache entry
    assert api.count("/v3/carbon-intensity/latest") == 2


def test_cache_entries_expire_after_the_ttl(api: FakeApi) -> None:
    now = [1000.0]
    cache = TTLCache(ttl_s=900, clock=lambda: now[0])
    api.routes["/intensity"] = Reply.json(GB_RESPONSE)
    provider = GBCarbonIntensityProvider(base_url=api.base_url, cache=cache)
    provider.fetch("GB")
    now[0] += 899
    provider.fetch("GB")
    assert api.count("/intensity") == 1
    now[0] += 1
    provider.fetch("GB")
    assert api.count("/intensity") == 2


def test_failures_are_not_cached(api: FakeApi) -> None:
    provider = GBCarbonIntensityProvider(base_url=api.base_url, cache=TTLCache())
    api.routes["/intensity"] = Reply(503, b"")
    with pytest.raises(LiveIntensityError, match="HTTP 503"):
        provider.fetch("GB")
    api.routes["/intensity"] = Reply.json(GB_RESPONSE)
    assert provider.fetch("GB").gco2e_per_kwh == 123
    assert api.count("/intensity") == 2


def test_watttime_logs_in_and_converts_pounds_per_mwh(api: FakeApi) -> None:
    api.routes["/login"] = Reply.json(WATTTIME_LOGIN)
    api.routes["/v3/forecast"] = Reply.json(WATTTIME_FORECAST)
    regions = {"US-CA": "CAISO_NORTH"}
    provider = WattTimeProvider("ada", "pw", regions, base_url=api.base_url, cache=TTLCache())
    resolved = resolve_live(IntensitySettings(user_zone="US-CA"), provider)
    assert resolved.method == "live"
    assert resolved.gco2e_per_kwh == pytest.approx(900.0 * 0.45359237)
    assert "marginal" in resolved.source and resolved.observed_at == "2024-05-01T12:00:00+00:00"
    login, forecast = api.seen
    assert login.path == "/login"
    assert login.headers["authorization"] == "Basic " + base64.b64encode(b"ada:pw").decode()
    assert forecast.query == {"region": ["CAISO_NORTH"], "signal_type": ["co2_moer"]}
    assert forecast.headers["authorization"] == f"Bearer {WATTTIME_LOGIN['token']}"


@pytest.mark.parametrize(
    ("routes", "regions", "reason"),
    [
        ({"/login": Reply.json({"error": "bad"})}, {"US-CA": "CAISO_NORTH"}, "without a token"),
        ({}, {}, "no WattTime region is configured for zone US-CA"),
        (
            {
                "/login": Reply.json(WATTTIME_LOGIN),
                "/v3/forecast": Reply.json({**WATTTIME_FORECAST, "meta": {"units": "percentile"}}),
            },
            {"US-CA": "CAISO_NORTH"},
            "unexpected units",
        ),
    ],
)
def test_watttime_failures(
    api: FakeApi, routes: dict[str, Reply], regions: dict[str, str], reason: str
) -> None:
    api.routes.update(routes)
    provider = WattTimeProvider("ada", "pw", regions, base_url=api.base_url, cache=TTLCache())
    with pytest.raises(LiveIntensityError, match=reason):
        provider.fetch("US-CA")


class CountingProvider:
    """A provider that must not be called."""

    name = "counting"
    label = "Counting"

    def __init__(self) -> None:
        self.calls = 0

    def fetch(self, zone: str) -> LiveIntensity:
        self.calls += 1
        raise AssertionError("no live request expected")

    def forecast(self, zone: str) -> list[ForecastPoint]:
        self.calls += 1
        raise AssertionError("no live request expected")


@pytest.mark.parametrize("settings", [IntensitySettings(user_gco2e_per_kwh=10), IntensitySettings()])
def test_no_live_request_for_a_user_number_or_the_world_average(settings: IntensitySettings) -> None:
    provider = CountingProvider()
    resolved = resolve_live(settings, provider)
    assert provider.calls == 0 and resolved.method != "live"


def test_a_live_value_for_another_zone_is_not_used() -> None:
    live = LiveIntensity("GB", 100.0, "x", "X", "average", None, time.time())
    resolved = resolve_intensity(IntensitySettings(user_zone="FR"), live)
    assert (resolved.method, resolved.gco2e_per_kwh) == ("user-zone", bundled("FR"))
    assert "Live data for GB not used" in resolved.message


def test_live_value_replaces_a_cloud_region_value_for_its_zone() -> None:
    live = LiveIntensity("US-VA", 250.0, "x", "X", "average", "2024-05-01T12:00Z", time.time())
    resolved = resolve_intensity(IntensitySettings(cloud_provider="aws", cloud_region="us-east-1"), live)
    assert (resolved.method, resolved.gco2e_per_kwh, resolved.pue) == ("live", 250.0, 1.135)


# --- impact --------------------------------------------------------------------------------


def test_emissions_arithmetic_with_units() -> None:
    intensity = resolve_intensity(IntensitySettings(user_gco2e_per_kwh=400, pue=1.5))
    impact = compute_impact(3.6e6, intensity, None, None)
    assert impact.energy_kwh == pytest.approx(1.0)  # 3.6e6 J = 1 kWh
    assert impact.facility_energy_kwh == pytest.approx(1.5)
    assert impact.gco2e == pytest.approx(600.0)  # 1 kWh x 1.5 x 400 g/kWh


def test_cost_only_with_a_price() -> None:
    intensity = resolve_intensity(IntensitySettings(user_gco2e_per_kwh=400, pue=1.5))
    priced = compute_impact(7.2e6, intensity, 0.25, "EUR")
    assert priced.cost == pytest.approx(2 * 1.5 * 0.25)
    assert priced.currency == "EUR"
    unpriced = compute_impact(7.2e6, intensity, None, "EUR")
    assert unpriced.cost is None and unpriced.currency is None


def test_equivalents_come_from_the_cited_factors() -> None:
    intensity = resolve_intensity(IntensitySettings(user_gco2e_per_kwh=400, pue=1.5))
    impact = compute_impact(3.6e6, intensity, None, None)
    table = {e.key: e for e in equivalences()}
    assert [e.key for e in impact.equivalents] == ["car_km_eu", "streaming_hours", "tree_months"]
    for eq in impact.equivalents:
        assert eq.value == pytest.approx(600.0 / table[eq.key].reference_value_gco2e)
        assert eq.unit == table[eq.key].unit and eq.source and eq.reference
    with pytest.raises(ValueError, match="Unknown equivalence"):
        compute_impact(1.0, intensity, None, None, equivalent_keys=("phone_charges",))


def test_world_average_impact_is_marked_as_an_assumption() -> None:
    impact = compute_impact(3.6e6, resolve_intensity(IntensitySettings()), None, None)
    assert impact.gco2e == pytest.approx(475.0)
    payload = json.loads(json.dumps(impact.to_json()))
    assert payload["intensity"]["is_assumption"] is True
    assert payload["intensity"]["method"] == "assumed-world-average"
    assert len(payload["equivalents"]) == 3


@pytest.mark.parametrize("joules", [-1.0, float("inf"), float("nan")])
def test_impossible_energy_is_rejected(joules: float) -> None:
    with pytest.raises(ValueError):
        compute_impact(joules, resolve_intensity(IntensitySettings()), None, None)


def test_zero_energy_is_zero_everything() -> None:
    impact = compute_impact(0.0, resolve_intensity(IntensitySettings(settings_zone="PL")), 0.3, "PLN")
    assert (impact.gco2e, impact.cost) == (0.0, 0.0)
