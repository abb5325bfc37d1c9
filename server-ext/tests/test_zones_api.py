"""GET /carbon/intensity/zones and /carbon/intensity/cloud-regions: the bundled tables, whole."""

from __future__ import annotations

import json
from typing import Any

import pytest
from tornado.httpclient import HTTPClientError

from jupyterlab_carbon.data import cloud_regions, grid_zones
from jupyterlab_carbon.handlers import NAMESPACE


async def test_zones_lists_every_bundled_zone_sorted(jp_fetch: Any) -> None:
    body = json.loads((await jp_fetch(NAMESPACE, "intensity", "zones")).body)
    zones = body["zones"]
    assert [zone["zone"] for zone in zones] == sorted(grid_zones())
    france = next(zone for zone in zones if zone["zone"] == "FR")
    assert france["kind"] == "country" and france["gco2e_per_kwh"] == grid_zones()["FR"].gco2e_per_kwh
    assert france["year"] == grid_zones()["FR"].year and france["license"] and france["source"]


async def test_cloud_regions_lists_every_bundled_region(jp_fetch: Any) -> None:
    body = json.loads((await jp_fetch(NAMESPACE, "intensity", "cloud-regions")).body)
    regions = body["regions"]
    assert [(region["provider"], region["region"]) for region in regions] == sorted(cloud_regions())
    expected = cloud_regions()[("gcp", "europe-west1")]
    europe_west1 = next(r for r in regions if (r["provider"], r["region"]) == ("gcp", "europe-west1"))
    assert europe_west1["pue"] == expected.pue and europe_west1["zone"] == expected.zone
    # Geographies spanning several grids have no zone: sent as null, not as an empty string.
    assert any(region["zone"] is None for region in regions)


@pytest.mark.parametrize("path", ["zones", "cloud-regions"])
async def test_tables_are_read_only(jp_fetch: Any, path: str) -> None:
    with pytest.raises(HTTPClientError) as refused:
        await jp_fetch(NAMESPACE, "intensity", path, method="POST", body="{}")
    assert refused.value.code == 405 and "GET" in json.loads(refused.value.response.body)["message"]
