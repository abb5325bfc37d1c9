"""Every bad input to the REST API gets a clear 4xx in JSON, through a real Jupyter server."""

from __future__ import annotations

import json
import math
import threading
from pathlib import Path
from typing import Any

import pytest
import yaml
from tornado.httpclient import HTTPClientError, HTTPResponse

from jupyterlab_carbon.handlers import NAMESPACE
from jupyterlab_carbon.handlers.intensity import SETTINGS_BODY_LIMIT
from jupyterlab_carbon.impact_service import NUMBER_RANGES, TEXT_RULES, ImpactService
from jupyterlab_carbon.ledger import Ledger

from .test_ledger import make_record

OPENAPI = Path(__file__).parents[1] / "openapi.yaml"


async def refused(jp_fetch: Any, *path: str, **kwargs: Any) -> tuple[int, dict[str, Any], HTTPResponse]:
    """The status, JSON body and response of a request that must fail."""
    with pytest.raises(HTTPClientError) as failure:
        await jp_fetch(NAMESPACE, *path, **kwargs)
    response = failure.value.response
    assert response is not None
    assert response.headers["Content-Type"].startswith("application/json")
    body = json.loads(response.body)
    assert set(body) == {"code", "message"} and body["code"] == failure.value.code
    return failure.value.code, body, response


async def put_raw(jp_fetch: Any, body: str | bytes) -> tuple[int, dict[str, Any], HTTPResponse]:
    return await refused(jp_fetch, "intensity", method="PUT", body=body)


@pytest.mark.parametrize(
    ("field", "value", "range_text"),
    [
        ("intensity", 1e308, "between 0 and 2000 gCO2e/kWh"),
        ("pue", 1e308, "between 1 and 3"),
        ("price", 1e308, "between 0 and 10000 per kWh"),
        ("intensity", -1, "between 0 and 2000"),
        ("pue", 0.5, "between 1 and 3"),
        ("price", 10**400, "between 0 and 10000"),  # an int too big for a float
    ],
)
async def test_settings_out_of_range_are_refused_with_the_field_and_range(
    jp_fetch: Any, field: str, value: float, range_text: str
) -> None:
    status, body, _ = await put_raw(jp_fetch, json.dumps({field: value}))
    assert status == 400
    assert f"'{field}'" in body["message"] and range_text in body["message"]
    state = json.loads((await jp_fetch(NAMESPACE, "intensity")).body)
    assert state["settings"][field] is None  # the refused value was not kept


@pytest.mark.parametrize("token", ["Infinity", "-Infinity", "NaN", "1e400"])
async def test_non_finite_json_numbers_are_refused(jp_fetch: Any, token: str) -> None:
    status, body, _ = await put_raw(jp_fetch, f'{{"intensity": {token}}}')
    assert status == 400, body


@pytest.mark.parametrize(
    ("settings", "words"),
    [
        ({"currency": "EURO"}, "3-letter ISO 4217"),
        ({"currency": "€"}, "3-letter ISO 4217"),
        ({"zone": "FR;DROP"}, "grid zone"),
        ({"zone": "F" * 65}, "at most 64 characters"),
        ({"cloudRegion": "us-east-1/../x"}, "cloud region"),
        ({"cloudProvider": "AWS "}, "one of aws, azure, gcp"),
        ({"liveProvider": "other"}, "one of gb-carbon-intensity"),
        ({"intensity": True}, "a number or null"),
        ({"intensity": "400"}, "a number or null"),
        ({"zone": 7}, "a string"),
    ],
)
async def test_setting_strings_are_capped_and_patterned(jp_fetch: Any, settings: dict[str, Any], words: str) -> None:
    status, body, _ = await put_raw(jp_fetch, json.dumps(settings))
    assert status == 400 and words in body["message"], body


async def test_settings_strings_are_trimmed_and_the_currency_upper_cased(jp_fetch: Any) -> None:
    response = await jp_fetch(
        NAMESPACE, "intensity", method="PUT", body=json.dumps({"zone": " FR ", "currency": "eur"})
    )
    settings = json.loads(response.body)["settings"]
    assert settings["zone"] == "FR" and settings["currency"] == "EUR"


async def test_a_ten_megabyte_currency_is_too_large(jp_fetch: Any) -> None:
    status, body, _ = await put_raw(jp_fetch, json.dumps({"currency": "E" * 10_000_000}))
    assert status == 413 and str(SETTINGS_BODY_LIMIT) in body["message"]


