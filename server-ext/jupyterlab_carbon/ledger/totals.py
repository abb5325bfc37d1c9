"""Run totals: keeping the per-bucket sums of run_groups, and answering counts and groups from them.

A bucket is one (UTC day, kernel, experiment, notebook, user, source, status, deleted, currency).
Writes that add finished runs add them to their buckets (an upsert); writes that move runs
between buckets (annotations, deletes, purges) recompute the buckets of the kernels they touch
from the runs. Reads sum the buckets of the whole days asked for and read only the runs of the
partial days at the ends of a time range; a query on what buckets do not hold (text, tags,
flags, method) sums the matching runs instead.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import ColumnElement, Connection, case, delete, func, insert, literal, select
from sqlalchemy.dialects import postgresql, sqlite

from .filters import (
    Names,
    answerable_by_buckets,
    bucket_filters,
    find_names,
    fts_matches,
    names_hold,
    names_miss,
    run_filters,
    split_days,
    text_driver,
    walkable,
)
from .query import RunQuery
from .schema import (
    BUCKET_COLUMNS,
    RUN_GROUPS,
    RUN_TEXT,
    RUNNING,
    RUNS,
    SECONDS_PER_DAY,
    bucket_totals_select,
    day_number,
    day_sql,
    summable,
    summable_or_zero,
)

# Kernels whose buckets are recomputed per statement (bounded lists of bound parameters).
KERNELS_PER_STATEMENT = 500


@dataclass
class Totals:
    """Sums over some runs. Costs are per currency: amounts in different currencies do not add."""

    runs: int = 0
    duration_s: float = 0.0
    attributed_j: float = 0.0
    active_j: float = 0.0
    idle_j: float = 0.0
    gco2e: float = 0.0
    costs: dict[str, float] = field(default_factory=dict)
    first_started_at: float | None = None
    last_started_at: float | None = None

    def add(self, row: Any) -> None:
        """Add one aggregate row (runs, sums, costed, first and last start, currency)."""
        self.runs += int(row.runs)
        self.duration_s += float(row.duration_s)
        self.attributed_j += float(row.attributed_j)
        self.active_j += float(row.active_j)
        self.idle_j += float(row.idle_j)
        self.gco2e += float(row.gco2e)
        if int(row.costed):
            self.costs[row.currency] = self.costs.get(row.currency, 0.0) + float(row.cost)
        self._see(float(row.first_started_at), float(row.last_started_at))

    def merge(self, other: Totals) -> None:
        """Add another group's sums to these."""
        self.runs += other.runs
        self.duration_s += other.duration_s
        self.attributed_j += other.attributed_j
        self.active_j += other.active_j
        self.idle_j += other.idle_j
        self.gco2e += other.gco2e
        for currency, cost in other.costs.items():
            self.costs[currency] = self.costs.get(currency, 0.0) + cost
        for started in (other.first_started_at, other.last_started_at):
            if started is not None:
                self._see(started, started)

    def _see(self, first: float, last: float) -> None:
        self.first_started_at = first if self.first_started_at is None else min(self.first_started_at, first)
        self.last_started_at = last if self.last_started_at is None else max(self.last_started_at, last)

    def to_json(self) -> dict[str, Any]:
        """The JSON of a group (without its key). ``cost`` and ``currency`` are those of the one
        currency the runs were costed in; with none or several, both are null (``costs`` has each)."""
        single = len(self.costs) == 1
        currency, cost = next(iter(self.costs.items())) if single else (None, None)
        return {
            "runs": self.runs,
            "duration_s": _finite_or_none(self.duration_s),
            "attributed_j": _finite_or_none(self.attributed_j),
            "active_j": _finite_or_none(self.active_j),
            "idle_j": _finite_or_none(self.idle_j),
            "gco2e": _finite_or_none(self.gco2e),
            "cost": _finite_or_none(cost),
            "currency": currency or None,
            "costs": {cur: _finite_or_none(value) for cur, value in self.costs.items()},
            "first_started_at": self.first_started_at,
            "last_started_at": self.last_started_at,
        }


def _finite_or_none(value: float | None) -> float | None:
    return value if value is not None and math.isfinite(value) else None


def day_key(day: int) -> str:
    """A UTC day number as "YYYY-MM-DD"."""
    return datetime.fromtimestamp(day * SECONDS_PER_DAY, timezone.utc).strftime("%Y-%m-%d")


