"""The run ledger's resources: search, one run, annotations, soft deletes, comparisons, groups, experiments.

Each handler checks its input (``ledger_input``), asks the ledger in a worker thread within the
runs this server may show (``visible_users``), and after a change tells the open event sockets
which runs changed, so every sidebar refetches them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar, cast

import tornado.web

from ..ledger import GROUP_KEYS, MAX_LIMIT, SORT_KEYS, UNSET
from ..records import RunRecord
from . import ledger_input as check
from .base import CarbonHandler, json_text
from .events import EventHub

if TYPE_CHECKING:
    from ..ledger import RunPage

T = TypeVar("T")
ORDERS = ("desc", "asc")


class LedgerHandler(CarbonHandler):
    """What the ledger endpoints share: the store's refusals as 400s, change notices."""

    async def ask(self, function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Call the ledger off the event loop; a ValueError it raises (a bad argument) is a 400."""
        try:
            return await self.in_thread(function, *args, **kwargs)
        except ValueError as err:
            raise tornado.web.HTTPError(400, str(err)) from None

    def runs_changed(self, run_ids: list[str]) -> None:
        cast(EventHub, self.state["hub"]).push_runs_changed(run_ids)


def _not_found(run_id: str) -> tornado.web.HTTPError:
    return tornado.web.HTTPError(
        404, f"No run with id {run_id[:64]!r}; run ids are 32 lowercase hex digits, as GET runs lists them"
    )


def _page_json(page: RunPage) -> str:
    runs = [run.to_json() for run in page.runs]
    return json_text({"total": page.total, "total_is_lower_bound": page.total_is_lower_bound, "runs": runs})


class RunsHandler(LedgerHandler):
    """GET runs: a page of the runs matching the filters, sorted, without their power traces."""

    @tornado.web.authenticated
    async def get(self) -> None:
        query = check.run_query(self)
        sort = self.choice_argument("sort", SORT_KEYS, "started_at")
        order = self.choice_argument("order", ORDERS, "desc")
        limit = self.integer_argument("limit", 100, 1, MAX_LIMIT)
        offset = self.integer_argument("offset", 0, 0, check.MAX_OFFSET)
        page = await self.ask(self.ledger.page, query, sort=sort, order=order, limit=limit, offset=offset)
        # Up to 10,000 runs: their JSON is made in a thread, so the loop keeps serving meanwhile.
        self.finish(await self.in_thread(_page_json, page))


class RunHandler(LedgerHandler):
    """GET runs/{id} (with its power trace) and PATCH runs/{id} (its experiment, tags, note, metrics)."""

    async def _visible_run(self, run_id: str, with_trace: bool) -> RunRecord:
        # Any path segment reaches here, so a malformed id gets this JSON 404 rather than Jupyter's page.
        if not check.RUN_ID.fullmatch(run_id):
            raise _not_found(run_id)
        record = await self.ask(self.ledger.run, run_id, with_trace=with_trace, visible_users=self.visible_users)
        if record is None:
            raise _not_found(run_id)
        return record

    @tornado.web.authenticated
    async def get(self, run_id: str) -> None:
        record = await self._visible_run(run_id, with_trace=True)
        self.write_json(record.to_json(include_trace=True))

    @tornado.web.authenticated
    async def patch(self, run_id: str) -> None:
        body = check.body_object(self, ("experiment", "tags", "note", "metrics"), ())
        if not body:
            raise check.bad("The body changes nothing: give 'experiment', 'tags', 'note' or 'metrics'")
        changes: dict[str, Any] = {}
        if "experiment" in body:
            changes["experiment"] = check.experiment(body["experiment"])
        new_tags = check.tags(body["tags"], "tags") if "tags" in body else None
        if "note" in body:
            changes["note"] = check.note(body["note"])
        if "metrics" in body:
            changes["metrics"] = check.metrics(body["metrics"])
        await self._visible_run(run_id, with_trace=False)  # a 404 for a run not found or not visible
        if new_tags is not None:  # the run's tags become exactly these
            changes["set_tags"] = new_tags
        await self.ask(self.ledger.annotate, [run_id], self.visible_users, **changes)
        self.runs_changed([run_id])
        updated = await self._visible_run(run_id, with_trace=False)
        self.write_json(updated.to_json())


class AnnotateHandler(LedgerHandler):
    """POST runs/annotate: one experiment, tag changes or note for many runs at once."""

    @tornado.web.authenticated
    async def post(self) -> None:
        body = check.body_object(self, ("run_ids", "experiment", "add_tags", "remove_tags", "note"), ("run_ids",))
        ids = check.run_ids(body["run_ids"])
        changes: dict[str, Any] = {}
        if "experiment" in body:
            changes["experiment"] = check.experiment(body["experiment"])
        for field in ("add_tags", "remove_tags"):
            if field in body:
                changes[field] = check.tags(body[field], field)
        changes["note"] = check.note(body["note"]) if "note" in body else UNSET
        if len(changes) == 1 and changes["note"] is UNSET:
            raise check.bad("The body changes nothing: give 'experiment', 'add_tags', 'remove_tags' or 'note'")
        updated = await self.ask(self.ledger.annotate, ids, self.visible_users, **changes)
        if updated:
            self.runs_changed(ids)
        self.write_json({"updated": updated})


class DeleteHandler(LedgerHandler):
    """POST runs/delete: move runs to the trash (a soft delete, undone by runs/restore)."""

    deleted = True
    answer = "deleted"

    @tornado.web.authenticated
    async def post(self) -> None:
        ids = check.run_ids(check.body_object(self, ("run_ids",), ("run_ids",))["run_ids"])
        changed = await self.ask(self.ledger.set_deleted, ids, self.deleted, self.visible_users)
        if changed:
            self.runs_changed(ids)
        self.write_json({self.answer: changed})


class RestoreHandler(DeleteHandler):
    """POST runs/restore: take runs back out of the trash."""

    deleted = False
    answer = "restored"


class EmptyTrashHandler(LedgerHandler):
    """POST trash/empty: delete for good the runs in the trash that this server shows."""

    @tornado.web.authenticated
    async def post(self) -> None:
        if self.json_body(check.BODY_LIMIT, empty={}) != {}:
            raise check.bad("This endpoint takes no body (or an empty JSON object)")
        purged = await self.ask(self.ledger.empty_trash, self.visible_users)
        if purged:
            self.runs_changed([])
        self.write_json({"purged": purged})


class CompareHandler(LedgerHandler):
    """POST runs/compare: 2 to 50 runs with their power traces, in the order asked."""

    @tornado.web.authenticated
    async def post(self) -> None:
        body = check.body_object(self, ("run_ids",), ("run_ids",))
        ids = check.run_ids(body["run_ids"], bounds=check.COMPARE_RUNS)
        try:
            runs = await self.in_thread(self.ledger.compare, ids, self.visible_users)
        except ValueError as err:  # the ids are well formed: some are not runs this server shows
            raise tornado.web.HTTPError(404, str(err)) from None
        self.write_json({"runs": [run.to_json(include_trace=True) for run in runs]})


class GroupsHandler(LedgerHandler):
    """GET runs/groups: subtotals per experiment, notebook, day, user or kernel, and the total."""

    @tornado.web.authenticated
    async def get(self) -> None:
        by = self.choice_argument("by", GROUP_KEYS, None)
        if by is None:
            raise check.bad(f"'by' is required: one of {', '.join(GROUP_KEYS)}")
        query = check.run_query(self)
        self.write_json(await self.ask(self.ledger.groups, query, by))


class ExperimentsHandler(LedgerHandler):
    """GET experiments: every experiment among the matching runs, with its runs, energy and emissions."""

    @tornado.web.authenticated
    async def get(self) -> None:
        query = check.run_query(self)
        self.write_json({"experiments": await self.ask(self.ledger.experiments, query)})


class RenameExperimentHandler(LedgerHandler):
    """POST experiments/rename: every run of one experiment (that this server shows) moves to another."""

    @tornado.web.authenticated
    async def post(self) -> None:
        body = check.body_object(self, ("from", "to"), ("from", "to"))
        old = check.experiment(body["from"], "from")
        new = check.experiment(body["to"], "to")
        updated = await self.ask(self.ledger.rename_experiment, old, new, self.visible_users)
        if updated:
            self.runs_changed([])
        self.write_json({"updated": updated})
