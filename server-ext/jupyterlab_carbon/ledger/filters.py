"""A RunQuery as SQL: the WHERE clauses over runs, and over run_groups where the buckets can answer it."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Integer,
    and_,
    bindparam,
    exists,
    func,
    literal,
    or_,
    select,
    text,
    union,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.sql import operators
from sqlalchemy.sql.expression import UnaryExpression

from .query import RunQuery
from .schema import RUN_GROUPS, RUN_TEXT, RUN_TEXT_FTS, RUNNING, RUNS, SECONDS_PER_DAY, visible_user_sql

# The trigram indexes answer substrings of at least three characters; shorter ones scan.
TRIGRAM = 3
# SQLite: Python's str.lower as an SQL function (registered on each connection by the store).
SQLITE_LOWER = "carbon_lower"


def uses_text(query: RunQuery, dialect: str) -> bool:
    """Whether ``query`` tests the runs' search text: ``q``, or on SQLite a tag its full-text
    index can narrow (PostgreSQL answers tags from their own index, ``schema.search_v5``)."""
    return bool(query.q) or (dialect == "sqlite" and any(len(tag) >= TRIGRAM for tag in query.tags))


def run_filters(
    query: RunQuery,
    dialect: str,
    per_row: bool = False,
    visibility_index: bool = False,
    q_part: str = "any",
    walk_names: bool = False,
    names: Names | None = None,
) -> list[ColumnElement[bool]]:
    """Every filter of ``query`` over the runs table (running executions never match).

    ``q`` matches a run whose notebook or experiment holds it (``names_hold``) or whose own text
    (code line, tags) does; ``q_part`` "names" or "own" keeps one of the two, "own" only the runs
    the names do not match (so that the two parts add up); "either" is "any" as the union of
    the two parts' matches (``per_row`` does not apply). The own text is looked up in the
    text index (the set of matching runs, which the database builds whole) unless ``per_row``:
    then each run the plan reaches tests its own text, which lets a page walk an index in its
    sort order and stop after ``limit`` matches. ``walk_names``: the names test is kept off the
    indexes on SQLite, whose planner would otherwise collect and sort every run of the names.

    ``visibility_index``: SQLite may answer ``visible_users`` from the index on (user, start)
    (``visible_user``); otherwise it is kept off it (see there). PostgreSQL chooses by itself.
    """
    c = RUNS.c
    clauses: list[ColumnElement[bool]] = [c.status != RUNNING]
    equal = {
        c.notebook_path: query.notebook_path,
        c.experiment: query.experiment,
        c.kernel_id: query.kernel_id,
        c.user: query.user,
        c.status: query.status,
        c.source: query.source,
        c.msg_id: query.msg_id,
        c.code_hash: query.code_hash,
    }
    clauses += [column == value for column, value in equal.items() if value is not None]
    if query.since is not None:
        clauses.append(c.started_at >= query.since)
    if query.until is not None:
        clauses.append(c.started_at < query.until)
    if query.q:
        if per_row:
            own = _text_of_run(query.q, fenced=dialect == "postgresql")
        else:
            own = c.run_id.in_(_text_matches(query.q, dialect))
        if q_part == "any":
            clauses.append(or_(names_hold(query.q, dialect, c, names, unindexed=walk_names), own))
        elif q_part == "either":
            # Each part through its own indexes, for a page collecting few matches of both:
            # in an OR, the lookup of the own text keeps PostgreSQL off the name indexes.
            of_names = select(c.run_id).where(names_hold(query.q, dialect, c, names))
            clauses.append(c.run_id.in_(union(of_names, _text_matches(query.q, dialect))))
        elif q_part == "names":
            clauses.append(names_hold(query.q, dialect, c, names, unindexed=walk_names))
        elif q_part == "own":
            clauses += [own, names_miss(query.q, dialect, names)]
        else:
            raise ValueError(f"q_part must be any, either, names or own, not {q_part!r}")
    for tag in query.tags:
        if dialect == "sqlite" and len(tag) >= TRIGRAM and not per_row:
            # Tags are in the search text: its full-text index narrows the runs to check to those
            # holding the tag's text, instead of reading every run's tags.
            clauses.append(c.run_id.in_(_text_matches(tag, dialect)))
        clauses.append(json_array_contains(c.tags, tag, dialect))
    clauses += [json_array_contains(c.flags, value, dialect) for value in query.flags]
    if query.method is not None:
        modeled = json_array_contains(c.methods, "modeled", dialect)
        clauses.append(modeled if query.method == "modeled" else ~modeled)
    clauses += _deleted_and_visible(query, c.deleted_at.is_not(None), visible_user(dialect, visibility_index))
    return clauses


@dataclass(frozen=True)
class Names:
    """The notebooks and experiments whose names hold a search's ``q``."""

    notebooks: tuple[str, ...]
    experiments: tuple[str, ...]


