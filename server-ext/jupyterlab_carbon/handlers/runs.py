"""Sums over the ledger's runs (the badges' notebook totals), and the executions in flight."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

import tornado.web

from ..ledger.annotations import QUERY_TEXT_MAX
from .base import CarbonHandler
from .ledger_input import MAX_EPOCH_S

if TYPE_CHECKING:
    from ..executions import ExecutionWatcher

TOTALS_FILTERS = ("notebook_path", "kernel_id")


class TotalsHandler(CarbonHandler):
    """Sums over runs: a notebook's all-time total, a kernel's, since a time."""

    @tornado.web.authenticated
    async def get(self) -> None:
        filters: dict[str, Any] = {
            name: value for name in TOTALS_FILTERS if (value := self.text_argument(name, QUERY_TEXT_MAX))
        }
        since = self.number_argument("since", None, 0, MAX_EPOCH_S)
        if since is not None:
            filters["since"] = since
        self.write_json(await self.in_thread(self.ledger.totals, **filters))


class ExecutionsHandler(CarbonHandler):
    """Executions in flight now (a reloaded page shows live badges for them)."""

    @tornado.web.authenticated
    def get(self) -> None:
        watcher = cast("ExecutionWatcher", self.state["watcher"])
        self.write_json({"executions": watcher.in_flight()})
