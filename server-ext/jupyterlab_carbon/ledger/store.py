"""The run ledger: every measured cell execution, kept in SQLite by default or any SQLAlchemy database.

SQLAlchemy Core, not the ORM: a run record is written once and read in pages, so plain
statements are all the ledger needs, and the same code serves SQLite on a laptop and a
PostgreSQL database shared by a team.

Several processes may write one SQLite file at once (two Jupyter servers, headless runs), so
every connection uses WAL (readers never block the writer), ``synchronous=FULL`` (a committed
run survives a crash or power loss) and a busy timeout (a writer waits for another instead of
failing). Nothing here imports tornado or the Jupyter server: the headless runner uses it too.
"""

from __future__ import annotations

import math
import sqlite3
import sys
import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from types import TracebackType
from typing import Any

from sqlalchemy import (
    JSON,
    Column,
    ColumnElement,
    Connection,
    Double,
    Engine,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    and_,
    case,
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
from ..records import ChannelEnergy, RunRecord

MAX_LIMIT = 10000
# The status of an execution stored when it began and not finished yet.
RUNNING = "running"
SQLITE_BUSY_TIMEOUT_MS = 10000

# An execution option read by the SQLite "begin" hook: writes take the write lock up front
# (BEGIN IMMEDIATE) so that the busy timeout decides how long they wait, where a deferred
# transaction that read first could fail at once with SQLITE_BUSY when it starts writing.
_IMMEDIATE = "carbon_begin_immediate"


class LedgerError(Exception):
    """The ledger cannot be opened: unreachable database, missing driver, unknown schema."""


def _define_v1(metadata: MetaData) -> None:
    """Declare the tables of schema version 1 on ``metadata``.

    The version 1 migration creates exactly these tables, whatever later versions add, so a
    fresh database walks the same steps as an old one and ends in the same shape.
    """
    Table(
        "schema_info",
        metadata,
        # One row (id 1): the schema version of this database.
        Column("id", Integer, primary_key=True, autoincrement=False),
        Column("version", Integer, nullable=False),
    )
    Table(
        "runs",
        metadata,
        Column("run_id", String, primary_key=True),
        Column("kernel_id", String, nullable=False),
        Column("msg_id", String, nullable=False),
        Column("started_at", Double, nullable=False),
        Column("ended_at", Double, nullable=False),
        Column("status", String, nullable=False),
        Column("node_j", Double, nullable=False),
        Column("attributed_j", Double, nullable=False),
        Column("idle_j", Double, nullable=False),
        Column("active_j", Double, nullable=False),
        Column("channels", JSON, nullable=False),
        Column("methods", JSON, nullable=False),
        Column("flags", JSON, nullable=False),
        Column("host", String, nullable=False),
        Column("session_id", String),
        Column("notebook_path", String),
        Column("execution_count", Integer),
        Column("code_hash", String),
        Column("code_preview", Text),
        Column("kernel_name", String),
        Column("extra", JSON, nullable=False),
        Column("version", Integer, nullable=False),
        Index("ix_runs_kernel_id", "kernel_id"),
        Index("ix_runs_msg_id", "msg_id"),
        Index("ix_runs_notebook_path", "notebook_path"),
        Index("ix_runs_started_at", "started_at"),
        Index("ix_runs_code_hash", "code_hash"),
    )


def _impact_column() -> Column[Any]:
    """Version 2: each run's emissions, cost and equivalents under the intensity then in force."""
    return Column("impact", JSON(none_as_null=True))


# The tables as the queries see them: the schema at the newest version.
_METADATA = MetaData()
_define_v1(_METADATA)
SCHEMA_INFO = _METADATA.tables["schema_info"]
RUNS = _METADATA.tables["runs"]
RUNS.append_column(_impact_column())


def _create_v1(conn: Connection) -> None:
    """Version 1: the initial schema."""
    metadata = MetaData()
    _define_v1(metadata)
    metadata.create_all(conn)


Migration = Callable[[Connection], None]

# (version, step), in increasing version order. A step brings a database at the previous
# version to its own; all pending steps of one open run in one transaction. To change the
# schema, append (N + 1, step) and update the query tables above.
def _add_impact_v2(conn: Connection) -> None:
    """Version 2: add the ``impact`` column (NULL for runs recorded before it existed)."""
    column = _impact_column()
    column_type = column.type.compile(dialect=conn.dialect)
    conn.exec_driver_sql(f"ALTER TABLE runs ADD COLUMN impact {column_type}")


MIGRATIONS: list[tuple[int, Migration]] = [(1, _create_v1), (2, _add_impact_v2)]


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
        final record replaces the ``running`` row of the same run id; a run id already final is
        left as it is (a record is final once written). A handful of statements per group, not
        per record: a burst of short cells must cost the server little.
        """
        if not started and not finished:
            return
        ids = [record.run_id for record in (*started, *finished)]
        with self._writer.begin() as conn:
            stored = dict(conn.execute(select(RUNS.c.run_id, RUNS.c.status).where(RUNS.c.run_id.in_(ids))).all())
            replaced = [r.run_id for r in finished if stored.get(r.run_id) == RUNNING]
            if replaced:
                conn.execute(delete(RUNS).where(RUNS.c.run_id.in_(replaced)))
            rows: dict[str, dict[str, Any]] = {}
            for record in started:
                if record.run_id not in stored:
                    rows[record.run_id] = _row(record)
            for record in finished:
                if record.run_id not in stored or record.run_id in replaced:
                    rows[record.run_id] = _row(record)  # a final record wins over its start
            if rows:
                conn.execute(insert(RUNS), list(rows.values()))

    def running(self, host: str) -> list[RunRecord]:
        """Executions of ``host`` stored as running: in flight, or cut short by a crash."""
        stmt = select(RUNS).where(RUNS.c.status == RUNNING, RUNS.c.host == host)
        with self._engine.connect() as conn:
            return [_to_record(row) for row in conn.execute(stmt).mappings()]

    def close_unfinished(self, records: list[RunRecord], flag: str) -> int:
        """Mark running executions as ended by ``flag`` (e.g. ``server-crash``); how many were.

        Their end is unknown (whatever measured them is gone), so the window stays empty and
        says so with ``end-unknown``; what was known at their start is kept.
        """
        closed = 0
        with self._writer.begin() as conn:
            for record in records:
                flags = sorted({*record.flags, "interrupted", flag, "end-unknown"})
                closed += conn.execute(
                    update(RUNS)
                    .where(RUNS.c.run_id == record.run_id, RUNS.c.status == RUNNING)
                    .values(status="interrupted", flags=flags, ended_at=record.started_at)
                ).rowcount
        return closed

    # -- reading --------------------------------------------------------------------------

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
        """Runs matching every given filter, newest first.

        ``since``/``until`` bound ``started_at`` (epoch seconds) as ``since <= t < until``.
        """
        _check_page(limit, offset)
        stmt = (
            select(RUNS)
            .where(*_filters(kernel_id, msg_id, notebook_path, code_hash, since, until))
            .order_by(RUNS.c.started_at.desc(), RUNS.c.run_id.desc())
            .limit(limit)
            .offset(offset)
        )
        with self._engine.connect() as conn:
            return [_to_record(row) for row in conn.execute(stmt).mappings()]

    def run(self, run_id: str) -> RunRecord | None:
        """The run with this id, or None."""
        with self._engine.connect() as conn:
            row = conn.execute(select(RUNS).where(RUNS.c.run_id == run_id)).mappings().first()
        return None if row is None else _to_record(row)

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
        """Sums over the matching runs, computed by the database rather than paged through.

        Keys: ``runs``, ``attributed_j``, ``node_j``, ``idle_j``, ``active_j``, ``duration_s``,
        ``gco2e`` (of the runs stamped with an impact), all zero when nothing matches; and
        ``costs``, the summed cost per currency (costs in different currencies do not add up).

        A value that is not a finite number (an earlier version could store an infinite
        impact) is left out of its sum; a sum too large for a float is None, never infinite.
        """
        impact = self._readable_impact()
        sums = {
            "attributed_j": _finite(RUNS.c.attributed_j),
            "node_j": _finite(RUNS.c.node_j),
            "idle_j": _finite(RUNS.c.idle_j),
            "active_j": _finite(RUNS.c.active_j),
            "duration_s": _finite(RUNS.c.ended_at - RUNS.c.started_at),
            "gco2e": _finite(case((impact, RUNS.c.impact["gco2e"].as_float()))),
        }
        filters = _filters(kernel_id, None, notebook_path, None, since, None)
        currency = case((impact, RUNS.c.impact["currency"].as_string()))
        cost = _finite(case((impact, RUNS.c.impact["cost"].as_float())))
        cost_stmt = select(currency, func.sum(cost)).where(*filters, cost.is_not(None)).group_by(currency)
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

    def _readable_impact(self) -> ColumnElement[bool]:
        """True where the row's impact can be read by the database's JSON functions.

        SQLite stores the JSON text as given, and an earlier version wrote ``Infinity`` into it,
        which SQLite's JSON functions reject as malformed (failing the whole query). Other
        databases refuse such JSON when it is written, so only NULL needs excluding there.
        """
        if self._engine.dialect.name == "sqlite":
            return and_(RUNS.c.impact.is_not(None), func.json_valid(RUNS.c.impact) == 1)
        return RUNS.c.impact.is_not(None)


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
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
            _enable_wal(cursor)
            cursor.execute("PRAGMA synchronous = FULL")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        immediate = conn.get_execution_options().get(_IMMEDIATE, False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


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


def _filters(
    kernel_id: str | None,
    msg_id: str | None,
    notebook_path: str | None,
    code_hash: str | None,
    since: float | None,
    until: float | None,
) -> list[ColumnElement[bool]]:
    """The WHERE clauses for the filters that were given (None means "any")."""
    equal = {
        RUNS.c.kernel_id: kernel_id,
        RUNS.c.msg_id: msg_id,
        RUNS.c.notebook_path: notebook_path,
        RUNS.c.code_hash: code_hash,
    }
    # Executions still running are in flight (GET /carbon/executions), not runs yet.
    clauses = [RUNS.c.status != RUNNING]
    clauses += [column == value for column, value in equal.items() if value is not None]
    if since is not None:
        clauses.append(RUNS.c.started_at >= since)
    if until is not None:
        clauses.append(RUNS.c.started_at < until)
    return clauses


def _finite(expr: ColumnElement[Any]) -> ColumnElement[Any]:
    """``expr`` where it is a finite number, else NULL (which SUM skips).

    Infinity lies outside the range and NaN fails both comparisons (PostgreSQL orders NaN
    above every number; SQLite stores NaN as NULL).
    """
    return case((and_(expr >= -sys.float_info.max, expr <= sys.float_info.max), expr))


def _finite_or_none(value: Any) -> float | None:
    """A summed value as a float, or None where the sum is not a finite number."""
    if value is None:
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def _row(record: RunRecord) -> dict[str, Any]:
    """A record as a row: its stored fields, the channels as plain dicts (cheaper than a deep asdict)."""
    row = {column.name: getattr(record, column.name) for column in RUNS.columns}
    row["channels"] = [asdict(channel) for channel in record.channels]
    for name, value in row.items():
        # PostgreSQL's text columns refuse NUL, which a cell's first line may hold, and would fail
        # the whole batch: every database stores U+FFFD in its place, so they answer alike.
        if type(value) is str and "\x00" in value:
            row[name] = value.replace("\x00", "\ufffd")
    return row


def _to_record(row: Any) -> RunRecord:
    """A stored row back into the record it was written from."""
    fields = dict(row)
    fields["channels"] = [ChannelEnergy(**channel) for channel in row["channels"]]
    return RunRecord(**fields)
