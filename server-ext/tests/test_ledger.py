"""The run ledger on SQLite files and on a real PostgreSQL server: round trips, queries, durability,
concurrency, upgrades (tests named for SQLite look at its files)."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Connection, text

from jupyterlab_carbon.ledger import Ledger, LedgerError, default_ledger_path, schema, store
from jupyterlab_carbon.records import ChannelEnergy, RunRecord

SERVER_EXT = Path(__file__).resolve().parents[1]


def make_record(run_id: str = "r1", **changes: Any) -> RunRecord:
    """A record with every field set to something other than its default."""
    record = RunRecord(
        run_id=run_id,
        kernel_id="k1",
        msg_id=f"msg-{run_id}",
        started_at=1_700_000_000.125,
        ended_at=1_700_000_012.5,
        status="ok",
        node_j=310.25,
        attributed_j=120.5,
        idle_j=20.125,
        active_j=100.375,
        channels=[
            ChannelEnergy(
                channel_id="cpu/package-0",
                label="CPU package 0",
                domain="cpu",
                method="measured-counter",
                node_j=250.0,
                share=0.4,
                attributed_j=100.0,
                idle_j=15.0,
                active_j=85.0,
            ),
            ChannelEnergy(
                channel_id="gpu/0",
                label="NVIDIA H100",
                domain="gpu",
                method="measured-power",
                node_j=60.25,
                share=0.34024896265560167,
                attributed_j=20.5,
                idle_j=5.125,
                active_j=15.375,
            ),
        ],
        methods=["measured-counter", "measured-power"],
        flags=["sampling-gap"],
        host="node-7",
        session_id="s1",
        notebook_path="work/train.ipynb",
        execution_count=12,
        code_hash="ab" * 32,
        code_preview="model.fit(x, y)  # é ✓",
        kernel_name="python3",
        extra={"server": {"pid": 42}},
        experiment="work/train.ipynb",
        impact={"gco2e": 12.5, "cost": 0.002, "currency": "EUR", "intensity": {"method": "settings-zone"}},
    )
    return replace(record, **changes)


@pytest.fixture
def ledger(ledger_url: str) -> Iterator[Ledger]:
    """An empty ledger, once on SQLite and once on PostgreSQL."""
    with Ledger(ledger_url) as opened:
        yield opened


@pytest.fixture
def sqlite_ledger(tmp_path: Path) -> Iterator[Ledger]:
    """An empty ledger at the default SQLite location under ``tmp_path``."""
    with Ledger(data_dir=tmp_path) as opened:
        yield opened


def sqlite_file(data_dir: Path) -> Path:
    return data_dir / "carbon" / "ledger.sqlite"


def test_full_record_round_trips(ledger: Ledger) -> None:
    record = make_record()
    ledger.add_run(record)
    stored = ledger.run("r1")
    assert stored == record
    assert isinstance(stored.channels[0], ChannelEnergy)
    assert stored.duration_s == pytest.approx(12.375)
    assert ledger.runs() == [record]


def test_unknown_run_is_none(ledger: Ledger) -> None:
    assert ledger.run("nope") is None


def test_optional_fields_stay_none(ledger: Ledger) -> None:
    record = make_record(
        session_id=None,
        notebook_path=None,
        execution_count=None,
        code_hash=None,
        code_preview=None,
        kernel_name=None,
        channels=[],
        methods=[],
        flags=[],
        extra={},
    )
    ledger.add_run(record)
    assert ledger.run("r1") == record


floats = st.floats(allow_nan=False, allow_infinity=False)
channels = st.builds(
    ChannelEnergy,
    channel_id=st.text(),
    label=st.text(),
    domain=st.text(),
    method=st.text(),
    node_j=floats,
    share=floats,
    attributed_j=floats,
    idle_j=floats,
    active_j=floats,
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    started=floats,
    ended=floats,
    energy=st.tuples(floats, floats, floats, floats),
    chans=st.lists(channels, max_size=3),
    strings=st.lists(st.text(), max_size=3),
    preview=st.none() | st.text(),
    count=st.none() | st.integers(min_value=0, max_value=2**31 - 1),
    extra=st.dictionaries(st.text(), st.none() | st.booleans() | floats | st.text(), max_size=3),
)
def test_any_record_round_trips_exactly(
    ledger: Ledger,
    started: float,
    ended: float,
    energy: tuple[float, float, float, float],
    chans: list[ChannelEnergy],
    strings: list[str],
    preview: str | None,
    count: int | None,
    extra: dict[str, object],
) -> None:
    run_id = f"h{ledger.count()}"
    record = make_record(
        run_id,
        started_at=started,
        ended_at=ended,
        node_j=energy[0],
        attributed_j=energy[1],
        idle_j=energy[2],
        active_j=energy[3],
        channels=chans,
        flags=strings,
        code_preview=preview,
        execution_count=count,
        extra=extra,
    )
    ledger.add_run(record)
    # Text columns hold U+FFFD for NUL (PostgreSQL refuses NUL in text); JSON keeps it escaped.
    expected = record if preview is None else replace(record, code_preview=preview.replace("\x00", "\ufffd"))
    assert ledger.run(run_id) == expected


def test_a_nul_in_a_preview_does_not_fail_the_batch(ledger: Ledger) -> None:
    ledger.write_batch([], [make_record("a", code_preview="x = '\x00'"), make_record("b")])
    stored = ledger.run("a")
    assert stored is not None and stored.code_preview == "x = '\ufffd'"
    assert ledger.run("b") == make_record("b")


def test_add_is_idempotent_on_run_id(ledger: Ledger) -> None:
    record = make_record()
    ledger.add_run(record)
    ledger.add_run(record)
    ledger.add_run(replace(record, attributed_j=999.0))
    assert ledger.count() == 1
    assert ledger.run("r1") == record  # the first write stands


def test_other_integrity_errors_are_not_swallowed(ledger: Ledger) -> None:
    with pytest.raises(Exception, match=r"(?i)not[ -]null"):  # SQLite: NOT NULL; PostgreSQL: not-null
        ledger.add_run(make_record(kernel_id=None))
    assert ledger.count() == 0


def fill(ledger: Ledger) -> None:
    """Six runs: two kernels, two notebooks, started at t = 100, 200, ... 600."""
    for i in range(6):
        ledger.add_run(
            make_record(
                f"r{i}",
                kernel_id="k1" if i % 2 == 0 else "k2",
                notebook_path="a.ipynb" if i < 3 else "b.ipynb",
                code_hash="same" if i in (1, 4) else f"h{i}",
                started_at=100.0 * (i + 1),
                ended_at=100.0 * (i + 1) + i + 1,
                node_j=10.0 * (i + 1),
                attributed_j=float(i + 1),
                idle_j=0.25 * (i + 1),
                active_j=0.75 * (i + 1),
                # r5 was recorded before any intensity was known; r4 is priced in another currency
                impact=None if i == 5 else {"gco2e": 2.0 * (i + 1), "cost": 0.5 if i < 4 else None,
                                            "currency": "EUR" if i < 4 else None},
            )
        )


def ids(records: list[RunRecord]) -> list[str]:
    return [r.run_id for r in records]


def test_runs_are_newest_first_with_paging(ledger: Ledger) -> None:
    fill(ledger)
    assert ids(ledger.runs()) == ["r5", "r4", "r3", "r2", "r1", "r0"]
    assert ids(ledger.runs(limit=2)) == ["r5", "r4"]
    assert ids(ledger.runs(limit=2, offset=2)) == ["r3", "r2"]
    assert ids(ledger.runs(limit=10, offset=5)) == ["r0"]
    assert ledger.runs(offset=6) == []


def test_ties_on_start_time_have_a_stable_order(ledger: Ledger) -> None:
    for run_id in ("b", "c", "a"):
        ledger.add_run(make_record(run_id))
    assert ids(ledger.runs()) == ["c", "b", "a"]
    assert ids(ledger.runs(limit=1, offset=1)) == ["b"]


def test_filters(ledger: Ledger) -> None:
    fill(ledger)
    assert ids(ledger.runs(kernel_id="k1")) == ["r4", "r2", "r0"]
    assert ids(ledger.runs(notebook_path="b.ipynb")) == ["r5", "r4", "r3"]
    assert ids(ledger.runs(msg_id="msg-r3")) == ["r3"]
    assert ids(ledger.runs(code_hash="same")) == ["r4", "r1"]
    assert ids(ledger.runs(since=300.0)) == ["r5", "r4", "r3", "r2"]
    assert ids(ledger.runs(until=300.0)) == ["r1", "r0"]
    assert ids(ledger.runs(since=200.0, until=500.0)) == ["r3", "r2", "r1"]
    assert ids(ledger.runs(kernel_id="k2", notebook_path="a.ipynb")) == ["r1"]
    assert ledger.runs(kernel_id="nobody") == []
    assert ledger.count() == 6
    assert ledger.count(kernel_id="k2") == 3
    assert ledger.count(since=200.0, until=500.0) == 3
    assert ledger.count(notebook_path="b.ipynb", code_hash="same") == 1


def test_totals(ledger: Ledger) -> None:
    assert ledger.totals() == {
        "runs": 0,
        "attributed_j": 0.0,
        "node_j": 0.0,
        "idle_j": 0.0,
        "active_j": 0.0,
        "duration_s": 0.0,
        "gco2e": 0.0,
        "costs": {},
    }
    fill(ledger)
    assert ledger.totals() == {
        "runs": 6,
        "attributed_j": 21.0,
        "node_j": 210.0,
        "idle_j": 5.25,
        "active_j": 15.75,
        "duration_s": 21.0,
        "gco2e": 2.0 * (1 + 2 + 3 + 4 + 5),
        "costs": {"EUR": 2.0},
    }
    assert ledger.totals(notebook_path="a.ipynb") == {
        "runs": 3,
        "attributed_j": 6.0,
        "node_j": 60.0,
        "idle_j": 1.5,
        "active_j": 4.5,
        "duration_s": 6.0,
        "gco2e": 12.0,
        "costs": {"EUR": 1.5},
    }
    assert ledger.totals(kernel_id="k2", since=300.0)["attributed_j"] == 10.0  # r3 + r5
    assert ledger.totals(kernel_id="k2", since=300.0)["runs"] == 2


@pytest.mark.parametrize("limit", [0, -1, 10001, 2.5, "10", True, None])
def test_bad_limit_is_refused(ledger: Ledger, limit: object) -> None:
    with pytest.raises(ValueError, match="limit must be a whole number from 1 to 10000"):
        ledger.runs(limit=limit)  # type: ignore[arg-type]


@pytest.mark.parametrize("offset", [-1, 1.0, "0", False, None])
def test_bad_offset_is_refused(ledger: Ledger, offset: object) -> None:
    with pytest.raises(ValueError, match="offset must be a whole number, 0 or more"):
        ledger.runs(offset=offset)  # type: ignore[arg-type]


def test_limit_bounds_are_accepted(ledger: Ledger) -> None:
    fill(ledger)
    assert len(ledger.runs(limit=1)) == 1
    assert len(ledger.runs(limit=10000)) == 6


def test_sqlite_pragmas_on_every_connection(sqlite_ledger: Ledger, tmp_path: Path) -> None:
    with sqlite_ledger._engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 10000
    # WAL is a property of the file, seen by any other program.
    with sqlite3.connect(sqlite_file(tmp_path)) as raw:
        assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_default_location_under_given_data_dir(tmp_path: Path) -> None:
    with Ledger(data_dir=tmp_path / "data") as ledger:
        ledger.add_run(make_record())
        assert ledger.url == f"sqlite:///{sqlite_file(tmp_path / 'data')}"
    with sqlite3.connect(sqlite_file(tmp_path / "data")) as raw:
        assert raw.execute("SELECT run_id FROM runs").fetchall() == [("r1",)]


def test_default_location_is_jupyters_data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JUPYTER_DATA_DIR", str(tmp_path / "jdata"))
    assert default_ledger_path() == tmp_path / "jdata" / "carbon" / "ledger.sqlite"
    with Ledger() as ledger:
        ledger.add_run(make_record())
    assert sqlite_file(tmp_path / "jdata").is_file()


def test_explicit_url(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'team.db'}"
    with Ledger(url, data_dir=tmp_path / "unused") as ledger:
        ledger.add_run(make_record())
    with Ledger(url) as ledger:
        assert ids(ledger.runs()) == ["r1"]
    assert not (tmp_path / "unused").exists()


def test_unusable_urls_raise_ledger_error(tmp_path: Path) -> None:
    with pytest.raises(LedgerError, match="not valid"):
        Ledger("not a url")
    with pytest.raises(LedgerError, match="Cannot open the ledger"):
        Ledger(f"sqlite:///{tmp_path / 'missing-dir' / 'x.db'}")


def test_two_ledgers_in_two_threads_lose_nothing(ledger_url: str) -> None:
    per_thread = 200
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def writer(name: str) -> None:
        try:
            barrier.wait()
            # Both open the fresh database at once: the schema is created once, not twice.
            with Ledger(ledger_url) as ledger:
                for i in range(per_thread):
                    ledger.add_run(make_record(f"{name}-{i}", kernel_id=name, started_at=float(i)))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(name,)) for name in ("a", "b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with Ledger(ledger_url) as ledger:
        assert ledger.count() == 2 * per_thread
        assert ledger.count(kernel_id="a") == per_thread
        stored = {r.run_id for r in ledger.runs(limit=1000)}
    assert stored == {f"{name}-{i}" for name in ("a", "b") for i in range(per_thread)}


def test_opening_waits_for_a_writer_before_switching_to_wal(tmp_path: Path) -> None:
    # A writer in the middle of a transaction on a file still in rollback-journal mode: there
    # SQLite refuses the switch to WAL at once, without waiting, and the ledger must wait itself.
    path = sqlite_file(tmp_path)
    path.parent.mkdir(parents=True)
    other = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    other.execute("CREATE TABLE other_app (x INTEGER)")
    other.execute("BEGIN IMMEDIATE")
    other.execute("INSERT INTO other_app VALUES (1)")
    release = threading.Timer(0.3, other.execute, args=("COMMIT",))
    release.start()
    try:
        with Ledger(data_dir=tmp_path) as ledger:
            ledger.add_run(make_record())
            assert ledger.count() == 1
    finally:
        release.join()
        other.close()
    with sqlite3.connect(path) as raw:
        assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert raw.execute("SELECT x FROM other_app").fetchall() == [(1,)]


def test_one_ledger_shared_by_threads(ledger: Ledger) -> None:
    errors: list[BaseException] = []

    def writer(n: int) -> None:
        try:
            for i in range(25):
                ledger.add_run(make_record(f"{n}-{i}"))
                ledger.runs(limit=5)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert ledger.count() == 200


KILLED_WRITER = """
import json, os, signal, sys
from pathlib import Path
from jupyterlab_carbon.ledger import Ledger
from jupyterlab_carbon.records import RunRecord

