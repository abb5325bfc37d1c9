"""The ledger's tables at each schema version, and the steps from one version to the next.

Each step brings a database at the previous version to its own; all pending steps of one open
run in one transaction (``Ledger._upgrade``). A step declares the tables as they were at its
version, whatever later versions add, so a fresh database walks the same steps as an old one
and ends in the same shape. The module-level tables are the newest shape, used by the queries.
"""

from __future__ import annotations

import logging
import math
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    Connection,
    Double,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    and_,
    case,
    func,
    literal,
    literal_column,
    select,
    update,
)
from sqlalchemy.exc import DBAPIError
from sqlalchemy.schema import CreateColumn, CreateIndex

log = logging.getLogger(__name__)

# The status of an execution stored when it began and not finished yet.
RUNNING = "running"
SECONDS_PER_DAY = 86400
# The days a bucket can hold (a 32-bit integer); a run outside them counts on the nearest.
DAY_MIN, DAY_MAX = -(2**31), 2**31 - 1
# Figures summed into bucket totals lie within this bound (see ``summable``).
SUMMABLE_MAX = 1e300
# The full-text index of run_text on SQLite (FTS5 trigram: substrings of three characters or more).
RUN_TEXT_FTS = "run_text_fts"
# PostgreSQL's index of the runs' tags (schema version 5).
TAGS_INDEX = "ix_runs_tags"
# PostgreSQL's GIN indexes here are written through, not queued: with GIN's default pending list
# every write of a run queues its entries (and a bucket's new row version its name's), and each
# search reads the whole queue until a VACUUM; after the benchmark's 600 written runs a search for
# a notebook's name went from ~30 to ~50 ms (the planner also gave up the names' index for a scan).
# Writing through did not slow the recorder (20 runs a commit: p50 2.1 ms, against 10.1 ms queued).
GIN_OPTIONS = "fastupdate = off"


def _define_v1(metadata: MetaData) -> None:
    """Declare the tables of schema version 1 on ``metadata``."""
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


def _v3_run_columns() -> list[Column[Any]]:
    """Version 3: the annotations, ownership, soft delete and power trace of each run.

    ``duration_s``, ``gco2e``, ``cost`` and ``currency`` copy what the record already holds
    (its window, its impact) into plain columns, so that sorting and summing them uses indexes
    and plain arithmetic instead of reading JSON from every row.
    """
    return [
        Column("experiment", String, nullable=False, server_default=""),
        Column("tags", JSON, nullable=False, server_default="[]"),
        Column("note", Text),
        Column("user", String),
        Column("source", String, nullable=False, server_default="server"),
        Column("metrics", JSON, nullable=False, server_default="{}"),
        Column("deleted_at", Double),
        Column("trace", JSON(none_as_null=True)),
        Column("duration_s", Double, nullable=False, server_default="0"),
        Column("gco2e", Double),
        Column("cost", Double),
        Column("currency", String),
    ]


# Version 3's sort keys that may be NULL, indexed with started_at as the tie-break. NULLs sort as
# the smallest values on every database (SQLite's own order), so an index serves both directions.
_NULLABLE_SORT_COLUMNS = ("gco2e", "cost", "notebook_path", "execution_count")
_SORT_COLUMNS = ("duration_s", "attributed_j", "experiment")


def _define_v3_tables(metadata: MetaData) -> None:
    """Version 3's new tables: searchable text and per-bucket totals of the runs."""
    Table(
        "run_text",
        metadata,
        # What ``q`` searches in each visible run (not running): its code line and tags (before
        # version 5 also its notebook and experiment, now found among the buckets' names).
        # Its own integer key, stable where the runs' rowid is not (SQLite may renumber it on
        # VACUUM), is what SQLite's full-text index refers to.
        Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
        Column("run_id", String, nullable=False, unique=True),
        Column("text", Text, nullable=False),
    )
    Table(
        "run_groups",
        metadata,
        # The runs summed per bucket, kept in the transaction of every write, so that totals and
        # groups over a million runs read a few thousand rows. A bucket is one value of each
        # dimension below; NULLs are stored as "" so that the bucket is a unique key.
        Column("day", Integer, nullable=False),  # UTC day of started_at: floor(epoch s / 86400)
        Column("experiment", String, nullable=False),
        Column("notebook_path", String, nullable=False),
        Column("user", String, nullable=False),
        Column("kernel_id", String, nullable=False),
        Column("source", String, nullable=False),
        Column("status", String, nullable=False),
        Column("deleted", Integer, nullable=False),  # 1 when soft-deleted
        Column("currency", String, nullable=False),
        Column("runs", Integer, nullable=False),
        Column("duration_s", Double, nullable=False),
        Column("attributed_j", Double, nullable=False),
        Column("active_j", Double, nullable=False),
        Column("idle_j", Double, nullable=False),
        Column("gco2e", Double, nullable=False),
        Column("cost", Double, nullable=False),
        Column("costed", Integer, nullable=False),  # runs with a cost, to tell 0 from none
        Column("first_started_at", Double, nullable=False),
        Column("last_started_at", Double, nullable=False),
        Index(
            "ux_run_groups_bucket",
            "day",
            "kernel_id",
            "experiment",
            "notebook_path",
            "user",
            "source",
            "status",
            "deleted",
            "currency",
            unique=True,
        ),
    )


