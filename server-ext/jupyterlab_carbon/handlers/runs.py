"""The ledger's runs and their totals, and the executions in flight."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, cast

import tornado.web

from ..ledger.store import MAX_LIMIT
from .base import CarbonHandler

if TYPE_CHECKING:
    from ..executions import ExecutionWatcher

# Epoch seconds; 1e11 is the year 5138, far past any run and far below a float's limits.
MAX_EPOCH_S = 1e11
MAX_OFFSET = 10**12
RUN_ID = re.compile(r"[0-9a-f]{32}")  # uuid4 hex, as the server mints them
RUN_FILTERS = ("kernel_id", "msg_id", "notebook_path", "code_hash")
TOTALS_FILTERS = ("notebook_path", "kernel_id")


def _string_filters(handler: CarbonHandler, names: tuple[str, ...]) -> dict[str, Any]:
    """The string filters given in the query (empty means any)."""
    return {name: value for name in names if (value := handler.get_query_argument(name, None))}


class RunsHandler(CarbonHandler):
    @tornado.web.authenticated
    async def get(self) -> None:
        limit = self.integer_argument("limit", 100, 1, MAX_LIMIT)
        offset = self.integer_argument("offset", 0, 0, MAX_OFFSET)
        filters = _string_filters(self, RUN_FILTERS)
        for bound in ("since", "until"):  # since <= started_at < until
            value = self.number_argument(bound, None, 0, MAX_EPOCH_S)
            if value is not None:
                filters[bound] = value
        runs = await self.in_thread(self.ledger.runs, limit=limit, offset=offset, **filters)
        total = await self.in_thread(self.ledger.count, **filters)
        self.write_json({"total": total, "runs": [r.to_json() for r in runs]})


class RunHandler(CarbonHandler):
    @tornado.web.authenticated
    async def get(self, run_id: str) -> None:
        # Any path segment reaches here, so a malformed id gets this JSON 404 rather than Jupyter's page.
        record = await self.in_thread(self.ledger.run, run_id) if RUN_ID.fullmatch(run_id) else None
        if record is None:
            raise tornado.web.HTTPError(
                404, f"No run with id {run_id[:64]!r}; run ids are 32 lowercase hex digits, as GET runs lists them"
            )
        self.write_json(record.to_json())


class TotalsHandler(CarbonHandler):
    """Sums over runs: a notebook's all-time total, a kernel's, since a time."""

    @tornado.web.authenticated
    async def get(self) -> None:
        filters = _string_filters(self, TOTALS_FILTERS)
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