# More names than this are left for each statement to find (bounded lists of bound parameters).
NAMES_INLINE_MAX = 1000


def find_names(conn: Connection, q: str) -> Names | None:
    """The names holding ``q``, found once for the several statements of a search (each would
    otherwise read the buckets again: ~7 ms at a million runs on PostgreSQL). None: too many."""
    dialect = conn.dialect.name
    found = [
        conn.execute(name_matches(q, column, dialect).limit(NAMES_INLINE_MAX + 1)).scalars().all()
        for column in ("notebook_path", "experiment")
    ]
    if any(len(values) > NAMES_INLINE_MAX for values in found):
        return None
    return Names(notebooks=tuple(found[0]), experiments=tuple(found[1]))


def name_matches(q: str, column: str, dialect: str) -> Any:
    """The distinct names in ``column`` (notebook_path or experiment) holding ``q``, from the
    bucket totals: a ledger's names are few where its runs are many.

    Case-insensitive as the text index is: ILIKE on PostgreSQL; on SQLite LIKE, which folds ASCII
    letters only, or for other text Python's ``str.lower`` (``SQLITE_LOWER``, as FTS5 folds).
    """
    name = RUN_GROUPS.c[column]
    if dialect != "sqlite":
        test: ColumnElement[bool] = name.ilike(_pattern(q), escape="\\")
    elif q.isascii():
        test = name.like(_pattern(q), escape="\\")  # SQLite's LIKE folds ASCII (its ILIKE adds lower() calls)
    else:
        test = func.instr(getattr(func, SQLITE_LOWER)(name), q.lower()) > 0
    return select(name).where(test).distinct()


def _names_in(q: str, dialect: str, names: Names | None) -> tuple[Any, Any]:
    """What a notebook and an experiment must be among: the names found, or their lookups."""
    if names is not None:
        return names.notebooks, names.experiments
    return name_matches(q, "notebook_path", dialect), name_matches(q, "experiment", dialect)


def names_hold(
    q: str, dialect: str, columns: Any, names: Names | None = None, unindexed: bool = False
) -> ColumnElement[bool]:
    """True where the notebook or the experiment of a run (``RUNS.c``) or of a bucket
    (``RUN_GROUPS.c``) holds ``q``; ``unindexed``: SQLite may not answer it from the indexes."""
    notebook, experiment = columns.notebook_path, columns.experiment
    if unindexed and dialect == "sqlite":
        notebook, experiment = _unindexed(notebook), _unindexed(experiment)
    notebooks, experiments = _names_in(q, dialect, names)
    return or_(notebook.in_(notebooks), experiment.in_(experiments))


def names_miss(q: str, dialect: str, names: Names | None = None) -> ColumnElement[bool]:
    """``not names_hold`` for runs, a run without a notebook included (NULL IN ... is NULL)."""
    c = RUNS.c
    notebooks, experiments = _names_in(q, dialect, names)
    return and_(or_(c.notebook_path.is_(None), c.notebook_path.not_in(notebooks)), c.experiment.not_in(experiments))