def _define_v3_runs(metadata: MetaData) -> Table:
    """Version 1's tables in ``metadata``, with the runs table as version 3 left it (and 4 keeps it)."""
    _define_v1(metadata)
    runs = metadata.tables["runs"]
    runs.append_column(_impact_column())
    for column in _v3_run_columns():
        runs.append_column(column)
    return runs


# The tables as the queries see them: the schema at the newest version.
_METADATA = MetaData()
RUNS = _define_v3_runs(_METADATA)
SCHEMA_INFO = _METADATA.tables["schema_info"]
_define_v3_tables(_METADATA)
RUN_TEXT = _METADATA.tables["run_text"]
RUN_GROUPS = _METADATA.tables["run_groups"]
BUCKET_COLUMNS = (
    "day",
    "kernel_id",
    "experiment",
    "notebook_path",
    "user",
    "source",
    "status",
    "deleted",
    "currency",
)
SUM_COLUMNS = ("runs", "duration_s", "attributed_j", "active_j", "idle_j", "gco2e", "cost", "costed")


def create_v1(conn: Connection) -> None:
    """Version 1: the initial schema."""
    metadata = MetaData()
    _define_v1(metadata)
    metadata.create_all(conn)


def add_impact_v2(conn: Connection) -> None:
    """Version 2: add the ``impact`` column (NULL for runs recorded before it existed)."""
    column = _impact_column()
    column_type = column.type.compile(dialect=conn.dialect)
    conn.exec_driver_sql(f"ALTER TABLE runs ADD COLUMN impact {column_type}")


def annotate_v3(conn: Connection) -> None:
    """Version 3: experiments, tags, notes, metrics, owners, sources, soft deletes, power traces.

    Old runs get their default experiment (their notebook, else their kernel) and source
    "server"; their impact's gCO2e and cost are copied into columns; the search text and the
    bucket totals are built from them, all in SQL (a ledger may hold millions of runs).
    """
    metadata = MetaData()
    _define_v1(metadata)
    runs = metadata.tables["runs"]
    runs.append_column(_impact_column())
    for column in _v3_run_columns():
        runs.append_column(column)
        conn.exec_driver_sql(f"ALTER TABLE runs ADD COLUMN {CreateColumn(column).compile(dialect=conn.dialect)}")
    c = runs.c
    readable = readable_impact(conn.dialect.name, c.impact)
    conn.execute(
        update(runs).values(
            experiment=func.coalesce(
                func.nullif(c.notebook_path, ""), literal("kernel ") + func.coalesce(c.kernel_name, c.kernel_id)
            ),
            source="server",
            duration_s=c.ended_at - c.started_at,
            gco2e=case((readable, c.impact["gco2e"].as_float())),
            cost=case((readable, c.impact["cost"].as_float())),
            currency=case((readable, c.impact["currency"].as_string())),
        )
    )
    # A currency says what a cost is in: none without a cost (so buckets do not split on it).
    conn.execute(update(runs).where(c.cost.is_(None)).values(currency=None))
    for index in _v3_indexes(runs, conn.dialect.name):
        conn.execute(CreateIndex(index))
    _define_v3_tables(metadata)
    metadata.tables["run_text"].create(conn)
    metadata.tables["run_groups"].create(conn)
    create_text_index(conn)
    conn.execute(
        metadata.tables["run_text"]
        .insert()
        .from_select(["run_id", "text"], select(c.run_id, search_text_sql(c)).where(c.status != RUNNING))
    )
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql(f"INSERT INTO {RUN_TEXT_FTS}({RUN_TEXT_FTS}) VALUES ('rebuild')")
    totals = bucket_totals_select(runs, conn.dialect.name)
    conn.execute(metadata.tables["run_groups"].insert().from_select(list(totals.selected_columns.keys()), totals))


