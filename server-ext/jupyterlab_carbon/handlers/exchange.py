"""Runs out as a download (CodeCarbon's emissions.csv columns, or JSON) and CodeCarbon files in as runs.

An export streams: the ledger is read in pages and each page is sent before the next is read,
so a ledger of a million runs never sits in memory. An import checks the whole file first and
stores every run in one transaction, so a bad file imports nothing.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable

import tornado.web
from tornado.iostream import StreamClosedError

from ..ledger.codecarbon import ImportProblem, csv_header, csv_rows, parse_emissions_csv
from ..ledger.query import RunQuery
from ..records import RunRecord
from . import ledger_input as check
from .base import json_text
from .ledger import LedgerHandler

FORMATS = ("csv", "json")
FILENAMES = {"csv": "emissions.csv", "json": "runs.json"}
CONTENT_TYPES = {"csv": "text/csv; charset=utf-8", "json": "application/json; charset=utf-8"}
EXPORT_PAGE = 5000  # runs read and sent at a time
RUN_LOOKUP_CHUNK = 500  # run ids looked up per worker-thread call
MAX_IMPORT_BYTES = 50 * 1024 * 1024


class ExportHandler(LedgerHandler):
    """GET runs/export?format=&<filters>: the matching runs; POST runs/export {format, run_ids}: those runs."""

    @tornado.web.authenticated
    async def get(self) -> None:
        export_format = self.choice_argument("format", FORMATS, "csv") or "csv"
        query = check.run_query(self)
        pages = self._search_pages(query)
        # The first page is read before anything is sent, so that a refusal is still a JSON 400.
        first: list[RunRecord] = await anext(pages, [])
        await self._send(export_format, _chain(first, pages))

    @tornado.web.authenticated
    async def post(self) -> None:
        body = check.body_object(self, ("format", "run_ids"), ("run_ids",))
        export_format = body.get("format", "csv")
        if export_format not in FORMATS:
            raise check.bad(f"'format' must be one of {', '.join(FORMATS)}, got {str(export_format)[:40]!r}")
        run_ids = check.run_ids(body["run_ids"])
        records = await self._runs(run_ids)
        await self._send(export_format, _pages_of(records))

    async def _search_pages(self, query: RunQuery) -> AsyncIterator[list[RunRecord]]:
        # Oldest first, as CodeCarbon appends: a run recorded during the export lands after
        # the pages already sent instead of shifting them.
        offset = 0
        while True:
            _, page = await self.ask(
                self.ledger.search, query, sort="started_at", order="asc", limit=EXPORT_PAGE, offset=offset
            )
            if page:
                yield page
            if len(page) < EXPORT_PAGE:
                return
            offset += len(page)

    async def _runs(self, run_ids: list[str]) -> list[RunRecord]:
        """The runs with these ids in the order given, or a 404 naming those this server does not show."""
        found: dict[str, RunRecord] = {}
        for start in range(0, len(run_ids), RUN_LOOKUP_CHUNK):
            chunk = run_ids[start : start + RUN_LOOKUP_CHUNK]
            found.update(await self.ask(self._lookup, chunk))
        missing = [run_id for run_id in run_ids if run_id not in found]
        if missing:
            shown = ", ".join(missing[:5]) + (f" and {len(missing) - 5} more" if len(missing) > 5 else "")
            raise tornado.web.HTTPError(404, f"No run with id {shown}; nothing was exported")
        return [found[run_id] for run_id in run_ids]

    def _lookup(self, run_ids: list[str]) -> dict[str, RunRecord]:
        visible = self.visible_users
        records = (self.ledger.run(run_id, visible_users=visible) for run_id in run_ids)
        return {record.run_id: record for record in records if record is not None}

    async def _send(self, export_format: str, pages: AsyncIterator[list[RunRecord]]) -> None:
        content_type = CONTENT_TYPES[export_format]
        self.set_header("Content-Type", content_type)
        self.set_header("Content-Disposition", f'attachment; filename="{FILENAMES[export_format]}"')
        self.set_header("Cache-Control", "no-store")  # notebook paths and code: not for shared caches
        csv_format = export_format == "csv"
        self.write(csv_header() if csv_format else "[")
        first = True
        try:
            async for page in pages:
                self.write(csv_rows(page) if csv_format else _json_items(page, first))
                first = False
                await self.flush()  # sent before the next page is read
        except StreamClosedError:
            return  # the client went away; nothing left to send it
        if not csv_format:
            self.write("\n]\n")
        self.finish(set_content_type=content_type)


class ImportHandler(LedgerHandler):
    """POST runs/import?experiment=: a CodeCarbon emissions.csv (the body) becomes imported runs."""

    @tornado.web.authenticated
    async def post(self) -> None:
        body = self.request.body
        if len(body) > MAX_IMPORT_BYTES:
            raise tornado.web.HTTPError(
                413, f"The file is {len(body)} bytes; at most {MAX_IMPORT_BYTES} are imported at once: split it"
            )
        raw_experiment = self._raw_argument("experiment")
        experiment = check.experiment(raw_experiment) if raw_experiment else None
        user = self.carbon_config.user or None
        try:
            records = await self.in_thread(parse_emissions_csv, body, user, experiment)
        except ImportProblem as problem:
            raise check.bad(str(problem)) from None
        await self.ask(self.ledger.write_batch, [], records)  # one transaction: all or nothing
        run_ids = [record.run_id for record in records]
        self.runs_changed(run_ids)
        experiments = {record.experiment for record in records}
        self.write_json(
            {
                "imported": len(records),
                "experiment": experiments.pop() if len(experiments) == 1 else None,
                "run_ids": run_ids,
            }
        )


async def _chain(first: list[RunRecord], rest: AsyncIterator[list[RunRecord]]) -> AsyncIterator[list[RunRecord]]:
    if first:
        yield first
    async for page in rest:
        yield page


async def _pages_of(records: list[RunRecord]) -> AsyncIterator[list[RunRecord]]:
    for start in range(0, len(records), EXPORT_PAGE):
        yield records[start : start + EXPORT_PAGE]


def _json_items(records: Iterable[RunRecord], first: bool) -> str:
    """``records`` as items of the JSON array being sent (without power traces, as in lists)."""
    items = [json_text(record.to_json()) for record in records]
    return ("\n" if first else ",\n") + ",\n".join(items)
