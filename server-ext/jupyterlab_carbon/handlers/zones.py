"""The bundled intensity tables, whole and read-only: every grid zone and every cloud region.

The what-if map of the compare view colours each country by its grid intensity and lists the
greenest cloud regions; it needs the full tables, which GET /carbon/intensity (one resolved
figure) does not give.
"""

from __future__ import annotations

from dataclasses import asdict

import tornado.web

from ..data import cloud_regions, grid_zones
from .base import CarbonHandler


class ZonesHandler(CarbonHandler):
    """GET: every grid zone of ``grid_intensity.csv`` with its intensity, year and provenance."""

    @tornado.web.authenticated
    async def get(self) -> None:
        zones = await self.in_thread(grid_zones)
        self.write_json({"zones": [asdict(zone) for zone in sorted(zones.values(), key=lambda zone: zone.zone)]})


class CloudRegionsHandler(CarbonHandler):
    """GET: every cloud region of ``cloud_regions.csv`` with its intensity, PUE and provenance."""

    @tornado.web.authenticated
    async def get(self) -> None:
        regions = await self.in_thread(cloud_regions)
        self.write_json({"regions": [asdict(region) for _, region in sorted(regions.items())]})