def _v3_indexes(runs: Table, dialect: str) -> list[Index]:
    """Indexes for version 3's filters and sort keys, each ending in started_at (the tie-break)."""
    c = runs.c
    indexes = [
        Index("ix_runs_experiment_started", c.experiment, c.started_at),
        Index("ix_runs_user_started", c.user, c.started_at),
        # Few runs are in the trash: a partial index finds them without growing with the ledger.
        Index(
            "ix_runs_deleted_at",
            c.deleted_at,
            sqlite_where=c.deleted_at.is_not(None),
            postgresql_where=c.deleted_at.is_not(None),
        ),
    ]
    for name in _SORT_COLUMNS:
        if name != "experiment":
            indexes.append(Index(f"ix_runs_{name}_started", c[name], c.started_at))
    for name in _NULLABLE_SORT_COLUMNS:
        # PostgreSQL sorts NULLs as the largest values unless told otherwise; SQLite as the smallest.
        key = c[name].asc().nulls_first() if dialect == "postgresql" else c[name]
        indexes.append(Index(f"ix_runs_{name}_started", key, c.started_at))
    return indexes


def visible_user_sql(c: Any) -> Any:
    """A run's user as the visibility filter tests it (``coalesce(user, '')``, a run of no known
    user being everyone's), the expression version 4 indexes.

    The '' is a literal, not a bound parameter: SQLite uses an expression index only for the same
    expression, and ``coalesce(user, ?)`` is not ``coalesce(user, '')`` to it.
    """
    return func.coalesce(c.user, literal_column("''"))


def _visibility_index(runs: Table) -> Index:
    return Index("ix_runs_visible_started", visible_user_sql(runs.c), runs.c.started_at)


def index_visibility_v4(conn: Connection) -> None:
    """Version 4: an index on (coalesce(user, ''), started_at), the visibility filter and time range.

    A team ledger's search by one user over a time range (``q`` + user + a month) otherwise reads
    either every run in the range or every text match (a million-run ledger: 0.3-0.8 s). On
    PostgreSQL the table is analyzed too: the planner's statistics of an expression come with
    its index, and without them it estimates the filter at a flat 1 %.
    """
    conn.execute(CreateIndex(_visibility_index(_define_v3_runs(MetaData()))))
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql("ANALYZE runs")


