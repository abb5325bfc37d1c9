"""Intensity settings through the REST API, and every run stamped with its emissions and cost."""

from __future__ import annotations

import json
from typing import Any

import pytest
from tornado.httpclient import HTTPClientError

from jupyterlab_carbon.data import grid_zones
from jupyterlab_carbon.handlers import NAMESPACE

from .test_executions import BUSY_LOOP, KernelChannel, runs_for, start_kernel


async def put_settings(jp_fetch: Any, **settings: Any) -> dict[str, Any]:
    response = await jp_fetch(NAMESPACE, "intensity", method="PUT", body=json.dumps(settings))
    return json.loads(response.body)


async def test_unknown_region_is_an_assumption_until_the_user_picks_one(jp_fetch: Any) -> None:
    state = json.loads((await jp_fetch(NAMESPACE, "intensity")).body)
    resolved = state["resolved"]
    assert resolved["method"] == "assumed-world-average" and resolved["is_assumption"]
    assert resolved["gco2e_per_kwh"] == 475 and "Settings" in resolved["message"]
    assert "gb-carbon-intensity" in state["live_providers"]


async def test_settings_are_validated_and_resolved_in_order(jp_fetch: Any) -> None:
    state = await put_settings(jp_fetch, zone="FR", price=0.25, currency="EUR")
    assert state["resolved"]["method"] == "settings-zone" and state["resolved"]["zone"] == "FR"
    assert state["resolved"]["gco2e_per_kwh"] == pytest.approx(grid_zones()["FR"].gco2e_per_kwh)
    state = await put_settings(jp_fetch, zone="FR", cloudProvider="gcp", cloudRegion="europe-west1")
    assert state["resolved"]["method"] == "cloud-region" and state["resolved"]["pue"] > 1.0
    state = await put_settings(jp_fetch, zone="FR", intensity=123.0)
    assert state["resolved"]["method"] == "user-value" and state["resolved"]["gco2e_per_kwh"] == 123.0
    with pytest.raises(HTTPClientError) as bad_zone:
        await put_settings(jp_fetch, zone="FRA")
    body = json.loads(bad_zone.value.response.body)
    assert bad_zone.value.code == 400 and "FR" in body["message"]
    with pytest.raises(HTTPClientError) as bad_field:
        await put_settings(jp_fetch, colour="green")
    assert bad_field.value.code == 400 and "colour" in json.loads(bad_field.value.response.body)["message"]
    with pytest.raises(HTTPClientError) as bad_provider:
        await put_settings(jp_fetch, liveProvider="watttime")
    assert "not configured" in json.loads(bad_provider.value.response.body)["message"]
    # The last good settings stay in force after a refused update.
    state = json.loads((await jp_fetch(NAMESPACE, "intensity")).body)
    assert state["settings"]["intensity"] == 123.0


async def test_each_run_keeps_the_impact_it_was_computed_with(jp_fetch: Any, jp_ws_fetch: Any) -> None:
    await put_settings(jp_fetch, intensity=400.0, pue=1.5, price=0.3, currency="EUR")
    kernel_id = await start_kernel(jp_fetch)
    channel = await KernelChannel.open(jp_ws_fetch, kernel_id)
    first_id, _, _ = await channel.run(BUSY_LOOP.format(seconds=1))
    [first] = await runs_for(jp_fetch, 1, kernel_id=kernel_id)
    impact = first["impact"]
    expected_g = first["attributed_j"] / 3.6e6 * 1.5 * 400.0
    assert impact["gco2e"] == pytest.approx(expected_g)
    assert impact["cost"] == pytest.approx(first["attributed_j"] / 3.6e6 * 1.5 * 0.3)
    assert impact["currency"] == "EUR" and impact["intensity"]["method"] == "user-value"
    assert len(impact["equivalents"]) >= 2

    await put_settings(jp_fetch, intensity=50.0)  # new settings apply to new runs only
    await channel.run("2 + 2")
    runs = await runs_for(jp_fetch, 2, kernel_id=kernel_id)
    by_msg = {r["msg_id"]: r for r in runs}
    assert by_msg[first_id]["impact"]["gco2e"] == pytest.approx(expected_g)
    newest = runs[0]
    assert newest["impact"]["gco2e_per_kwh"] == 50.0 and newest["impact"]["cost"] is None

    totals = json.loads((await jp_fetch(NAMESPACE, "totals", params={"kernel_id": kernel_id})).body)
    assert totals["runs"] == 2
    assert totals["gco2e"] == pytest.approx(sum(r["impact"]["gco2e"] for r in runs))
    assert totals["costs"] == {"EUR": pytest.approx(impact["cost"])}