async def test_deeply_nested_json_is_a_400_or_413_never_a_500(jp_fetch: Any) -> None:
    # Within the size limit the parser's recursion limit is met: a 400 that says why.
    depth = SETTINGS_BODY_LIMIT // 2 - 10
    status, body, _ = await put_raw(jp_fetch, "[" * depth + "]" * depth)
    assert status == 400 and "nested too deeply" in body["message"]
    # The 100,000 levels are over the size limit before any parsing.
    status, body, _ = await put_raw(jp_fetch, '{"a":' * 100_000 + "1" + "}" * 100_000)
    assert status == 413


@pytest.mark.parametrize("body", ["null", "[1, 2]", '"FR"', "{", "\xff", '{"zone": "FR"} x'])
async def test_a_body_that_is_not_a_json_object_is_a_400(jp_fetch: Any, body: str) -> None:
    status, _, _ = await put_raw(jp_fetch, body.encode("latin-1"))
    assert status == 400


async def test_settings_are_validated_and_saved_off_the_event_loop(
    jp_fetch: Any, jp_serverapp: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    service: ImpactService = jp_serverapp.web_app.settings["jupyterlab_carbon"]["impact"]
    threads: list[int] = []
    update = service.update

    def recording_update(data: dict[str, Any]) -> Any:
        threads.append(threading.get_ident())
        return update(data)

    monkeypatch.setattr(service, "update", recording_update)
    await jp_fetch(NAMESPACE, "intensity", method="PUT", body=json.dumps({"zone": "FR"}))
    assert threads and threads[0] != threading.get_ident()  # the loop runs on this test's thread


@pytest.mark.parametrize(
    ("path", "params", "name"),
    [
        ("runs", {"limit": "1.5"}, "limit"),
        ("runs", {"offset": "0.5"}, "offset"),
        ("runs", {"limit": ""}, "limit"),
        ("runs", {"limit": "0"}, "limit"),
        ("runs", {"limit": "10001"}, "limit"),
        ("runs", {"limit": " 5"}, "limit"),
        ("runs", {"offset": "-1"}, "offset"),
        ("runs", {"since": "nan"}, "since"),
        ("runs", {"since": ""}, "since"),
        ("runs", {"until": "inf"}, "until"),
        ("runs", {"until": "1e999"}, "until"),
        ("runs", {"until": "100000000001"}, "until"),
        ("totals", {"since": "1e12"}, "since"),
        ("totals", {"since": "1_000"}, "since"),
        ("power/series", {"step": ""}, "step"),
        ("power/series", {"step": "0.01"}, "step"),
        ("power/series", {"minutes": ""}, "minutes"),
        ("power/series", {"minutes": "infinity"}, "minutes"),
    ],
)
async def test_bad_query_parameters_are_a_400_naming_them(
    jp_fetch: Any, path: str, params: dict[str, str], name: str
) -> None:
    status, body, _ = await refused(jp_fetch, path, params=params)
    assert status == 400 and f"'{name}'" in body["message"], body


async def test_whole_numbers_and_bounds_are_accepted(jp_fetch: Any) -> None:
    page = json.loads((await jp_fetch(NAMESPACE, "runs", params={"limit": "10000", "offset": "0"})).body)
    assert page == {"total": 0, "total_is_lower_bound": False, "runs": []}
    await jp_fetch(NAMESPACE, "runs", params={"since": "0", "until": "1e11"})
    await jp_fetch(NAMESPACE, "power/series", params={"minutes": "0.01", "step": "3600"})


@pytest.mark.parametrize("run_id", ["xyz", "0" * 31, "0" * 33, "A" * 32, "%2e%2e"])
async def test_a_malformed_or_unknown_run_id_is_a_json_404(jp_fetch: Any, run_id: str) -> None:
    status, body, _ = await refused(jp_fetch, "runs", run_id)
    assert status == 404 and "32 lowercase hex digits" in body["message"]


@pytest.mark.parametrize("path", ["runs/", "runs/a/b", "nope", "status/extra", ""])
async def test_any_other_path_below_carbon_is_a_json_404(
    http_server_client: Any, jp_base_url: str, jp_auth_header: dict[str, str], path: str
) -> None:
    url = f"{jp_base_url}{NAMESPACE}/{path}"  # as written: jp_fetch would escape or drop the slashes
    with pytest.raises(HTTPClientError) as failure:
        await http_server_client.fetch(url, headers=jp_auth_header, request_timeout=10)
    assert failure.value.code == 404 and failure.value.response is not None
    assert json.loads(failure.value.response.body)["code"] == 404


@pytest.mark.parametrize(
    ("path", "method", "allowed"),
    [
        ("runs", "DELETE", "GET"),
        ("runs", "POST", "GET"),
        ("totals", "PUT", "GET"),
        ("status", "PATCH", "GET"),
        ("intensity", "POST", "GET, PUT"),
        ("intensity", "DELETE", "GET, PUT"),
        ("events", "PUT", "GET"),
        ("runs/" + "0" * 32, "DELETE", "GET, PATCH"),
        ("runs/annotate", "GET", "POST"),
    ],
)
async def test_unsupported_methods_are_a_405_with_allow(jp_fetch: Any, path: str, method: str, allowed: str) -> None:
    body = "{}" if method in ("POST", "PUT", "PATCH") else None
    status, error, response = await refused(jp_fetch, *path.split("/"), method=method, body=body)
    assert status == 405 and response.headers["Allow"] == allowed
    assert method in error["message"] and allowed in error["message"]


async def test_the_events_socket_answers_a_plain_get_in_json(jp_fetch: Any) -> None:
    status, body, _ = await refused(jp_fetch, "events")
    assert status == 400 and "WebSocket" in body["message"]
    # Half a handshake: the Upgrade header without "Connection: Upgrade" (tornado's answer is HTML).
    for connection in ("keep-alive", "close"):
        headers = {"Upgrade": "websocket", "Connection": connection}
        status, body, _ = await refused(jp_fetch, "events", headers=headers)
        assert status == 400 and "WebSocket" in body["message"]


def poisoned_ledger(ledger: Ledger) -> None:
    """Rows as an earlier version stored them after a PUT of intensity 1e308: infinite numbers."""
    infinite_impact = {"gco2e": math.inf, "cost": math.inf, "currency": "EUR"}
    ledger.add_run(make_record("a" * 32, kernel_id="k-poisoned", impact=infinite_impact))
    later = {"started_at": 1_700_000_100.0, "ended_at": 1_700_000_101.0}
    ledger.add_run(make_record("b" * 32, kernel_id="k-poisoned", node_j=math.inf, **later))
    ledger.add_run(make_record("c" * 32, kernel_id="k-poisoned"))


async def test_a_ledger_poisoned_by_an_earlier_version_still_lists_and_sums(jp_fetch: Any, jp_serverapp: Any) -> None:
    poisoned_ledger(jp_serverapp.web_app.settings["jupyterlab_carbon"]["ledger"])
    response = await jp_fetch(NAMESPACE, "runs", params={"kernel_id": "k-poisoned"})
    page = json.loads(response.body, parse_constant=lambda token: pytest.fail(f"non-JSON token {token}"))
    by_id = {run["run_id"]: run for run in page["runs"]}
    assert by_id["a" * 32]["impact"]["gco2e"] is None and by_id["a" * 32]["impact"]["cost"] is None
    assert by_id["b" * 32]["node_j"] is None
    assert by_id["c" * 32]["impact"]["gco2e"] == 12.5
    one = json.loads((await jp_fetch(NAMESPACE, "runs", "a" * 32)).body, parse_constant=pytest.fail)
    assert one["impact"]["gco2e"] is None

    totals = json.loads((await jp_fetch(NAMESPACE, "totals", params={"kernel_id": "k-poisoned"})).body)
    # a's infinite impact and b's infinite node energy are left out of their sums.
    assert totals["runs"] == 3
    assert totals["gco2e"] == pytest.approx(2 * 12.5)
    assert totals["node_j"] == pytest.approx(2 * 310.25)
    assert totals["attributed_j"] == pytest.approx(3 * 120.5)
    assert totals["costs"] == {"EUR": pytest.approx(2 * 0.002)}


def test_the_openapi_file_states_the_bounds_the_code_applies() -> None:
    spec = yaml.safe_load(OPENAPI.read_text())
    settings = spec["components"]["schemas"]["IntensitySettings"]["properties"]
    for name, bounds in NUMBER_RANGES.items():
        assert (settings[name]["minimum"], settings[name]["maximum"]) == (bounds.minimum, bounds.maximum), name
    for name, rule in TEXT_RULES.items():
        if "enum" in settings[name]:
            assert settings[name]["enum"] == rule.pattern.split("|"), name
        else:
            assert settings[name]["pattern"] == f"^{rule.pattern}$", name
            assert settings[name]["maxLength"] == rule.max_length, name
    shared = spec["components"]["parameters"]
    runs = spec["paths"]["/runs"]["get"]["parameters"]
    listed = [shared[p["$ref"].rsplit("/", 1)[1]] if "$ref" in p else p for p in runs]
    parameters = {p["name"]: p["schema"] for p in listed}
    assert parameters["since"]["maximum"] == parameters["until"]["maximum"] == 1e11
    until = next(p for p in listed if p["name"] == "until")
    assert "exclusive" in until["description"]