def search_v5(conn: Connection) -> None:
    """Version 5: the search text holds a run's code line and tags only; on PostgreSQL the tags
    get an index of their own, and the buckets' names trigram indexes.

    Notebooks and experiments are few (a million-run ledger: 200 notebooks), and ``q`` now finds
    theirs among the names the bucket totals hold (``filters.name_matches``). In the search text
    they made a notebook's name, whose three-letter pieces ("exp", "per"...) recur in every
    path, the slowest search of all: 0.4 s at a million runs on PostgreSQL.

    The tag index answers the tag filter's own expression (``tags::jsonb @> '["tag"]'``): a tag
    of 3 % of a million runs took ~35 ms to count through the text index and as much to page,
    a few milliseconds through its own. SQLite keeps finding tags through its full-text index.
    """
    dialect = conn.dialect.name
    metadata = MetaData()
    runs = _define_v3_runs(metadata).c
    _define_v3_tables(metadata)
    run_text = metadata.tables["run_text"]
    if dialect == "sqlite":
        for trigger in ("run_text_ai", "run_text_ad", "run_text_au"):
            conn.exec_driver_sql(f"DROP TRIGGER IF EXISTS {trigger}")
        conn.exec_driver_sql(f"DROP TABLE IF EXISTS {RUN_TEXT_FTS}")
        tags = (
            select(func.group_concat(literal_column("value"), literal("\n")))
            .select_from(func.json_each(runs.tags))
            .scalar_subquery()
        )
        readable = func.json_valid(runs.tags) == 1
    else:
        element = func.json_array_elements_text(runs.tags).table_valued("value")
        tags = select(func.string_agg(element.c.value, literal("\n"))).select_from(element).scalar_subquery()
        readable = literal(True)
    # The table is made again rather than updated, and its indexes built once after: an update
    # of every row leaves PostgreSQL's trigram index pointing at each row's old version until a
    # VACUUM (a search for a notebook's name then rechecked 4,184 dead rows: +40 ms), and has
    # SQLite's triggers update its full-text index row by row.
    run_text.drop(conn)
    run_text.create(conn)
    lines = func.coalesce(runs.code_preview, "") + func.coalesce(literal("\n") + case((readable, tags)), "")
    conn.execute(
        run_text.insert().from_select(["run_id", "text"], select(runs.run_id, lines).where(runs.status != RUNNING))
    )
    indexed = create_text_index(conn)
    if dialect == "sqlite":
        conn.exec_driver_sql(f"INSERT INTO {RUN_TEXT_FTS}({RUN_TEXT_FTS}) VALUES ('rebuild')")
    else:
        if indexed:
            # The names a search looks up among the buckets (8,000 at a million runs: two scans
            # with ILIKE took ~8 ms of each text search).
            for column in ("notebook_path", "experiment"):
                conn.exec_driver_sql(
                    f"CREATE INDEX ix_run_groups_{column}_trgm ON run_groups USING gin ({column} gin_trgm_ops) "
                    f"WITH ({GIN_OPTIONS})"
                )
        conn.exec_driver_sql(
            f"CREATE INDEX {TAGS_INDEX} ON runs USING gin ((tags::jsonb) jsonb_path_ops) WITH ({GIN_OPTIONS})"
        )
        conn.exec_driver_sql("ANALYZE runs")
        conn.exec_driver_sql("ANALYZE run_text")
        conn.exec_driver_sql("ANALYZE run_groups")


def create_text_index(conn: Connection) -> bool:
    """The substring index over run_text: FTS5 trigrams on SQLite, pg_trgm GIN on PostgreSQL.

    Elsewhere (or where the extension cannot be created) ``q`` scans run_text instead: correct,
    only slower on a large ledger.
    """
    dialect = conn.dialect.name
    if dialect == "sqlite":
        conn.exec_driver_sql(
            f"CREATE VIRTUAL TABLE {RUN_TEXT_FTS} USING fts5(text, content='run_text', content_rowid='id', "
            "tokenize='trigram')"
        )
        # Keep the index in step with run_text, whichever statement changes it.
        conn.exec_driver_sql(
            f"CREATE TRIGGER run_text_ai AFTER INSERT ON run_text BEGIN "
            f"INSERT INTO {RUN_TEXT_FTS}(rowid, text) VALUES (new.id, new.text); END"
        )
        conn.exec_driver_sql(
            f"CREATE TRIGGER run_text_ad AFTER DELETE ON run_text BEGIN "
            f"INSERT INTO {RUN_TEXT_FTS}({RUN_TEXT_FTS}, rowid, text) VALUES ('delete', old.id, old.text); END"
        )
        conn.exec_driver_sql(
            f"CREATE TRIGGER run_text_au AFTER UPDATE ON run_text BEGIN "
            f"INSERT INTO {RUN_TEXT_FTS}({RUN_TEXT_FTS}, rowid, text) VALUES ('delete', old.id, old.text); "
            f"INSERT INTO {RUN_TEXT_FTS}(rowid, text) VALUES (new.id, new.text); END"
        )
    elif dialect == "postgresql":
        # A savepoint: without the extension (not installed, or no right to create it) the
        # upgrade goes on without the index rather than failing.
        try:
            with conn.begin_nested():
                conn.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        except DBAPIError as exc:
            log.warning(
                "jupyterlab-carbon: the ledger's search by text will scan every run: PostgreSQL's pg_trgm "
                "extension could not be created (%s). Install it (Debian: postgresql-contrib) or have a "
                "superuser run CREATE EXTENSION pg_trgm in this database, then CREATE INDEX ix_run_text_trgm "
                f"ON run_text USING gin (text gin_trgm_ops) WITH ({GIN_OPTIONS}).",
                exc.orig,
            )
            return False
        conn.exec_driver_sql(
            f"CREATE INDEX ix_run_text_trgm ON run_text USING gin (text gin_trgm_ops) WITH ({GIN_OPTIONS})"
        )
    return True