def _unindexed(column: Any) -> ColumnElement[Any]:
    """``+column`` (SQLite): the same value, which no index matches."""
    return UnaryExpression(column, operator=operators.custom_op("+"), type_=column.type)


def visible_user(dialect: str, indexed: bool) -> ColumnElement[Any]:
    """The runs' ``coalesce(user, '')`` as the visibility filter tests it.

    Schema version 4 indexes it with the start time. SQLite's planner, having no statistics,
    takes that index for any page of one user, and sorts the user's every run (47,590 of a
    million: 316 ms) where walking the time index newest first stops after ~2,000 runs (~10 ms).
    So on SQLite the expression is written ``+coalesce(...)`` (the same value, which no index
    matches) unless ``indexed``: the caller has counted few enough runs for the index to serve.
    """
    user: ColumnElement[Any] = visible_user_sql(RUNS.c)
    return _unindexed(user) if dialect == "sqlite" and not indexed else user


def _deleted_and_visible(query: RunQuery, deleted: ColumnElement[bool], user: Any) -> list[ColumnElement[bool]]:
    """The trash and visibility filters. A run of no known user ("" or NULL) is everyone's.

    Visibility is one IN over the user ("" included), not an OR of two conditions: the database
    then walks the runs in the page's order and skips others' runs, where an OR sends it
    through the user index and sorts all of that user's runs for every page.
    """
    clauses: list[ColumnElement[bool]] = []
    if query.deleted == "exclude":
        clauses.append(~deleted)
    elif query.deleted == "only":
        clauses.append(deleted)
    if query.visible_users is not None:
        clauses.append(user.in_(("", *query.visible_users)))
    return clauses


def _text_matches(q: str, dialect: str) -> Any:
    """The run ids whose search text holds ``q``, case-insensitively.

    SQLite: FTS5 trigram phrase (a substring of three characters or more), else a scan with
    LIKE (case-insensitive for ASCII only). Elsewhere ILIKE, which PostgreSQL answers from the
    pg_trgm index when it exists.
    """
    if dialect == "sqlite" and len(q) >= TRIGRAM:
        rowids = (
            text(f"SELECT rowid FROM {RUN_TEXT_FTS} WHERE {RUN_TEXT_FTS} MATCH :phrase")
            .bindparams(_phrase(q))
            .columns(rowid=Integer)
        )
        return select(RUN_TEXT.c.run_id).where(RUN_TEXT.c.id.in_(rowids))
    return select(RUN_TEXT.c.run_id).where(RUN_TEXT.c.text.ilike(_pattern(q), escape="\\"))


def _phrase(q: str) -> Any:
    """``q`` as an FTS5 phrase, a bound parameter of its own (a search may hold several)."""
    return bindparam("phrase", '"' + q.replace('"', '""') + '"', unique=True)


def _pattern(q: str) -> str:
    """``q`` as a LIKE pattern matching any text holding it."""
    return "%" + q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _text_of_run(q: str, fenced: bool = False) -> ColumnElement[bool]:
    """True where the run's own search text holds ``q``: ``_text_matches`` for one run.

    LIKE on SQLite, which folds the case of ASCII letters only where the full-text index folds
    every letter: ``walkable`` keeps other text off this test there. (Asking the full-text index
    about one row, ``MATCH ... AND rowid = ?``, reads the phrase's whole doclists every time: a
    walk over 20,000 runs took 34 s.)

    ``fenced`` (PostgreSQL): an OFFSET 0 keeps the planner from turning the test into a join
    or a hashed subplan, which it does by hashing every trigram match (107,340 runs of "fraud"
    at a million runs: ~120 ms a statement), where the few runs of ``visible_runs`` (~3,000 in
    one user's month) take ~12 ms tested one by one, and a page's walk stops after ~1,200.
    """
    t = RUN_TEXT.c
    test = t.text.ilike(_pattern(q), escape="\\")
    own = select(literal(1)).select_from(RUN_TEXT).where(t.run_id == RUNS.c.run_id, test)
    return exists(own.offset(0) if fenced else own)


