"""Ledger queries at a million runs: a list page, filtered searches and group totals, on SQLite and PostgreSQL.

Why this exists: the ledger sidebar asks the server for a page of runs, a search, or totals per
experiment/day/user every time its user types or scrolls, and a team ledger holds years of runs.
The target is p95 <= 50 ms server-side (the store's own call, what a REST handler waits for) for
each at 1,000,000 runs.

The script generates the runs itself: a year of work by 20 people, each kernel a working session
of one notebook on one day (100-500 cells), a tenth of the runs tagged, a third modeled, a few
soft-deleted. It stores them as the ledger does (see ``bulk_load``), runs each query
``--repeats`` times after one warm-up, then times the recorder's write (``write_batch`` of 20
runs) into the full ledger, and prints one JSON object: per database and query, p50/p95/max in
ms and the number of matching runs; progress goes to stderr. PostgreSQL is Debian's, started in a temporary directory by
``server-ext/tests/postgres.py`` (as the tests start it). Exit status 1 when a target is missed.

    .venv/bin/python benchmarks/ledger.py                       # both databases, 1,000,000 runs
    .venv/bin/python benchmarks/ledger.py --rows 100000 --database sqlite
    .venv/bin/python benchmarks/ledger.py --keep /tmp/ledger-bench --no-write   # load once, time again

With ``--keep DIR`` the databases stay in DIR (PostgreSQL's data directory too, its server
started and stopped around the run) and a later run reuses them instead of loading again; the
recorder's write adds 600 runs to a kept ledger, which ``--no-write`` skips. A kept ledger of an
older schema version is upgraded when it is opened, and the JSON gives the upgrade's time.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "server-ext"))

from sqlalchemy import JSON, Connection, Table, create_engine, func, insert, inspect, select, text  # noqa: E402

from jupyterlab_carbon.ledger import Ledger, RunQuery, schema, store  # noqa: E402
from jupyterlab_carbon.records import ChannelEnergy, RunRecord  # noqa: E402

TARGET_MS = 50.0
DAY = 86400.0
USERS = [f"user{i:02d}" for i in range(20)]
PROJECTS = [
    "vision",
    "nlp",
    "forecast",
    "churn",
    "recsys",
    "speech",
    "fraud",
    "genomics",
    "pricing",
    "climate",
]
CODE = [
    "model.fit(x_train, y_train, epochs=10)",
    "df = pd.read_parquet('data/events.parquet')",
    "import numpy as np",
    "trainer.train()",
    "loss.backward()",
    "results = evaluate(model, test_loader)",
    "plt.plot(history['loss'])",
    "X = vectorizer.fit_transform(corpus)",
    "clf = RandomForestClassifier(n_estimators=500)",
    "for epoch in range(100):",
    "torch.save(model.state_dict(), 'ckpt.pt')",
    "print(df.describe())",
]
TAGS = ["baseline", "tuned", "gpu", "ablation", "final", "sweep"]


def notebooks() -> list[str]:
    return [f"{project}/experiment-{i:02d}-{project}.ipynb" for project in PROJECTS for i in range(20)]


def generate(rows: int, seed: int, now: float) -> Iterator[list[RunRecord]]:
    """Batches of runs: kernels of ~300 cells, each in one notebook, by one user, on one day."""
    rng = random.Random(seed)
    paths = notebooks()
    made = 0
    kernel = 0
    batch: list[RunRecord] = []
    while made < rows:
        kernel += 1
        path = rng.choice(paths)
        user = rng.choice(USERS)
        experiment = path if rng.random() < 0.8 else f"{path.split('/')[0]} sweep {rng.randrange(5)}"
        t = now - rng.random() * 365 * DAY
        for count in range(1, min(rng.randint(100, 500), rows - made) + 1):
            duration = rng.expovariate(1 / 20)
            modeled = rng.random() < 0.3
            attributed = duration * rng.uniform(5, 60)
            channel = ChannelEnergy(
                channel_id="cpu/package-0",
                label="CPU package 0",
                domain="cpu",
                method="modeled" if modeled else "measured-counter",
                node_j=attributed * 2,
                share=0.5,
                attributed_j=attributed,
                idle_j=attributed * 0.2,
                active_j=attributed * 0.8,
            )
            gco2e = attributed / 3.6e6 * 56 * 1000
            batch.append(
                RunRecord(
                    run_id=f"{kernel:06d}-{count:04d}",
                    kernel_id=f"kernel-{kernel:06d}",
                    msg_id=f"msg-{kernel}-{count}",
                    started_at=t,
                    ended_at=t + duration,
                    status="ok" if rng.random() < 0.95 else "error",
                    node_j=attributed * 2,
                    attributed_j=attributed,
                    idle_j=attributed * 0.2,
                    active_j=attributed * 0.8,
                    channels=[channel],
                    methods=[channel.method],
                    flags=["below-resolution"] if duration < 1 else [],
                    host="node-1",
                    notebook_path=path,
                    execution_count=count,
                    code_hash=f"{rng.getrandbits(64):016x}",
                    code_preview=rng.choice(CODE),
                    kernel_name="python3",
                    impact={
                        "gco2e": gco2e,
                        "cost": attributed / 3.6e6 * 0.25,
                        "currency": "EUR",
                    },
                    experiment=experiment,
                    tags=sorted(rng.sample(TAGS, 2)) if rng.random() < 0.1 else [],
                    user=user,
                )
            )
            t += duration + rng.uniform(1, 60)
            made += 1
            if len(batch) == 5000:
                yield batch
                batch = []
    if batch:
        yield batch


def queries(now: float) -> dict[str, Callable[[Ledger], Any]]:
    """The questions the sidebar asks, each a call of the store as the REST handlers make it."""
    month = now - 30 * DAY
    mine = ("user03",)
    path = notebooks()[7]

    def total(result: tuple[int, list[RunRecord]]) -> int:
        return result[0]

    def grouped(result: dict[str, Any]) -> int:
        return int(result["total"]["runs"])

    return {
        "list_page": lambda ledger: total(ledger.search(RunQuery(), limit=100)),
        "list_page_one_user": lambda ledger: total(ledger.search(RunQuery(visible_users=mine), limit=100)),
        "list_page_by_co2e": lambda ledger: total(ledger.search(RunQuery(), sort="co2e", limit=100)),
        "list_page_by_duration_asc": lambda ledger: total(
            ledger.search(RunQuery(), sort="duration_s", order="asc", limit=100)
        ),
        "search_q_notebook": lambda ledger: total(ledger.search(RunQuery(q="experiment-07-vision"), limit=100)),
        "search_q_code": lambda ledger: total(ledger.search(RunQuery(q="randomforest"), limit=100)),
        "search_q_one_user_month": lambda ledger: total(
            ledger.search(RunQuery(q="fraud", since=month, visible_users=mine), limit=100)
        ),
        "search_experiment_month": lambda ledger: total(
            ledger.search(RunQuery(experiment=path, since=month), limit=100)
        ),
        "search_tag": lambda ledger: total(ledger.search(RunQuery(tags=("ablation",)), limit=100)),
        "groups_experiment": lambda ledger: grouped(ledger.groups(RunQuery(), "experiment")),
        "groups_day_month": lambda ledger: grouped(ledger.groups(RunQuery(since=month + 1234.5), "day")),
        "groups_user": lambda ledger: grouped(ledger.groups(RunQuery(), "user")),
        "groups_notebook_one_user": lambda ledger: grouped(ledger.groups(RunQuery(visible_users=mine), "notebook")),
        "experiments": lambda ledger: len(ledger.experiments(RunQuery())),
    }


def measure(ledger: Ledger, now: float, repeats: int, only: list[str] | None = None) -> dict[str, Any]:
    figures: dict[str, Any] = {}
    for name, call in queries(now).items():
        if only and name not in only:
            continue
        matched = call(ledger)  # warm-up, and the size of the answer
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            call(ledger)
            times.append((time.perf_counter() - start) * 1000)
        times.sort()
        figures[name] = {
            "p50_ms": round(statistics.median(times), 2),
            "p95_ms": round(times[max(0, round(0.95 * len(times)) - 1)], 2),
            "max_ms": round(times[-1], 2),
            "matched": matched,
        }
        print(f"  {name}: {figures[name]}", file=sys.stderr)
    return figures


def bulk_load(url: str, rows: int, seed: int, now: float) -> float:
    """Write the runs as the ledger stores them, its indexes built once at the end.

    Rows, search text and bucket totals are the store's own (``_row``, ``search_text``,
    ``bucket_totals_select``, the SQL its upgrade uses); only the order differs from a year of
    ``write_batch`` calls: the secondary indexes (and SQLite's full-text triggers) are dropped
    while the rows go in and re-created after, which takes minutes instead of hours. PostgreSQL
    gets the rows through COPY (psycopg's, one per batch), SQLite through executemany.
    """
    Ledger(url).close()  # the schema
    engine = create_engine(url)
    start = time.perf_counter()
    with engine.begin() as conn:
        rebuilt = _secondary_ddl(conn)
        for kind, name, _ in rebuilt:
            conn.exec_driver_sql(f"DROP {kind} {name}")
    written = 0
    for batch in generate(rows, seed, now):
        runs = [store._row(record) for record in batch]
        texts = [
            {"run_id": r.run_id, "text": schema.search_text(r.code_preview, r.tags)}
            for r in batch
        ]
        with engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                _copy(conn, schema.RUNS, runs)
                _copy(conn, schema.RUN_TEXT, texts)
            else:
                conn.execute(insert(schema.RUNS), runs)
                conn.execute(insert(schema.RUN_TEXT), texts)
        written += len(batch)
        if written % 100_000 == 0:
            print(f"  {written} runs written ({time.perf_counter() - start:.0f} s)", file=sys.stderr)
    with engine.begin() as conn:
        print(f"  indexes ({time.perf_counter() - start:.0f} s)", file=sys.stderr)
        if conn.dialect.name == "postgresql":
            conn.exec_driver_sql("SET maintenance_work_mem = '512MB'")
        for _, _, ddl in rebuilt:
            conn.exec_driver_sql(ddl)
        if conn.dialect.name == "sqlite":
            conn.exec_driver_sql(f"INSERT INTO {schema.RUN_TEXT_FTS}({schema.RUN_TEXT_FTS}) VALUES ('rebuild')")
        print(f"  bucket totals ({time.perf_counter() - start:.0f} s)", file=sys.stderr)
        bucket_rows = schema.bucket_totals_select(schema.RUNS, conn.dialect.name)
        conn.execute(insert(schema.RUN_GROUPS).from_select(list(bucket_rows.selected_columns.keys()), bucket_rows))
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql("VACUUM ANALYZE")
    engine.dispose()
    return time.perf_counter() - start


def _copy(conn: Connection, table: Table, rows: list[dict[str, Any]]) -> None:
    """COPY rows (dicts of the table's columns) into a PostgreSQL table; JSON columns as JSON text."""
    columns = list(rows[0])
    json_columns = {column.name for column in table.columns if isinstance(column.type, JSON)}
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    names = ", ".join(f'"{name}"' for name in columns)
    with cursor.copy(f"COPY {table.name} ({names}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(
                [
                    (None if row[name] is None else json.dumps(row[name])) if name in json_columns else row[name]
                    for name in columns
                ]
            )


def _secondary_ddl(conn: Connection) -> list[tuple[str, str, str]]:
    """(INDEX or TRIGGER, name, the statement that creates it) of runs' and run_text's secondary indexes."""
    if conn.dialect.name == "sqlite":
        found = conn.exec_driver_sql(
            "SELECT upper(type), name, sql FROM sqlite_master WHERE type IN ('index', 'trigger') "
            "AND tbl_name IN ('runs', 'run_text') AND sql IS NOT NULL AND name NOT LIKE 'sqlite_%'"
        )
        return [(kind, name, sql) for kind, name, sql in found]
    found = conn.execute(
        text(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename IN ('runs', 'run_text') "
            "AND indexname NOT LIKE '%pkey' AND indexname NOT LIKE '%key'"
        )
    )
    return [("INDEX", name, ddl) for name, ddl in found]


def write_latency(ledger: Ledger, now: float, batches: int = 30) -> dict[str, float]:
    """The recorder's write (20 finished runs, one commit) into the full ledger: p50/p95 in ms."""
    times = []
    for i, batch in enumerate(generate(20 * batches, 99, now)):
        for start in range(0, len(batch), 20):
            fresh = [replace(r, run_id=f"w{i}-{r.run_id}") for r in batch[start : start + 20]]
            begin = time.perf_counter()
            ledger.write_batch([], fresh)
            times.append((time.perf_counter() - begin) * 1000)
    times.sort()
    return {
        "runs_per_commit": 20,
        "p50_ms": round(statistics.median(times), 2),
        "p95_ms": round(times[max(0, round(0.95 * len(times)) - 1)], 2),
    }


@contextlib.contextmanager
def database(kind: str, directory: Path) -> Iterator[str]:
    """The URL of a ledger database of ``kind`` kept in ``directory`` (a PostgreSQL server's data
    directory is ``directory/pg``, started here and stopped after, its data kept)."""
    if kind == "sqlite":
        yield f"sqlite:///{directory / 'ledger.sqlite'}"
        return
    sys.path.insert(0, str(REPO / "server-ext"))
    from tests import postgres

    bin_dir, account = postgres.server_bin_dir(), postgres._server_account()
    base = directory / "pg"
    data, log = base / "data", base / "server.log"
    fresh = not data.exists()
    base.mkdir(parents=True, exist_ok=True)
    if account is not None:
        for path in (directory, base):
            os.chown(path, account.pw_uid, account.pw_gid)
    if fresh:
        postgres._run(
            [
                str(bin_dir / "initdb"),
                "-D",
                str(data),
                "-U",
                postgres.SUPERUSER,
                "--auth=trust",
                "--encoding=UTF8",
                "--locale=C",
                "--no-sync",
            ],
            account,
            base,
        )
    # The server as the tests start it, with the memory a dedicated ledger server would be given.
    options = f"-k {base} {postgres.SERVER_OPTIONS} -c shared_buffers=1GB -c effective_cache_size=4GB -c work_mem=16MB"
    postgres._run(
        [str(bin_dir / "pg_ctl"), "start", "-w", "-t", "60", "-D", str(data), "-l", str(log), "-o", options],
        account,
        base,
    )
    try:
        server = f"postgresql+psycopg://{postgres.SUPERUSER}@/postgres?host={base}"
        if fresh:
            postgres.create_database(server, "carbon")
        yield f"postgresql+psycopg://{postgres.SUPERUSER}@/carbon?host={base}"
    finally:
        postgres._run([str(bin_dir / "pg_ctl"), "stop", "-w", "-m", "fast", "-D", str(data)], account, base)


def stored_runs(url: str) -> int:
    """How many runs the database at ``url`` already holds (0 for a new one)."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            if not inspect(conn).has_table(schema.RUNS.name):
                return 0
            return int(conn.execute(select(func.count()).select_from(schema.RUNS)).scalar_one())
    finally:
        engine.dispose()


def stored_version(url: str) -> int:
    """The schema version of the ledger at ``url`` (0 for none yet)."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            if not inspect(conn).has_table(schema.SCHEMA_INFO.name):
                return 0
            return int(conn.execute(select(schema.SCHEMA_INFO.c.version)).scalar_one())
    finally:
        engine.dispose()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--database", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--repeats", type=int, default=40)
    parser.add_argument("--seed", type=int, default=8)
    parser.add_argument(
        "--keep",
        type=Path,
        metavar="DIR",
        help="keep the databases in DIR and reuse them on the next run with the same --rows (no reload)",
    )
    parser.add_argument("--only", metavar="NAME", nargs="+", help="time only these queries (names as in the JSON)")
    parser.add_argument("--no-write", action="store_true", help="skip timing the recorder's write (it adds runs)")
    args = parser.parse_args()
    now = time.time()
    kinds = ["sqlite", "postgresql"] if args.database == "both" else [args.database]
    result: dict[str, Any] = {
        "rows": args.rows,
        "repeats": args.repeats,
        "target_p95_ms": TARGET_MS,
        "machine": {
            "python": platform.python_version(),
            "sqlite": sqlite3.sqlite_version,
            "cpus": _cpus(),
        },
        "databases": {},
    }
    met = True
    for kind in kinds:
        with contextlib.ExitStack() as stack:
            if args.keep is None:
                directory = Path(stack.enter_context(tempfile.TemporaryDirectory()))
            else:
                directory = args.keep / kind
                directory.mkdir(parents=True, exist_ok=True)
            url = stack.enter_context(database(kind, directory))
            load_s: float | None = None
            stamp = directory / "generated_at"
            held = stored_runs(url)
            if held and stamp.exists():
                now = float(stamp.read_text())  # the queries' "last month" is the data's
                print(f"{kind}: reusing the {held} runs in {directory}", file=sys.stderr)
            else:
                if held:
                    raise SystemExit(f"{directory} holds a ledger of unknown origin: remove it first")
                print(f"{kind}: writing {args.rows} runs", file=sys.stderr)
                load_s = bulk_load(url, args.rows, args.seed, now)
                stamp.write_text(repr(now))
            version = stored_version(url)
            opening = time.perf_counter()
            with Ledger(url) as ledger:
                upgrade = None
                if version and version < store.MIGRATIONS[-1][0]:
                    # A kept ledger of an older schema: its upgrade ran in the open, timed.
                    upgrade = {
                        "from_version": version,
                        "to_version": store.MIGRATIONS[-1][0],
                        "seconds": round(time.perf_counter() - opening, 1),
                        "load_average": [round(x, 1) for x in os.getloadavg()],
                    }
                    print(f"{kind}: upgraded from schema version {version} in {upgrade['seconds']} s", file=sys.stderr)
                if load_s is not None:
                    # A few runs in the trash, as a real ledger has.
                    ledger.set_deleted([f"{kernel:06d}-0001" for kernel in range(1, 200)], True)
                print(f"{kind}: querying", file=sys.stderr)
                load_avg = os.getloadavg()
                figures = measure(ledger, now, args.repeats, args.only)
                writes = None
                if not args.no_write:
                    print(f"{kind}: writing", file=sys.stderr)
                    writes = write_latency(ledger, now)
            slow = sorted(name for name, figure in figures.items() if figure["p95_ms"] > TARGET_MS)
            met = met and not slow
            result["databases"][kind] = {
                "bulk_load_s": None if load_s is None else round(load_s, 1),
                "upgrade": upgrade,
                "load_average_before_queries": [round(x, 1) for x in load_avg],
                "queries": figures,
                "write_batch": writes,
                "over_target": slow,
            }
    result["met"] = met
    json.dump(result, sys.stdout, indent=2)
    print()
    return 0 if met else 1


def _cpus() -> int | None:
    return os.cpu_count()


if __name__ == "__main__":
    sys.exit(main())
