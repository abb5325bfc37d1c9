"""Runs out as a download (CodeCarbon's emissions.csv columns, or JSON) and CodeCarbon files in as runs.

An export streams: a worker thread reads a page of the ledger and writes it as text, which is
sent before the next page is read, so a ledger of a million runs never sits in memory and the
event loop never formats a row. An import checks the whole file first and stores every run in
one transaction, so a bad file imports nothing.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence

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
COMPARE_MAX = 50  # runs the ledger reads by id in one statement (Ledger.compare)
MAX_IMPORT_BYTES = 50 * 1024 * 1024


class ExportHandler(LedgerHandler):
    """GET runs/export?format=&<filters>: the matching runs; POST runs/export {format, run_ids}: those runs."""

    @tornado.web.authenticated
    async def get(self) -> None:
        export_format = self.choice_argument("format", FORMATS, "csv") or "csv"
        query = check.run_query(self)
        # The first page is read before anything is sent, so that a refusal is still a JSON 400.
        first = await self.ask(self._search_page, query, export_format, 0)
        await self._send(export_format, self._search_pages(query, export_format, first))

    @tornado.web.authenticated
    async def post(self) -> None:
        body = check.body_object(self, ("format", "run_ids"), ("run_ids",))
        export_format = body.get("format", "csv")
        if export_format not in FORMATS:
            raise check.bad(f"'format' must be one of {', '.join(FORMATS)}, got {str(export_format)[:40]!r}")
        run_ids = check.run_ids(body["run_ids"])
        try:
            records = await self.in_thread(self._runs, run_ids)
        except ValueError as err:  # the ids are well formed: some are not runs this server shows
            raise tornado.web.HTTPError(404, f"{str(err).rstrip('.')}; nothing was exported") from None
        await self._send(export_format, self._given_pages(records, export_format))

    def _search_page(self, query: RunQuery, export_format: str, offset: int) -> tuple[int, str]:
        """In a worker thread: how many runs the page at ``offset`` holds, and its text."""
        # Oldest first, as CodeCarbon appends: a run recorded during the export lands after
        # the pages already sent instead of shifting them.
        _, page = self.ledger.search(query, sort="started_at", order="asc", limit=EXPORT_PAGE, offset=offset)
        return len(page), _page_text(export_format, page, first=offset == 0)

    async def _search_pages(self, query: RunQuery, export_format: str, first: tuple[int, str]) -> AsyncIterator[str]:
        count, text = first
        offset = 0
        while True:
            yield text
            offset += count
            if count < EXPORT_PAGE:
                return
            count, text = await self.ask(self._search_page, query, export_format, offset)

    def _runs(self, run_ids: list[str]) -> list[RunRecord]:
        """In a worker thread: the runs with these ids in the order given; ValueError naming any not shown."""
        visible = self.visible_users
        records: list[RunRecord] = []
        for start in range(0, len(run_ids), COMPARE_MAX):
            chunk = run_ids[start : start + COMPARE_MAX]
            if len(chunk) > 1:
                records += self.ledger.compare(chunk, visible)
            elif (record := self.ledger.run(chunk[0], visible_users=visible)) is not None:
                records.append(record)
            else:
                raise ValueError(f"No such run (or not yours to see): {chunk[0]}")
        return records

    async def _given_pages(self, records: list[RunRecord], export_format: str) -> AsyncIterator[str]:
        for start in range(0, len(records), EXPORT_PAGE):
            page = records[start : start + EXPORT_PAGE]
            yield await self.in_thread(_page_text, export_format, page, start == 0)

    async def _send(self, export_format: str, pages: AsyncIterator[str]) -> None:
        content_type = CONTENT_TYPES[export_format]
        self.set_header("Content-Type", content_type)
        self.set_header("Content-Disposition", f'attachment; filename="{FILENAMES[export_format]}"')
        self.set_header("Cache-Control", "no-store")  # notebook paths and code: not for shared caches
        self.write(csv_header() if export_format == "csv" else "[")
        try:
            async for text in pages:
                # A lone surrogate stored before the API refused them is sent as "?", rather
                # than the export stopping there (after its 200) with an encoding error.
                self.write(text.encode("utf-8", "replace"))
                await self.flush()  # sent before the next page is read
        except StreamClosedError:
            return  # the client went away; nothing left to send it
        if export_format == "json":
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


def _page_text(export_format: str, records: Sequence[RunRecord], first: bool) -> str:
    """A page of the export: CSV lines, or items of the JSON array being sent (runs without traces)."""
    if export_format == "csv":
        return csv_rows(records)
    if not records:
        return ""
    return ("\n" if first else ",\n") + ",\n".join(json_text(record.to_json()) for record in records)