# -- reading ------------------------------------------------------------------------------


def _key_column(by: str | None, table: Any, dialect: str) -> ColumnElement[Any] | None:
    c = table.c
    if by is None:
        return None
    columns: dict[str, ColumnElement[Any]]
    if table is RUN_GROUPS:
        columns = {
            "experiment": c.experiment,
            "notebook": c.notebook_path,
            "day": c.day,
            "user": c.user,
            "kernel": c.kernel_id,
        }
        return columns[by]
    columns = {
        "experiment": c.experiment,
        "notebook": func.coalesce(c.notebook_path, ""),
        "day": day_sql(c.started_at, dialect),
        "user": func.coalesce(c.user, ""),
        "kernel": c.kernel_id,
    }
    return columns[by]


def _from_buckets(by: str | None, where: list[ColumnElement[bool]], dialect: str) -> Any:
    g = RUN_GROUPS.c
    key = _key_column(by, RUN_GROUPS, dialect)
    keys = [g.currency] if key is None else [key, g.currency]
    columns = [
        func.sum(g.runs).label("runs"),
        *(
            func.sum(g[name]).label(name)
            for name in ("duration_s", "attributed_j", "active_j", "idle_j", "gco2e", "cost")
        ),
        func.sum(g.costed).label("costed"),
        func.min(g.first_started_at).label("first_started_at"),
        func.max(g.last_started_at).label("last_started_at"),
    ]
    labelled = [g.currency.label("currency")] if key is None else [key.label("key"), g.currency.label("currency")]
    return select(*labelled, *columns).where(*where).group_by(*keys)


def _from_runs(by: str | None, where: list[ColumnElement[bool]], dialect: str) -> Any:
    c = RUNS.c
    key = _key_column(by, RUNS, dialect)
    currency = func.coalesce(c.currency, "")
    keys = [currency] if key is None else [key, currency]
    finite = {name: summable(c[name]) for name in ("duration_s", "attributed_j", "active_j", "idle_j", "gco2e", "cost")}
    columns = [
        func.count().label("runs"),
        *(func.coalesce(func.sum(expr), 0.0).label(name) for name, expr in finite.items()),
        func.count(finite["cost"]).label("costed"),
        func.min(c.started_at).label("first_started_at"),
        func.max(c.started_at).label("last_started_at"),
    ]
    labelled = [currency.label("currency")] if key is None else [key.label("key"), currency.label("currency")]
    return select(*labelled, *columns).where(*where).group_by(*keys)


def totals_by(conn: Connection, query: RunQuery, by: str | None) -> dict[Any, Totals]:
    """The runs matching ``query`` summed per ``by`` key (one entry, key None, when ``by`` is None)."""
    dialect = conn.dialect.name
    statements = []
    if answerable_by_buckets(query):
        split = split_days(query.since, query.until)
        if split.first_day is None or split.end_day is None or split.first_day < split.end_day:
            statements.append(_from_buckets(by, bucket_filters(query, split), dialect))
        for since, until in split.edges:
            edge = RunQuery(**{**query.__dict__, "since": since, "until": until})
            statements.append(_from_runs(by, run_filters(edge, dialect), dialect))
    else:
        statements.append(_from_runs(by, run_filters(query, dialect), dialect))
    result: dict[Any, Totals] = {}
    for statement in statements:
        for row in conn.execute(statement):
            if int(row.runs):
                result.setdefault(row.key if by is not None else None, Totals()).add(row)
    return result


def count(
    conn: Connection, query: RunQuery, cap: int | None = None, narrow: bool = False, names: Names | None = None
) -> tuple[int, bool]:
    """How many runs match ``query``, and whether that is a lower bound.

    Exact from the bucket sums when they can answer; else the matching runs are counted up to
    ``cap`` (None: all of them) and a count that reaches it is ``(cap, True)``: counting the
    tens of thousands of runs a broad text or tag filter matches takes seconds.

    ``narrow``: the caller found few runs visible in the query's range (``visible_runs``), so
    they are read through the visibility index, each testing its own text, instead of starting
    from every text match. ``names``: those of ``q``, if the caller found them (``find_names``).
    """
    dialect = conn.dialect.name
    if answerable_by_buckets(query):
        return _bucket_count(conn, query), False
    if narrow and walkable(query, dialect):
        where = run_filters(query, dialect, per_row=True, visibility_index=True, names=names)
        return _capped(conn, select(literal(1)).select_from(RUNS).where(*where), cap)
    if query.q:
        return added(*text_search_counts(conn, query, cap, names), cap)
    return _capped(conn, _own_text_matching(query, dialect), cap)