def readable_impact(dialect: str, impact: Any) -> Any:
    """True where the row's impact can be read by the database's JSON functions.

    SQLite stores the JSON text as given, and an earlier version wrote ``Infinity`` into it,
    which SQLite's JSON functions reject as malformed (failing the whole query). Other
    databases refuse such JSON when it is written, so only NULL needs excluding there.
    """
    if dialect == "sqlite":
        return and_(impact.is_not(None), func.json_valid(impact) == 1)
    return impact.is_not(None)


def search_text(code_preview: str | None, tags: list[str]) -> str:
    """What ``q`` is matched against in a run's own text: one field a line (so no match spans two)."""
    return "\n".join([code_preview or "", *tags])


def search_text_sql(c: Any) -> Any:
    """``search_text`` of a run with no tags, in SQL (the upgrade fills it for old runs)."""
    return func.coalesce(c.code_preview, "")


def day_number(started_at: float) -> int:
    """The UTC day of an epoch time: floor(t / 86400), held within the range a bucket stores."""
    if not started_at >= DAY_MIN * SECONDS_PER_DAY:  # NaN too
        return DAY_MIN
    if started_at >= DAY_MAX * SECONDS_PER_DAY:
        return DAY_MAX
    return math.floor(started_at / SECONDS_PER_DAY)


def day_sql(started_at: Any, dialect: str) -> Any:
    """``day_number`` in SQL."""
    days = started_at / float(SECONDS_PER_DAY)
    if dialect == "postgresql":
        floor = func.floor(days).cast(Integer)
    else:
        # CAST truncates toward zero: one less below zero where there was a fraction.
        truncated = days.cast(Integer)
        floor = truncated - case((days < truncated, 1), else_=0)
    return case(
        (started_at >= DAY_MAX * SECONDS_PER_DAY, DAY_MAX),
        (started_at >= DAY_MIN * SECONDS_PER_DAY, floor),
        else_=DAY_MIN,
    )


def bucket_totals_select(runs: Table, dialect: str, *where: Any) -> Any:
    """The run_groups rows of the (finished) runs matching ``where``, summed per bucket."""
    c = runs.c
    finite = {name: summable(c[name]) for name in ("duration_s", "attributed_j", "active_j", "idle_j", "gco2e", "cost")}
    buckets = {
        "day": day_sql(c.started_at, dialect),
        "kernel_id": c.kernel_id,
        "experiment": c.experiment,
        "notebook_path": func.coalesce(c.notebook_path, ""),
        "user": func.coalesce(c.user, ""),
        "source": c.source,
        "status": c.status,
        "deleted": case((c.deleted_at.is_(None), 0), else_=1),
        "currency": func.coalesce(c.currency, ""),
    }
    sums = {
        "runs": func.count(),
        **{name: func.coalesce(func.sum(expr), 0.0) for name, expr in finite.items()},
        "costed": func.count(finite["cost"]),
        "first_started_at": func.min(c.started_at),
        "last_started_at": func.max(c.started_at),
    }
    columns = {**buckets, **sums}
    return (
        select(*(expr.label(name) for name, expr in columns.items()))
        .where(c.status != RUNNING, *where)
        .group_by(*buckets.values())
    )


def _finite(expr: Any) -> Any:
    """``expr`` where it is a finite number, else NULL (which SUM skips).

    Infinity lies outside the range and NaN fails both comparisons (PostgreSQL orders NaN
    above every number; SQLite stores NaN as NULL).
    """
    largest = 1.7976931348623157e308
    return case((and_(expr >= -largest, expr <= largest), expr))


def summable(expr: Any) -> Any:
    """``expr`` where it is within +-SUMMABLE_MAX, else NULL: the bucket sums' terms.

    PostgreSQL fails a statement whose float sum overflows; no measured figure comes near the
    bound, and a sum of millions of terms below it stays finite.
    """
    return case((and_(expr >= -SUMMABLE_MAX, expr <= SUMMABLE_MAX), expr))


def summable_or_zero(value: float | None) -> float:
    """``summable`` in Python, 0 for a value left out."""
    return value if value is not None and -SUMMABLE_MAX <= value <= SUMMABLE_MAX else 0.0
