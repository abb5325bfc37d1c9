"""The intensity in force (GET) and the user's intensity settings (PUT)."""

from __future__ import annotations

from dataclasses import asdict
from typing import cast

import tornado.web

from ..impact_service import ImpactService
from .base import CarbonHandler

# Eight short settings take a few hundred bytes; 64 KiB leaves room and refuses a flood.
SETTINGS_BODY_LIMIT = 64 * 1024


class IntensityHandler(CarbonHandler):
    @property
    def service(self) -> ImpactService:
        return cast(ImpactService, self.state["impact"])

    async def _answer(self) -> None:
        service = self.service
        resolved = await self.in_thread(service.resolved)
        self.write_json(
            {
                "settings": asdict(service.user_settings),
                "resolved": resolved.to_json(),
                "live_providers": service.live_providers,
            }
        )

    @tornado.web.authenticated
    async def get(self) -> None:
        await self._answer()

    @tornado.web.authenticated
    async def put(self) -> None:
        body = self.json_body(SETTINGS_BODY_LIMIT, empty={})  # no body: every setting back to its default
        if not isinstance(body, dict):
            raise tornado.web.HTTPError(400, "The body must be a JSON object of settings")
        try:
            await self.in_thread(self.service.update, body)
        except ValueError as err:
            raise tornado.web.HTTPError(400, str(err)) from None
        except OSError as err:
            raise tornado.web.HTTPError(500, f"The settings could not be saved: {err}") from None
        await self._answer()