def added(named: tuple[int, bool], own: tuple[int, bool], cap: int | None) -> tuple[int, bool]:
    """The count of a ``q`` search from its two parts (``text_search_counts``)."""
    found = named[0] + own[0]
    if cap is not None and (named[1] or own[1] or found > cap):
        return cap, True
    return found, False


def text_search_counts(
    conn: Connection, query: RunQuery, cap: int | None, names: Names | None = None
) -> tuple[tuple[int, bool], tuple[int, bool]]:
    """A ``q`` search's matches in two parts that add up, each counted up to ``cap``: the runs
    whose notebook or experiment holds ``q`` (exact from the bucket sums where the other
    filters allow), and the runs found by their own text (code line, tags) alone."""
    dialect = conn.dialect.name
    assert query.q
    if names is None:
        names = find_names(conn, query.q)
    rest = replace(query, q=None)
    if names is not None and not names.notebooks and not names.experiments:
        named = (0, False)
    elif answerable_by_buckets(rest):
        named = (_bucket_count(conn, rest, query.q, names), False)
    else:
        where = run_filters(query, dialect, q_part="names", names=names)
        named = _capped(conn, select(literal(1)).select_from(RUNS).where(*where), cap)
    return named, _capped(conn, _own_text_matching(query, dialect, names), cap)


def _own_text_matching(query: RunQuery, dialect: str, names: Names | None = None) -> Any:
    """A select of the runs matching ``query`` by their own text (``q_part="own"``), for counting.

    SQLite builds the whole list of an IN (subquery) before the first row: 83,000 runs for a
    common code line. A join from the full-text matches of ``q`` (or a tag) stops at the cap.
    """
    driver = text_driver(query, dialect)
    if driver is None:
        return select(literal(1)).select_from(RUNS).where(*run_filters(query, dialect, q_part="own", names=names))
    rest = replace(query, q=None if driver == query.q else query.q)
    fts = fts_matches(driver)
    joined = fts.join(RUN_TEXT, RUN_TEXT.c.id == fts.c.id).join(RUNS, RUNS.c.run_id == RUN_TEXT.c.run_id)
    where = run_filters(rest, dialect, per_row=True, q_part="own", names=names)
    if query.q and driver == query.q:
        where.append(names_miss(query.q, dialect, names))
    return select(literal(1)).select_from(joined).where(*where)


def _capped(conn: Connection, matching: Any, cap: int | None) -> tuple[int, bool]:
    """How many rows ``matching`` selects, counted up to ``cap`` (reaching it: ``(cap, True)``)."""
    if cap is not None:
        matching = matching.limit(cap + 1)
    found = int(conn.execute(select(func.count()).select_from(matching.subquery())).scalar_one())
    return (cap, True) if cap is not None and found > cap else (found, False)


def _bucket_count(conn: Connection, query: RunQuery, names_q: str | None = None, names: Names | None = None) -> int:
    """The runs of an answerable ``query`` from the bucket sums (the partial days at the ends of
    its time range from the runs); ``names_q``: only those whose notebook or experiment holds it.

    Only the runs column: the sums of every figure cost a million-run ledger's 8,000 buckets
    several times as much.
    """
    dialect = conn.dialect.name
    split = split_days(query.since, query.until)
    found = 0
    if split.first_day is None or split.end_day is None or split.first_day < split.end_day:
        where = bucket_filters(query, split)
        if names_q:
            where.append(names_hold(names_q, dialect, RUN_GROUPS.c, names))
        runs = select(func.coalesce(func.sum(RUN_GROUPS.c.runs), 0)).where(*where)
        found += int(conn.execute(runs).scalar_one())
    for since, until in split.edges:
        edge = replace(query, since=since, until=until, q=names_q)
        where = run_filters(edge, dialect, q_part="names", names=names)
        edge_runs = select(func.count()).select_from(RUNS).where(*where)
        found += int(conn.execute(edge_runs).scalar_one())
    return found


