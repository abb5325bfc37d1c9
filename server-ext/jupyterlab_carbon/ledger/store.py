"""The run ledger: every measured cell execution, kept in SQLite by default or any SQLAlchemy database.

SQLAlchemy Core, not the ORM: a run record is written once and read in pages, so plain
statements are all the ledger needs, and the same code serves SQLite on a laptop and a
PostgreSQL database shared by a team.

Several processes may write one SQLite file at once (two Jupyter servers, headless runs), so
every connection uses WAL (readers never block the writer), ``synchronous=FULL`` (a committed
run survives a crash or power loss) and a busy timeout (a writer waits for another instead of
failing). Nothing here imports tornado or the Jupyter server: the headless runner uses it too.

The tables and their upgrades are in ``schema.py``; a ``RunQuery`` becomes SQL in
``filters.py``; counts and group totals come from per-bucket sums kept by ``totals.py`` in the
transaction of every write; ``annotations.py`` checks what users write.
"""

from __future__ import annotations

import math
import sqlite3
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, fields
from pathlib import Path
from types import TracebackType
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Engine,
    bindparam,
    create_engine,
    delete,
    event,
    func,
    insert,
    inspect,
    select,
    update,
)
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from ..private_files import PRIVATE_FILE_MODE, private_directory, private_file, tighten
from ..records import ChannelEnergy, RunRecord, default_experiment
from . import annotations as checks
from . import totals
from .filters import SQLITE_LOWER, Names, answerable_by_buckets, find_names, run_filters, uses_text, walkable
from .query import GROUP_KEYS, SORT_KEYS, UNSET, RunQuery, Unset
from .schema import (
    RUN_TEXT,
    RUNS,
    SCHEMA_INFO,
    _finite,
    add_impact_v2,
    annotate_v3,
    create_v1,
    index_visibility_v4,
    search_text,
    search_v5,
)
from .schema import (
    RUNNING as RUNNING,
)

MAX_LIMIT = 10000
# A search's total is counted up to this many runs where the bucket sums cannot answer it: at a
# million runs, counting 10,000 matches of a text search costs PostgreSQL ~300 ms (ILIKE over the
# ~125,000 texts holding them), 1,000 about 20 ms (benchmarks/README.md).
COUNT_CAP = 1000
# A text or tag search matching this many runs or more walks the page's index (see Ledger.page):
# the walk reads about (offset + limit) * runs / matches rows, collecting reads every match.
WALK_FROM = COUNT_CAP
# A search limited to some users (visible_users) whose other bucket filters (time range, names)
# leave at most this many runs reads them through the index on (user, started_at) and sorts the
# matches; above it, the page walks its sort order's index (schema.index_visibility_v4).
VISIBLE_SCAN_MAX = 10000
# A text search whose runs found by their names (notebook, experiment) are at most this many
# collects them and sorts them, rather than walk the sort order's index: a notebook's runs
# cluster in its days, and a walk reads every run between them.
COLLECT_MAX = 5000
SQLITE_BUSY_TIMEOUT_MS = 10000
SQLITE_CACHE_KIB = 65536  # per pooled connection

# An execution option read by the SQLite "begin" hook: writes take the write lock up front
# (BEGIN IMMEDIATE) so that the busy timeout decides how long they wait, where a deferred
# transaction that read first could fail at once with SQLITE_BUSY when it starts writing.
_IMMEDIATE = "carbon_begin_immediate"


@dataclass(frozen=True)
class RunPage:
    """A page of a search: the runs, and how many match (at least ``total`` when a lower bound)."""

    total: int
    total_is_lower_bound: bool
    runs: list[RunRecord]


class LedgerError(Exception):
    """The ledger cannot be opened: unreachable database, missing driver, unknown schema."""


Migration = Callable[[Connection], None]

# (version, step), in increasing version order (the steps are in schema.py). To change the
# schema, append (N + 1, step) there and here, and update the query tables in schema.py.
MIGRATIONS: list[tuple[int, Migration]] = [
    (1, create_v1),
    (2, add_impact_v2),
    (3, annotate_v3),
    (4, index_visibility_v4),
    (5, search_v5),
]
# Taken by every write transaction on PostgreSQL, so that writers take turns as on SQLite: the
# bucket totals are read-modify-write, and concurrent recomputations would lose runs.
PG_WRITE_LOCK = 0x6361726256  # "carbV"
# Run ids per statement where a change touches many runs (bounded lists of bound parameters).
_IDS_PER_STATEMENT = 500
# The record's fields that are columns, and the columns a list reads (the trace only for one run).
_RECORD_FIELDS = tuple(f.name for f in fields(RunRecord))
_RECORD_COLUMNS = tuple(RUNS.c[name] for name in _RECORD_FIELDS)
_LIST_COLUMNS = tuple(column for column in _RECORD_COLUMNS if column.name != "trace")
# The column each sort key orders by.
_SORT_COLUMNS = {
    "started_at": "started_at",
    "duration_s": "duration_s",
    "energy": "attributed_j",
    "co2e": "gco2e",
    "cost": "cost",
    "notebook_path": "notebook_path",
    "experiment": "experiment",
    "execution_count": "execution_count",
}