def walkable(query: RunQuery, dialect: str) -> bool:
    """Whether ``run_filters(per_row=True)`` finds exactly the runs the text index finds."""
    return dialect != "sqlite" or not query.q or query.q.isascii()


def text_driver(query: RunQuery, dialect: str) -> str | None:
    """On SQLite, the text (``q``, else a tag) whose full-text matches can drive a capped count."""
    if dialect != "sqlite":
        return None
    if query.q and len(query.q) >= TRIGRAM:
        return query.q
    return next((tag for tag in query.tags if len(tag) >= TRIGRAM), None)


def fts_matches(q: str) -> Any:
    """SQLite: the run_text ids whose text holds ``q`` (three characters or more), as a FROM item."""
    return (
        text(f"SELECT rowid AS id FROM {RUN_TEXT_FTS} WHERE {RUN_TEXT_FTS} MATCH :phrase")
        .bindparams(_phrase(q))
        .columns(id=Integer)
        .subquery("fts")
    )


def json_array_contains(column: Any, value: str, dialect: str) -> ColumnElement[bool]:
    """True where the JSON array in ``column`` holds the string ``value``."""
    if dialect == "sqlite":
        element = func.json_each(column).table_valued("value")
        return exists(select(literal(1)).select_from(element).where(element.c.value == value))
    contains: ColumnElement[bool] = column.cast(JSONB).contains([value])
    return contains


@dataclass(frozen=True)
class DaySplit:
    """A time range cut into whole UTC days (from the buckets) and the parts of days at its ends."""

    first_day: int | None  # the first whole day, None: unbounded
    end_day: int | None  # the day after the last whole day, None: unbounded
    edges: list[tuple[float | None, float | None]]  # (since, until) ranges read from the runs


def split_days(since: float | None, until: float | None) -> DaySplit:
    first = None if since is None else math.ceil(since / SECONDS_PER_DAY)
    end = None if until is None else math.floor(until / SECONDS_PER_DAY)
    if first is not None and end is not None and first >= end:
        return DaySplit(first_day=0, end_day=0, edges=[(since, until)])  # no whole day
    edges: list[tuple[float | None, float | None]] = []
    if first is not None and since is not None and since < first * SECONDS_PER_DAY:
        edges.append((since, first * SECONDS_PER_DAY))
    if end is not None and until is not None and until > end * SECONDS_PER_DAY:
        edges.append((end * SECONDS_PER_DAY, until))
    return DaySplit(first_day=first, end_day=end, edges=edges)


def answerable_by_buckets(query: RunQuery) -> bool:
    """Whether run_groups holds every dimension ``query`` filters on (text, tags, flags and
    methods are not; an empty name is not told apart from a missing one there)."""
    if query.q or query.tags or query.flags or query.method is not None:
        return False
    if query.msg_id is not None or query.code_hash is not None:
        return False
    names = (query.notebook_path, query.experiment, query.kernel_id, query.user, query.status, query.source)
    return all(name is None or name != "" for name in names) and query.status != RUNNING


def bucket_filters(query: RunQuery, split: DaySplit) -> list[ColumnElement[bool]]:
    """The filters of an answerable ``query`` over run_groups, limited to the whole days of ``split``."""
    g = RUN_GROUPS.c
    equal = {
        g.notebook_path: query.notebook_path,
        g.experiment: query.experiment,
        g.kernel_id: query.kernel_id,
        g.user: query.user,
        g.status: query.status,
        g.source: query.source,
    }
    clauses: list[ColumnElement[bool]] = [column == value for column, value in equal.items() if value is not None]
    if split.first_day is not None:
        clauses.append(g.day >= split.first_day)
    if split.end_day is not None:
        clauses.append(g.day < split.end_day)
    clauses += _deleted_and_visible(query, g.deleted == 1, g.user)
    return [and_(*clauses)] if clauses else []