def visible_runs(conn: Connection, query: RunQuery, exact: bool = True) -> int | None:
    """How many runs ``query``'s filters other than text, tags, flags and method let through
    (its visibility, time range, names...), from the bucket sums: what reading them through the
    visibility index would read. None when the buckets cannot tell (msg_id, code_hash...).

    Not ``exact``: the runs of the whole days around the time range, an upper bound read from
    the buckets alone (no count of the runs at the range's two ends).
    """
    rest = replace(query, q=None, tags=(), flags=(), method=None)
    if not answerable_by_buckets(rest):
        return None
    if not exact:
        since = None if rest.since is None else math.floor(rest.since / SECONDS_PER_DAY) * SECONDS_PER_DAY
        until = None if rest.until is None else math.ceil(rest.until / SECONDS_PER_DAY) * SECONDS_PER_DAY
        rest = replace(rest, since=since, until=until)
    return count(conn, rest)[0]


# -- writing ------------------------------------------------------------------------------


def _bucket(row: dict[str, Any]) -> tuple[Any, ...]:
    values = {
        "day": day_number(row["started_at"]),
        "deleted": 0 if row["deleted_at"] is None else 1,
        "notebook_path": row["notebook_path"] or "",
        "user": row["user"] or "",
        "currency": row["currency"] or "",
    }
    return tuple(values.get(name, row.get(name)) for name in BUCKET_COLUMNS)


def add_runs(conn: Connection, rows: list[dict[str, Any]]) -> None:
    """Add newly stored runs (rows as inserted) to their buckets, in the caller's transaction."""
    rows = [row for row in rows if row["status"] != RUNNING]
    if not rows:
        return
    dialect = conn.dialect.name
    if dialect not in ("sqlite", "postgresql"):
        recompute_kernels(conn, {row["kernel_id"] for row in rows})
        return
    sums: dict[tuple[Any, ...], dict[str, Any]] = {}
    for row in rows:
        key = _bucket(row)
        bucket = sums.get(key)
        if bucket is None:
            bucket = sums[key] = dict(zip(BUCKET_COLUMNS, key, strict=True))
            bucket.update(
                runs=0, duration_s=0.0, attributed_j=0.0, active_j=0.0, idle_j=0.0, gco2e=0.0, cost=0.0, costed=0
            )
            bucket.update(first_started_at=row["started_at"], last_started_at=row["started_at"])
        bucket["runs"] += 1
        for name in ("duration_s", "attributed_j", "active_j", "idle_j", "gco2e"):
            bucket[name] += summable_or_zero(row[name])
        cost = row["cost"]
        if cost is not None and summable_or_zero(cost) == cost:
            bucket["cost"] += cost
            bucket["costed"] += 1
        bucket["first_started_at"] = min(bucket["first_started_at"], row["started_at"])
        bucket["last_started_at"] = max(bucket["last_started_at"], row["started_at"])
    upsert = (sqlite.insert if dialect == "sqlite" else postgresql.insert)(RUN_GROUPS)
    g, new = RUN_GROUPS.c, upsert.excluded
    summed = ("runs", "duration_s", "attributed_j", "active_j", "idle_j", "gco2e", "cost", "costed")
    changes = {name: g[name] + new[name] for name in summed}
    changes["first_started_at"] = case(
        (new.first_started_at < g.first_started_at, new.first_started_at), else_=g.first_started_at
    )
    changes["last_started_at"] = case(
        (new.last_started_at > g.last_started_at, new.last_started_at), else_=g.last_started_at
    )
    conn.execute(upsert.on_conflict_do_update(index_elements=list(BUCKET_COLUMNS), set_=changes), list(sums.values()))


def recompute_kernels(conn: Connection, kernel_ids: Iterable[str]) -> None:
    """Rebuild the buckets of these kernels from their runs (after runs moved between buckets)."""
    kernels = sorted(set(kernel_ids))
    dialect = conn.dialect.name
    for start in range(0, len(kernels), KERNELS_PER_STATEMENT):
        chunk = kernels[start : start + KERNELS_PER_STATEMENT]
        conn.execute(delete(RUN_GROUPS).where(RUN_GROUPS.c.kernel_id.in_(chunk)))
        totals = bucket_totals_select(RUNS, dialect, RUNS.c.kernel_id.in_(chunk))
        conn.execute(insert(RUN_GROUPS).from_select(list(totals.selected_columns.keys()), totals))