def default_ledger_path(data_dir: Path | None = None) -> Path:
    """Where the ledger lives without a URL: beside the user's other Jupyter data."""
    if data_dir is None:
        # Imported here so that using an explicit URL never needs jupyter_core.
        from jupyter_core.paths import jupyter_data_dir

        data_dir = Path(jupyter_data_dir())
    return data_dir / "carbon" / "ledger.sqlite"


# SQLite keeps a database in up to three files; the WAL and shared-memory files take the mode
# of the database file when SQLite creates them, so a 0600 database keeps them 0600 too.
SQLITE_SIDE_FILES = ("-wal", "-shm")


def _make_private(path: Path) -> None:
    """The default ledger's directory 0700 and its files 0600, created so or tightened.

    The ledger holds notebook paths and the first line of cells. Only the default location is
    tightened: a database the user placed elsewhere keeps the permissions they gave it.
    """
    private_directory(path.parent)
    private_file(path)
    for suffix in SQLITE_SIDE_FILES:
        tighten(path.with_name(path.name + suffix), PRIVATE_FILE_MODE)


class Ledger:
    """Stores run records and answers the sidebar's and the REST API's questions about them.

    Every method blocks on the database: the server calls them from a thread pool, never on
    the event loop. One ``Ledger`` may be shared by threads (the engine pools connections).
    """

    def __init__(self, url: str | None = None, data_dir: Path | None = None) -> None:
        """Open (creating or upgrading if needed) the ledger at ``url``.

        Without a URL the ledger is ``<data_dir>/carbon/ledger.sqlite``, ``data_dir`` being
        Jupyter's data directory unless given; with one, ``data_dir`` is not used.
        """
        if url is None:
            path = default_ledger_path(data_dir)
            _make_private(path)
            parsed = URL.create("sqlite", database=str(path))
        else:
            try:
                parsed = make_url(url)
            except SQLAlchemyError as exc:
                raise LedgerError(f"The ledger URL is not valid: {exc}") from exc
        self.url: str = parsed.render_as_string(hide_password=True)
        try:
            self._engine = _create_engine(parsed)
        except (SQLAlchemyError, ImportError) as exc:
            raise LedgerError(f"Cannot open the ledger at {self.url}: {exc}") from exc
        self._writer = self._engine.execution_options(**{_IMMEDIATE: True})
        try:
            self._upgrade()
        except LedgerError:
            self._engine.dispose()
            raise
        except SQLAlchemyError as exc:
            self._engine.dispose()
            raise LedgerError(f"Cannot open the ledger at {self.url}: {exc}") from exc

    def __enter__(self) -> Ledger:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close every pooled connection (SQLite then folds its WAL back into the file)."""
        self._engine.dispose()

    # -- schema ---------------------------------------------------------------------------

    def _upgrade(self) -> None:
        """Bring the schema to the newest version this code knows.

        Two processes may open a database at the same moment. On SQLite the write lock taken by
        BEGIN IMMEDIATE orders them; elsewhere the loser of a race to create or alter a table
        fails, so on a database error the stored version is read again: if the other process
        finished the job there is nothing left to do.
        """
        try:
            self._upgrade_once()
        except DBAPIError:
            with self._engine.connect() as conn:
                if _stored_version(conn) != _newest_version():
                    raise

    def _upgrade_once(self) -> None:
        newest = _newest_version()
        with self._writer.begin() as conn:
            stored = _stored_version(conn, lock=True)
            if stored > newest:
                raise LedgerError(
                    f"The ledger at {self.url} has schema version {stored}, newer than the "
                    f"{newest} this jupyterlab-carbon knows: upgrade jupyterlab-carbon to use it."
                )
            for version, step in MIGRATIONS:
                if version > stored:
                    step(conn)
                    _store_version(conn, version)

    # -- writing --------------------------------------------------------------------------

    def _write(self) -> _WriteTransaction:
        """A write transaction; on PostgreSQL it first waits for the other writers' turn."""
        return _WriteTransaction(self._writer)

    def add_run(self, record: RunRecord) -> None:
        """Store one run, committed before returning so that a killed process loses nothing.

        A run id already stored is left as it is: a record is final once written, and a
        retried write (after a timeout, from a second watcher) must not duplicate it.
        """
        self.write_batch([], [record])

    def write_batch(self, started: list[RunRecord], finished: list[RunRecord]) -> None:
        """Store executions that began (state ``running``) and final records, in one transaction.

        One commit for everything queued: the watcher groups what arrived while the previous
        commit was being made, and nothing is reported recorded before its commit returns. A
        record replaces the ``running`` row of the same run id (a final one, or a running one
        measured further); a run id already final is left as it is (a record is final once
        written). A handful of statements per group, not
        per record: a burst of short cells must cost the server little. The runs' search text
        and bucket totals are written in the same transaction.
        """
        if not started and not finished:
            return
        ids = [record.run_id for record in (*started, *finished)]
        with self._write() as conn:
            stored = dict(conn.execute(select(RUNS.c.run_id, RUNS.c.status).where(RUNS.c.run_id.in_(ids))).all())
            replaced = {run_id for run_id in ids if stored.get(run_id) == RUNNING}
            if replaced:
                conn.execute(delete(RUNS).where(RUNS.c.run_id.in_(replaced)))
            rows: dict[str, dict[str, Any]] = {}
            for record in (*started, *finished):  # a final record wins over its start
                if record.run_id not in stored or record.run_id in replaced:
                    rows[record.run_id] = _row(record)
            if rows:
                conn.execute(insert(RUNS), list(rows.values()))
                visible = [row for row in rows.values() if row["status"] != RUNNING]
                if visible:
                    conn.execute(
                        insert(RUN_TEXT),
                        [
                            {
                                "run_id": row["run_id"],
                                "text": search_text(row["code_preview"], row["tags"]),
                            }
                            for row in visible
                        ],
                    )
                    totals.add_runs(conn, visible)

    def running(self, host: str) -> list[RunRecord]:
        """Executions of ``host`` stored as running: in flight, or cut short by a crash."""
        stmt = select(*_LIST_COLUMNS).where(RUNS.c.status == RUNNING, RUNS.c.host == host)
        with self._engine.connect() as conn:
            return [_to_record(row) for row in conn.execute(stmt).mappings()]

    def close_unfinished(self, records: list[RunRecord], flag: str) -> int:
        """Mark running executions as ended by ``flag`` (e.g. ``server-crash``); how many were.

        Their end is unknown (whatever measured them is gone), which ``end-unknown`` says: the
        window is what the server last measured of it (see ``running_checkpoint_s``), empty if
        nothing; what was known at their start is kept.
        """
        closed: list[str] = []
        with self._write() as conn:
            for record in records:
                flags = sorted({*record.flags, "interrupted", flag, "end-unknown"})
                changed = conn.execute(
                    update(RUNS)
                    .where(RUNS.c.run_id == record.run_id, RUNS.c.status == RUNNING)
                    .values(status="interrupted", flags=flags)
                ).rowcount
                if changed:
                    closed.append(record.run_id)
            if closed:
                _reindex_text(conn, closed)
                totals.recompute_kernels(conn, _kernels_of(conn, closed))
        return len(closed)

    def annotate(
        self,
        run_ids: list[str],
        visible_users: tuple[str, ...] | None = None,
        *,
        experiment: str | None = None,
        add_tags: Iterable[str] = (),
        remove_tags: Iterable[str] = (),
        set_tags: Iterable[str] | None = None,
        note: str | Unset | None = UNSET,
        metrics: dict[str, float] | None = None,
    ) -> int:
        """Set the experiment, note or metrics of runs and add or remove tags; how many runs changed.

        Only the runs ``visible_users`` may see are touched (None: any run); ``note=None``
        clears a note, leaving it out keeps it; ``metrics`` replaces the runs' metrics;
        ``set_tags`` replaces their tags (in the same write, so concurrent changes never mix).
        """
        ids = checks.run_ids(run_ids)
        visible = checks.visible(visible_users)
        changes: dict[str, Any] = {}
        if experiment is not None:
            changes["experiment"] = checks.experiment_name(experiment)
        if note is not UNSET:
            changes["note"] = checks.note(note)
        if metrics is not None:
            changes["metrics"] = checks.metrics(metrics)
        if set_tags is not None:
            if add_tags or remove_tags:
                raise ValueError("Give set_tags, or add_tags and remove_tags, not both.")
            changes["tags"] = checks.run_tags((), checks.tag_list(set_tags), ())
        add, remove = checks.tag_list(add_tags, "add_tags"), checks.tag_list(remove_tags, "remove_tags")
        if not ids or (not changes and not add and not remove):
            return 0
        with self._write() as conn:
            rows = conn.execute(
                select(RUNS.c.run_id, RUNS.c.tags, RUNS.c.kernel_id).where(*_targets(ids, visible))
            ).all()
            if not rows:
                return 0
            targeted = [row.run_id for row in rows]
            if changes:
                conn.execute(update(RUNS).where(RUNS.c.run_id.in_(targeted)).values(**changes))
            if add or remove:
                updates = [{"target": row.run_id, "new_tags": checks.run_tags(row.tags, add, remove)} for row in rows]
                conn.execute(
                    update(RUNS).where(RUNS.c.run_id == bindparam("target")).values(tags=bindparam("new_tags")),
                    updates,
                )
            if add or remove or "tags" in changes:
                _reindex_text(conn, targeted)
            if "experiment" in changes:
                totals.recompute_kernels(conn, {row.kernel_id for row in rows})
        return len(targeted)

    def set_deleted(self, run_ids: list[str], deleted: bool, visible_users: tuple[str, ...] | None = None) -> int:
        """Move runs to the trash (``deleted``) or back out of it; how many moved."""
        ids = checks.run_ids(run_ids)
        visible = checks.visible(visible_users)
        if not isinstance(deleted, bool):
            raise ValueError(f"deleted must be true or false, not {deleted!r}.")
        if not ids:
            return 0
        in_trash = RUNS.c.deleted_at.is_not(None)
        with self._write() as conn:
            where = [*_targets(ids, visible), ~in_trash if deleted else in_trash]
            rows = conn.execute(select(RUNS.c.run_id, RUNS.c.kernel_id).where(*where)).all()
            if not rows:
                return 0
            moved = [row.run_id for row in rows]
            conn.execute(
                update(RUNS).where(RUNS.c.run_id.in_(moved)).values(deleted_at=time.time() if deleted else None)
            )
            totals.recompute_kernels(conn, {row.kernel_id for row in rows})
        return len(moved)

    def empty_trash(self, visible_users: tuple[str, ...] | None = None) -> int:
        """Delete for good the soft-deleted runs ``visible_users`` may see; how many."""
        visible = checks.visible(visible_users)
        query = RunQuery(deleted="only", visible_users=visible)
        with self._write() as conn:
            rows = conn.execute(
                select(RUNS.c.run_id, RUNS.c.kernel_id).where(*run_filters(query, _dialect(conn)))
            ).all()
            purged = [row.run_id for row in rows]
            for start in range(0, len(purged), _IDS_PER_STATEMENT):
                chunk = purged[start : start + _IDS_PER_STATEMENT]
                conn.execute(delete(RUN_TEXT).where(RUN_TEXT.c.run_id.in_(chunk)))
                conn.execute(delete(RUNS).where(RUNS.c.run_id.in_(chunk)))
            totals.recompute_kernels(conn, {row.kernel_id for row in rows})
        return len(purged)

    def rename_experiment(self, old: str, new: str, visible_users: tuple[str, ...] | None = None) -> int:
        """Move the runs of experiment ``old`` that ``visible_users`` may see to ``new``; how many."""
        if not isinstance(old, str) or not old:
            raise ValueError(f"The experiment to rename must be named, not {old!r}.")
        new = checks.experiment_name(new)
        visible = checks.visible(visible_users)
        query = RunQuery(experiment=old, deleted="include", visible_users=visible)
        with self._write() as conn:
            rows = conn.execute(
                select(RUNS.c.run_id, RUNS.c.kernel_id).where(*run_filters(query, _dialect(conn)))
            ).all()
            if not rows or old == new:
                return len(rows)
            moved = [row.run_id for row in rows]
            for start in range(0, len(moved), _IDS_PER_STATEMENT):
                chunk = moved[start : start + _IDS_PER_STATEMENT]
                conn.execute(update(RUNS).where(RUNS.c.run_id.in_(chunk)).values(experiment=new))
            totals.recompute_kernels(conn, {row.kernel_id for row in rows})
        return len(moved)

    # -- reading --------------------------------------------------------------------------

    def search(
        self, query: RunQuery, sort: str = "started_at", order: str = "desc", limit: int = 100, offset: int = 0
    ) -> tuple[int, list[RunRecord]]:
        """``page`` as (total, runs): the total may be a lower bound (``COUNT_CAP``, see ``page``)."""
        found = self.page(query, sort=sort, order=order, limit=limit, offset=offset)
        return found.total, found.runs

    def page(
        self, query: RunQuery, sort: str = "started_at", order: str = "desc", limit: int = 100, offset: int = 0
    ) -> RunPage:
        """How many runs match ``query``, and the page of them in ``sort`` order (without traces).

        Ties (and the order of runs with no value, which come last newest first and first
        oldest first) are broken by start time then run id, so pages never overlap.

        The total is exact where the bucket sums answer it (every filter but text, tags, flags,
        method, msg_id and code_hash) and when the page is short; otherwise the matching runs are
        counted up to ``COUNT_CAP`` and a total that reaches it is a lower bound (at least the
        cap, and at least ``offset`` plus the runs returned). A text or tag search
        matching ``WALK_FROM`` runs or more is paged by walking the sort order's index and
        testing each run's text, stopping after the page, instead of collecting and sorting
        every match.

        A search limited to ``visible_users`` whose other bucket filters leave at most
        ``VISIBLE_SCAN_MAX`` runs (one user's month) is answered from the index on (user, start
        time) instead, each of those runs testing its own text: counted and sorted in one
        statement (``_narrow_page``), not walked.
        """
        checks.query(query)
        _check_page(limit, offset)
        if sort not in SORT_KEYS:
            raise ValueError(f"sort must be one of {', '.join(SORT_KEYS)}, not {sort!r}.")
        if order not in ("asc", "desc"):
            raise ValueError(f"order must be asc or desc, not {order!r}.")
        with self._engine.connect() as conn:
            dialect = _dialect(conn)
            counted: tuple[int, bool] | None = None
            narrow = False
            if query.visible_users is not None:
                # Few runs visible in the range (a month of one user's): read them all through
                # the visibility index. Many (a user's whole year): walk the sort order's index.
                answerable = answerable_by_buckets(query)
                visible = totals.visible_runs(conn, query, exact=answerable)
                narrow = visible is not None and visible <= VISIBLE_SCAN_MAX
                if visible is not None and answerable:
                    counted = (visible, False)  # the query's own count
            by_text = uses_text(query, dialect)
            if narrow and counted is None:
                # Text, tags, flags...: one pass over those few runs both counts and pages them.
                runs, counted = self._narrow_page(conn, query, sort, order, limit, offset)
            else:
                per_row = walk_names = collect = False
                names: Names | None = None
                q_part = "any"
                if query.q:
                    names = find_names(conn, query.q)
                    named, own = totals.text_search_counts(conn, query, COUNT_CAP, names)
                    counted = totals.added(named, own, COUNT_CAP)
                    # Many runs found by their own text: the page walks, each run testing its
                    # text. Few: they are looked up once. Runs of the names, which cluster in
                    # a notebook's days: many, walk; few, collect them all and sort.
                    per_row = (own[0] >= WALK_FROM or own[1]) and walkable(query, dialect)
                    collect = not per_row and not named[1] and named[0] <= COLLECT_MAX
                    walk_names = not collect
                    # A part that matches nothing is left out of the page's statement.
                    if own == (0, False):
                        q_part = "names"
                    elif named == (0, False):
                        q_part = "own"
                    elif collect:
                        q_part = "either"
                elif by_text:  # SQLite: a tag its full-text index narrows
                    counted = totals.count(conn, query, COUNT_CAP)
                    per_row = (counted[0] >= WALK_FROM or counted[1]) and walkable(query, dialect)
                where = run_filters(
                    query,
                    dialect,
                    per_row=per_row,
                    visibility_index=narrow,
                    q_part=q_part,
                    walk_names=walk_names,
                    names=names,
                )
                shape = ("fenced" if dialect == "postgresql" else "keys") if collect else "plain"
                stmt = _page_select(where, sort, order, limit, offset, shape)
                runs = [_to_record(row) for row in conn.execute(stmt).mappings()]
            if len(runs) < limit and (runs or offset == 0):
                counted = (offset + len(runs), False)  # a short page ends the matches: its own count
            elif counted is None:
                counted = totals.count(conn, query, COUNT_CAP, narrow=narrow)
        total, lower_bound = counted
        if lower_bound and runs:
            total = max(total, offset + len(runs))  # paging past the cap counts at least what it saw
        return RunPage(total=total, total_is_lower_bound=lower_bound, runs=runs)

    def _narrow_page(
        self, conn: Connection, query: RunQuery, sort: str, order: str, limit: int, offset: int
    ) -> tuple[list[RunRecord], tuple[int, bool] | None]:
        """``page``'s runs and count for a search over few visible runs (``VISIBLE_SCAN_MAX``):
        one statement reads them through the visibility index, each testing its own text, and
        counts the matches (``count(*) OVER ()``) as it pages them. The count is capped as
        ``totals.count`` caps it; None when the page is past the end (nothing to count it on)."""
        dialect = _dialect(conn)
        where = run_filters(
            query, dialect, per_row=uses_text(query, dialect) and walkable(query, dialect), visibility_index=True
        )
        # The count reads every visible run of the range anyway. On PostgreSQL they are read in
        # a fenced subquery: left to itself, its planner may walk the time index in the page's
        # order through every user's runs instead (83,000 in a month of a million-run ledger:
        # 80 ms, where the 3,002 visible take ~10), depending on the sample its statistics drew.
        shape = "fenced" if dialect == "postgresql" else "plain"
        stmt = _page_select(where, sort, order, limit, offset, shape, counted=True)
        rows = conn.execute(stmt).mappings().all()
        if not rows:
            return [], None
        matched = int(rows[0]["matched"])
        counted = (COUNT_CAP, True) if matched > COUNT_CAP else (matched, False)
        return [_to_record({k: v for k, v in row.items() if k != "matched"}) for row in rows], counted

    def run(
        self, run_id: str, with_trace: bool = False, visible_users: tuple[str, ...] | None = None
    ) -> RunRecord | None:
        """The run with this id (its trace too if asked), or None (also when not visible)."""
        visible = checks.visible(visible_users)
        columns = _RECORD_COLUMNS if with_trace else _LIST_COLUMNS
        with self._engine.connect() as conn:
            row = conn.execute(select(*columns).where(*_targets([run_id], visible, running=True))).mappings().first()
        return None if row is None else _to_record(row)

    def compare(self, run_ids: list[str], visible_users: tuple[str, ...] | None = None) -> list[RunRecord]:
        """Runs with their traces, in the order given; ValueError naming any missing or not visible."""
        ids = checks.run_ids(run_ids, least=2, most=checks.COMPARE_MAX)
        visible = checks.visible(visible_users)
        with self._engine.connect() as conn:
            rows = conn.execute(select(*_RECORD_COLUMNS).where(*_targets(ids, visible))).mappings().all()
        found = {row["run_id"]: _to_record(row) for row in rows}
        missing = [run_id for run_id in ids if run_id not in found]
        if missing:
            raise ValueError(f"No such run (or not yours to see): {', '.join(missing)}.")
        return [found[run_id] for run_id in ids]

    def groups(self, query: RunQuery, by: str) -> dict[str, Any]:
        """The JSON of GET runs/groups: the matching runs summed per ``by`` key, newest group first,
        and over all of them."""
        checks.query(query)
        if by not in GROUP_KEYS:
            raise ValueError(f"by must be one of {', '.join(GROUP_KEYS)}, not {by!r}.")
        with self._engine.connect() as conn:
            per_key = totals.totals_by(conn, query, by)
        overall = totals.Totals()
        for group in per_key.values():
            overall.merge(group)
        ordered = sorted(per_key.items(), key=lambda item: item[1].last_started_at or 0.0, reverse=True)
        return {
            "groups": [
                {"key": totals.day_key(key) if by == "day" else str(key), **group.to_json()} for key, group in ordered
            ],
            "total": overall.to_json(),
        }

    def experiments(self, query: RunQuery) -> list[dict[str, Any]]:
        """The experiments of the matching runs, most recently run first, with their sums."""
        return [
            {
                "name": group["key"],
                "runs": group["runs"],
                "attributed_j": group["attributed_j"],
                "gco2e": group["gco2e"],
                "last_started_at": group["last_started_at"],
            }
            for group in self.groups(query, "experiment")["groups"]
        ]

    def runs(
        self,
        kernel_id: str | None = None,
        msg_id: str | None = None,
        notebook_path: str | None = None,
        code_hash: str | None = None,
        since: float | None = None,
        until: float | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> list[RunRecord]:
        """Runs matching every given filter, newest first (not in the trash, without traces).

        ``since``/``until`` bound ``started_at`` (epoch seconds) as ``since <= t < until``.
        """
        _check_page(limit, offset)
        stmt = (
            select(*_LIST_COLUMNS)
            .where(*_filters(kernel_id, msg_id, notebook_path, code_hash, since, until))
            .order_by(RUNS.c.started_at.desc(), RUNS.c.run_id.desc())
            .limit(limit)
            .offset(offset)
        )
        with self._engine.connect() as conn:
            return [_to_record(row) for row in conn.execute(stmt).mappings()]

    def code_hashes(self) -> list[str]:
        """Every distinct ``code_hash`` stored, trashed runs included (one scan of its index)."""
        stmt = select(RUNS.c.code_hash).where(RUNS.c.code_hash.is_not(None)).distinct()
        with self._engine.connect() as conn:
            return [row[0] for row in conn.execute(stmt)]

    def count(
        self,
        kernel_id: str | None = None,
        msg_id: str | None = None,
        notebook_path: str | None = None,
        code_hash: str | None = None,
        since: float | None = None,
        until: float | None = None,
    ) -> int:
        """How many runs ``runs`` would page through with the same filters."""
        stmt = (
            select(func.count())
            .select_from(RUNS)
            .where(*_filters(kernel_id, msg_id, notebook_path, code_hash, since, until))
        )
        with self._engine.connect() as conn:
            return int(conn.execute(stmt).scalar_one())

    def totals(
        self,
        notebook_path: str | None = None,
        kernel_id: str | None = None,
        since: float | None = None,
    ) -> dict[str, Any]:
        """Sums over the matching runs (not in the trash), computed by the database.

        Keys: ``runs``, ``attributed_j``, ``node_j``, ``idle_j``, ``active_j``, ``duration_s``,
        ``gco2e`` (of the runs stamped with an impact), all zero when nothing matches; and
        ``costs``, the summed cost per currency (costs in different currencies do not add up).

        A value that is not a finite number (an earlier version could store an infinite
        impact) is left out of its sum; a sum too large for a float is None, never infinite.
        """
        c = RUNS.c
        sums = {
            "attributed_j": _finite(c.attributed_j),
            "node_j": _finite(c.node_j),
            "idle_j": _finite(c.idle_j),
            "active_j": _finite(c.active_j),
            "duration_s": _finite(c.duration_s),
            "gco2e": _finite(c.gco2e),
        }
        filters = _filters(kernel_id, None, notebook_path, None, since, None)
        cost = _finite(c.cost)
        cost_stmt = select(c.currency, func.sum(cost)).where(*filters, cost.is_not(None)).group_by(c.currency)
        stmt = select(
            func.count().label("runs"),
            *(func.coalesce(func.sum(expr), 0.0).label(name) for name, expr in sums.items()),
        ).where(*filters)
        with self._engine.connect() as conn:
            row = conn.execute(stmt).mappings().one()
            costs = {str(cur or ""): _finite_or_none(total) for cur, total in conn.execute(cost_stmt)}
        result: dict[str, Any] = {"runs": int(row["runs"])}
        result.update({name: _finite_or_none(row[name]) for name in sums})
        result["costs"] = costs
        return result


class _WriteTransaction:
    """``engine.begin()`` for a write; on PostgreSQL it takes the ledger's write lock first."""

    def __init__(self, engine: Engine) -> None:
        self._begin = engine.begin()

    def __enter__(self) -> Connection:
        conn = self._begin.__enter__()
        if conn.dialect.name == "postgresql":
            conn.execute(select(func.pg_advisory_xact_lock(PG_WRITE_LOCK)))
        return conn

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._begin.__exit__(exc_type, exc, tb)


def _create_engine(url: URL) -> Engine:
    """An engine for ``url``; SQLite gets the pragmas and real transactions it needs."""
    if url.get_backend_name() != "sqlite":
        # pool_pre_ping: a long-lived server outlives restarts of a shared database.
        return create_engine(url, pool_pre_ping=True)
    # The server's thread pool uses pooled connections from any thread.
    engine = create_engine(url, connect_args={"check_same_thread": False})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Leave BEGIN to SQLAlchemy (the "begin" hook below): pysqlite's own implicit BEGIN
        # comes only before DML, so DDL in a migration would otherwise escape its transaction.
        dbapi_connection.isolation_level = None
        dbapi_connection.create_function(SQLITE_LOWER, 1, _lower, deterministic=True)
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
            _enable_wal(cursor)
            cursor.execute("PRAGMA synchronous = FULL")
            # SQLite's default page cache is 2 MiB: a ledger of a million runs is over a GiB, and
            # a page of runs or a search reads pages all over it.
            cursor.execute(f"PRAGMA cache_size = -{SQLITE_CACHE_KIB}")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        immediate = conn.get_execution_options().get(_IMMEDIATE, False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


def _lower(text: str | None) -> str | None:
    return None if text is None else text.lower()


def _enable_wal(cursor: Any) -> None:
    """Switch the file to WAL, waiting out another connection that is switching it too.

    WAL persists in the file, so this is a no-op but for the first opens of a new ledger. Those
    may race (two servers starting at once), and SQLite answers a journal-mode change that meets
    another connection's lock with "database is locked" at once, without its busy handler; so
    the change is retried here for as long as the busy timeout would have waited.
    """
    deadline = time.monotonic() + SQLITE_BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            cursor.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() >= deadline:
                raise
            time.sleep(0.01)


def _newest_version() -> int:
    return MIGRATIONS[-1][0]


def _stored_version(conn: Connection, lock: bool = False) -> int:
    """The schema version of the database, 0 when it has no ledger yet.

    ``lock`` holds the version row until the transaction ends (FOR UPDATE, where the database
    has it), so a second process upgrading a shared database waits and then sees the new one.
    """
    if not inspect(conn).has_table(SCHEMA_INFO.name):
        return 0
    stmt = select(SCHEMA_INFO.c.version).where(SCHEMA_INFO.c.id == 1)
    version = conn.execute(stmt.with_for_update() if lock else stmt).scalar_one_or_none()
    if version is None:
        raise LedgerError("The ledger's schema_info table holds no version.")
    return int(version)


def _store_version(conn: Connection, version: int) -> None:
    updated = conn.execute(update(SCHEMA_INFO).where(SCHEMA_INFO.c.id == 1).values(version=version))
    if updated.rowcount == 0:
        conn.execute(insert(SCHEMA_INFO).values(id=1, version=version))


def _check_page(limit: int, offset: int) -> None:
    """Reject a page request with a message fit to show the user who sent it."""
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_LIMIT:
        raise ValueError(f"limit must be a whole number from 1 to {MAX_LIMIT}, not {limit!r}.")
    if isinstance(offset, bool) or not isinstance(offset, int) or offset < 0:
        raise ValueError(f"offset must be a whole number, 0 or more, not {offset!r}.")


def _dialect(conn: Connection) -> str:
    return str(conn.dialect.name)


def _filters(
    kernel_id: str | None,
    msg_id: str | None,
    notebook_path: str | None,
    code_hash: str | None,
    since: float | None,
    until: float | None,
) -> list[ColumnElement[bool]]:
    """The WHERE clauses of ``runs``/``count``/``totals`` for the filters given (None: any)."""
    equal = {
        RUNS.c.kernel_id: kernel_id,
        RUNS.c.msg_id: msg_id,
        RUNS.c.notebook_path: notebook_path,
        RUNS.c.code_hash: code_hash,
    }
    # Executions still running are in flight (GET /carbon/executions), not runs yet.
    clauses = [RUNS.c.status != RUNNING, RUNS.c.deleted_at.is_(None)]
    clauses += [column == value for column, value in equal.items() if value is not None]
    if since is not None:
        clauses.append(RUNS.c.started_at >= since)
    if until is not None:
        clauses.append(RUNS.c.started_at < until)
    return clauses


def _targets(
    run_ids: list[str], visible_users: tuple[str, ...] | None, running: bool = False
) -> list[ColumnElement[bool]]:
    """The rows of these run ids that ``visible_users`` may see (not running ones unless asked)."""
    clauses: list[ColumnElement[bool]] = [RUNS.c.run_id.in_(run_ids)]
    if not running:
        clauses.append(RUNS.c.status != RUNNING)
    if visible_users is not None:
        clauses.append(func.coalesce(RUNS.c.user, "").in_(("", *visible_users)))
    return clauses


def _page_select(
    where: list[Any], sort: str, order: str, limit: int, offset: int, shape: str = "plain", counted: bool = False
) -> Any:
    """A page of the runs ``where`` selects, in ``sort`` order; ``counted``: with the number of
    all those runs (``matched``). ``shape`` "plain" leaves the plan to the database; the others
    read every matching run, for few of them:

    * "fenced": in a subquery of their own (OFFSET 0), then sorted and paged, which keeps
      PostgreSQL's planner from walking the sort order's index through runs that do not match;
    * "keys" (SQLite): their sort keys are sorted, then the page's runs read by id (sorting
      4,194 whole rows of a notebook took 24 ms at a million runs, their keys 6).
    """
    if shape == "fenced":
        rows = select(*_LIST_COLUMNS).where(*where).offset(0).subquery("matching")
        stmt = select(*rows.c).order_by(*_order_by(sort, order, rows.c))
    elif shape == "keys":
        ids = select(RUNS.c.run_id).where(*where).order_by(*_order_by(sort, order)).limit(limit).offset(offset)
        return select(*_LIST_COLUMNS).where(RUNS.c.run_id.in_(ids.scalar_subquery())).order_by(*_order_by(sort, order))
    else:
        stmt = select(*_LIST_COLUMNS).where(*where).order_by(*_order_by(sort, order))
    if counted:
        stmt = stmt.add_columns(func.count().over().label("matched"))
    return stmt.limit(limit).offset(offset)


def _order_by(sort: str, order: str, columns: Any = RUNS.c) -> list[Any]:
    """ORDER BY for a sort key: NULLs as the smallest values, then start time and run id
    (``columns``: the runs table's, or a subquery's holding the same names)."""
    column = columns[_SORT_COLUMNS[sort]]
    descending = order == "desc"
    keys: list[Any] = []
    if sort != "started_at":
        key = column.desc() if descending else column.asc()
        if column.nullable:
            key = key.nulls_last() if descending else key.nulls_first()
        keys.append(key)
    for tie in (columns.started_at, columns.run_id):
        keys.append(tie.desc() if descending else tie.asc())
    return keys


def _reindex_text(conn: Connection, run_ids: list[str]) -> None:
    """Rewrite the search text of these runs from their rows (after annotations changed them)."""
    for start in range(0, len(run_ids), _IDS_PER_STATEMENT):
        chunk = run_ids[start : start + _IDS_PER_STATEMENT]
        rows = conn.execute(
            select(RUNS.c.run_id, RUNS.c.code_preview, RUNS.c.tags).where(
                RUNS.c.run_id.in_(chunk), RUNS.c.status != RUNNING
            )
        ).all()
        conn.execute(delete(RUN_TEXT).where(RUN_TEXT.c.run_id.in_(chunk)))
        if rows:
            conn.execute(
                insert(RUN_TEXT),
                [
                    {
                        "run_id": row.run_id,
                        "text": search_text(row.code_preview, row.tags),
                    }
                    for row in rows
                ],
            )


def _kernels_of(conn: Connection, run_ids: list[str]) -> set[str]:
    kernels: set[str] = set()
    for start in range(0, len(run_ids), _IDS_PER_STATEMENT):
        chunk = run_ids[start : start + _IDS_PER_STATEMENT]
        kernels.update(conn.execute(select(RUNS.c.kernel_id).where(RUNS.c.run_id.in_(chunk))).scalars())
    return kernels


def _finite_or_none(value: Any) -> float | None:
    """A summed value as a float, or None where the sum is not a finite number."""
    if value is None:
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def _number_or_none(value: Any) -> float | None:
    return None if isinstance(value, bool) or not isinstance(value, int | float) else float(value)


def _json_finite(value: Any) -> bool:
    """Whether every number in ``value`` (a JSON-like tree) is finite."""
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, dict):
        return all(_json_finite(item) for item in value.values())
    if isinstance(value, list):
        return all(_json_finite(item) for item in value)
    return True


def _row(record: RunRecord) -> dict[str, Any]:
    """A record as a row: its stored fields, the channels as plain dicts,
    its default experiment if it has none, and the impact's figures in their own columns."""
    row = {name: _without_nul(getattr(record, name)) for name in _RECORD_FIELDS}
    row["channels"] = [channel.to_json() for channel in record.channels]
    row["experiment"] = record.experiment or default_experiment(
        record.notebook_path, record.kernel_name, record.kernel_id
    )
    row["duration_s"] = record.duration_s
    # An impact holding a number that is not finite is not valid JSON, which SQLite's JSON
    # functions (and so the upgrade's copy of old impacts) cannot read: none of it is copied.
    impact = record.impact if record.impact and _json_finite(record.impact) else {}
    row["gco2e"] = _number_or_none(impact.get("gco2e"))
    row["cost"] = _number_or_none(impact.get("cost"))
    currency = impact.get("currency")
    row["currency"] = currency if isinstance(currency, str) and row["cost"] is not None else None
    return row


def _without_nul(value: Any) -> Any:
    """A text with its NUL characters replaced (PostgreSQL refuses them in text; one odd
    character in a cell's first line must not lose the run)."""
    return value.replace("\x00", "\ufffd") if isinstance(value, str) else value


def _to_record(row: Any) -> RunRecord:
    """A stored row back into the record it was written from."""
    fields = dict(row)  # every query selects record fields only
    fields["channels"] = [ChannelEnergy(**channel) for channel in row["channels"]]
    return RunRecord(**fields)