ledger = Ledger(data_dir=Path(sys.argv[1]))
ledger.add_run(RunRecord.from_json(json.loads(sys.argv[2])))
os.kill(os.getpid(), signal.SIGKILL)
"""


def test_a_written_run_survives_sigkill(tmp_path: Path) -> None:
    with Ledger(data_dir=tmp_path) as ledger:
        ledger.add_run(make_record("before"))
    record = make_record("killed")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(SERVER_EXT), os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.run(
        [sys.executable, "-c", KILLED_WRITER, str(tmp_path), json.dumps(record.to_json())],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    # Killed before any checkpoint: the run exists only in the write-ahead log.
    wal = sqlite_file(tmp_path).with_name("ledger.sqlite-wal")
    assert wal.is_file() and wal.stat().st_size > 0
    with Ledger(data_dir=tmp_path) as ledger:
        assert ledger.run("killed") == record
        assert ledger.count() == 2


def stored_schema_version(path: Path) -> int:
    with sqlite3.connect(path) as raw:
        return int(raw.execute("SELECT version FROM schema_info").fetchone()[0])


def column_names(path: Path) -> list[str]:
    with sqlite3.connect(path) as raw:
        return [row[1] for row in raw.execute("PRAGMA table_info(runs)")]


NEWEST = store.MIGRATIONS[-1][0]


def test_new_sqlite_ledger_is_at_newest_version(sqlite_ledger: Ledger, tmp_path: Path) -> None:
    assert stored_schema_version(sqlite_file(tmp_path)) == NEWEST
    with sqlite3.connect(sqlite_file(tmp_path)) as raw:
        assert raw.execute("SELECT count(*) FROM schema_info").fetchone()[0] == 1
        indexes = {row[1] for row in raw.execute("PRAGMA index_list(runs)")}
    assert {
        "ix_runs_kernel_id",
        "ix_runs_msg_id",
        "ix_runs_notebook_path",
        "ix_runs_started_at",
        "ix_runs_code_hash",
    } <= indexes


def test_old_schema_is_upgraded_in_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with Ledger(data_dir=tmp_path) as ledger:
        ledger.add_run(make_record())
    path = sqlite_file(tmp_path)
    assert "region" not in column_names(path)

    applied: list[int] = []

    def add_region(conn: Connection) -> None:
        applied.append(2)
        conn.execute(text("ALTER TABLE runs ADD COLUMN region VARCHAR(64)"))
        conn.execute(text("UPDATE runs SET region = 'FR'"))

    def add_grid(conn: Connection) -> None:
        applied.append(3)
        # Sees version 2's column: the steps run in order.
        conn.execute(text("ALTER TABLE runs ADD COLUMN grid VARCHAR(64)"))
        conn.execute(text("UPDATE runs SET grid = region || '-grid'"))

    monkeypatch.setattr(
        store, "MIGRATIONS", [*store.MIGRATIONS, (NEWEST + 1, add_region), (NEWEST + 2, add_grid)]
    )
    with Ledger(data_dir=tmp_path) as ledger:
        assert ledger.run("r1") == make_record()  # old runs still read back whole
        ledger.add_run(make_record("r2"))
    assert applied == [2, 3]
    assert stored_schema_version(path) == NEWEST + 2
    assert {"region", "grid"} <= set(column_names(path))
    with sqlite3.connect(path) as raw:
        assert raw.execute("SELECT run_id, region, grid FROM runs ORDER BY run_id").fetchall() == [
            ("r1", "FR", "FR-grid"),
            ("r2", None, None),
        ]
    with Ledger(data_dir=tmp_path):
        pass
    assert applied == [2, 3]  # an up-to-date ledger runs no step again


def test_failed_upgrade_leaves_the_old_schema(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with Ledger(data_dir=tmp_path) as ledger:
        ledger.add_run(make_record())
    path = sqlite_file(tmp_path)

    def half_done(conn: Connection) -> None:
        conn.execute(text("ALTER TABLE runs ADD COLUMN region VARCHAR(64)"))
        conn.execute(text("UPDATE runs SET no_such_column = 1"))

    monkeypatch.setattr(store, "MIGRATIONS", [*store.MIGRATIONS, (NEWEST + 1, half_done)])
    with pytest.raises(LedgerError, match="no_such_column"):
        Ledger(data_dir=tmp_path)
    # The whole upgrade was one transaction: the added column was rolled back with it.
    assert stored_schema_version(path) == NEWEST
    assert "region" not in column_names(path)
    monkeypatch.undo()
    with Ledger(data_dir=tmp_path) as ledger:
        assert ids(ledger.runs()) == ["r1"]


def test_a_version_1_ledger_gains_the_impact_column(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from dataclasses import asdict

    from sqlalchemy import MetaData, create_engine, insert

    monkeypatch.setattr(store, "MIGRATIONS", store.MIGRATIONS[:1])
    Ledger(data_dir=tmp_path).close()  # a ledger as version 1 made it
    v1 = MetaData()
    schema._define_v1(v1)
    engine = create_engine(f"sqlite:///{sqlite_file(tmp_path)}")
    with engine.begin() as conn:
        row = {k: v for k, v in asdict(make_record(impact=None)).items() if k in v1.tables["runs"].c}
        conn.execute(insert(v1.tables["runs"]).values(**row))
    engine.dispose()
    path = sqlite_file(tmp_path)
    assert stored_schema_version(path) == 1 and "impact" not in column_names(path)
    monkeypatch.undo()
    with Ledger(data_dir=tmp_path) as ledger:
        assert stored_schema_version(path) == NEWEST and "impact" in column_names(path)
        assert ledger.run("r1") == make_record(impact=None)
        ledger.add_run(make_record("r2"))
        assert ledger.run("r2") == make_record("r2")
        assert ledger.totals()["gco2e"] == 12.5


def test_newer_schema_is_refused(tmp_path: Path) -> None:
    with Ledger(data_dir=tmp_path) as ledger:
        ledger.add_run(make_record())
    path = sqlite_file(tmp_path)
    with sqlite3.connect(path) as raw:
        raw.execute("UPDATE schema_info SET version = 99")
    with pytest.raises(LedgerError, match=f"schema version 99, newer than the {NEWEST}"):
        Ledger(data_dir=tmp_path)
    assert stored_schema_version(path) == 99  # refused, not touched


def test_ledger_does_not_import_the_server() -> None:
    code = (
        "import sys, jupyterlab_carbon.ledger; "
        "bad = [m for m in ('tornado', 'jupyter_server', 'jupyter_core') if m in sys.modules]; "
        "print(bad); sys.exit(1 if bad else 0)"
    )
    env = {**os.environ, "PYTHONPATH": str(SERVER_EXT)}
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr
