"""Schema upgrades of ledgers older versions wrote: version 3 on a version 2 ledger (every run kept,
backfilled, searchable and summed), version 4's visibility index on a version 3 ledger, version 5's
search text without names and tag index on a version 4 ledger."""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Any

import pytest
from sqlalchemy import MetaData, create_engine, insert, text

from jupyterlab_carbon.ledger import Ledger, RunQuery, schema, store
from jupyterlab_carbon.ledger.store import RUNNING
from jupyterlab_carbon.records import ChannelEnergy, RunRecord

T0 = 1_700_000_000.0
CHANNEL = ChannelEnergy("cpu/package-0", "CPU", "cpu", "measured-counter", 200.0, 0.5, 100.0, 25.0, 75.0)


def v2_row(run_id: str, **changes: Any) -> dict[str, Any]:
    """A row as version 2 stored it (no annotation columns)."""
    row = {
        "run_id": run_id,
        "kernel_id": "k1",
        "msg_id": f"msg-{run_id}",
        "started_at": T0,
        "ended_at": T0 + 10.0,
        "status": "ok",
        "node_j": 200.0,
        "attributed_j": 100.0,
        "idle_j": 25.0,
        "active_j": 75.0,
        "channels": [
            asdict(ChannelEnergy("cpu/package-0", "CPU", "cpu", "measured-counter", 200.0, 0.5, 100.0, 25.0, 75.0))
        ],
        "methods": ["measured-counter"],
        "flags": [],
        "host": "node-1",
        "session_id": None,
        "notebook_path": "work/train.ipynb",
        "execution_count": 3,
        "code_hash": "ab" * 32,
        "code_preview": "model.fit(x, y)",
        "kernel_name": "python3",
        "extra": {},
        "version": 1,
        "impact": {"gco2e": 10.0, "cost": 0.1, "currency": "EUR"},
    }
    row.update(changes)
    return row


def make_v2_ledger(url: str, monkeypatch: pytest.MonkeyPatch, rows: list[dict[str, Any]]) -> None:
    """A ledger made by the version 1 and 2 steps, holding ``rows``."""
    monkeypatch.setattr(store, "MIGRATIONS", store.MIGRATIONS[:2])
    Ledger(url).close()
    monkeypatch.undo()
    v2 = MetaData()
    schema._define_v1(v2)
    runs = v2.tables["runs"]
    runs.append_column(schema._impact_column())
    engine = create_engine(url)
    with engine.begin() as conn:
        assert conn.execute(text("SELECT version FROM schema_info")).scalar_one() == 2
        conn.execute(insert(runs), rows)
    engine.dispose()


ROWS = [
    v2_row("nb", started_at=T0),
    v2_row("kernel-name", started_at=T0 + 86400, notebook_path=None),
    v2_row("kernel-id", started_at=T0 + 2 * 86400, notebook_path=None, kernel_name=None, kernel_id="k7"),
    v2_row("no-impact", started_at=T0 + 3, impact=None, attributed_j=50.0),
    v2_row("usd", started_at=T0 + 4, impact={"gco2e": 1.0, "cost": 2.0, "currency": "USD"}),
    v2_row("live", started_at=T0 + 5, status=RUNNING),
]


def test_a_version_2_ledger_is_upgraded_with_its_runs(ledger_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    make_v2_ledger(ledger_url, monkeypatch, ROWS)
    with Ledger(ledger_url) as ledger:
        with ledger._engine.connect() as conn:
            assert conn.execute(text("SELECT version FROM schema_info")).scalar_one() == store.MIGRATIONS[-1][0]
        total, runs = ledger.search(RunQuery(), limit=100)
        assert total == 5
        by_id = {r.run_id: r for r in runs}
        assert {run_id: r.experiment for run_id, r in by_id.items()} == {
            "nb": "work/train.ipynb",
            "kernel-name": "kernel python3",
            "kernel-id": "kernel k7",
            "no-impact": "work/train.ipynb",
            "usd": "work/train.ipynb",
        }
        for record in runs:
            assert (record.tags, record.note, record.user, record.source) == ([], None, None, "server")
            assert (record.metrics, record.deleted_at, record.trace) == ({}, None, None)
        # Everything else as it was written.
        nb = by_id["nb"]
        expected = {k: v for k, v in ROWS[0].items() if k != "channels"}
        assert {k: getattr(nb, k) for k in expected} == expected
        assert nb.channels == [ChannelEnergy(**ROWS[0]["channels"][0])]
        running = ledger.run("live")
        assert running is not None and running.status == RUNNING
        # Searchable, sortable and summed like new runs.
        assert [r.run_id for r in ledger.search(RunQuery(q="K7"))[1]] == ["kernel-id"]
        assert [r.run_id for r in ledger.search(RunQuery(q="fit(x"))[1]] == [
            "kernel-id",
            "kernel-name",
            "usd",
            "no-impact",
            "nb",
        ]
        by_co2e = [r.run_id for r in ledger.search(RunQuery(), sort="co2e")[1]]
        assert by_co2e == ["kernel-id", "kernel-name", "nb", "usd", "no-impact"]  # ties newest first
        assert ledger.search(RunQuery(), sort="cost", order="asc")[1][0].run_id == "no-impact"
        groups = ledger.groups(RunQuery(), "day")
        assert [(g["key"], g["runs"]) for g in groups["groups"]] == [
            ("2023-11-16", 1),
            ("2023-11-15", 1),
            ("2023-11-14", 3),
        ]
        assert groups["total"]["attributed_j"] == 450.0
        assert groups["total"]["gco2e"] == 31.0
        assert groups["total"]["costs"] == {"EUR": pytest.approx(0.3), "USD": 2.0}
        # New runs and annotations work on the upgraded ledger.
        ledger.add_run(RunRecord.from_json({**v2_row("new", started_at=T0 + 6), "experiment": "fresh"}))
        assert ledger.annotate(["nb"], add_tags=["kept"]) == 1
        assert ledger.groups(RunQuery(), "experiment")["total"]["runs"] == 6
        assert [r.run_id for r in ledger.search(RunQuery(tags=("kept",)))[1]] == ["nb"]
    with Ledger(ledger_url) as ledger:  # opening again runs no step
        assert ledger.search(RunQuery())[0] == 6


def test_an_unreadable_impact_is_kept_and_counted_as_none(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """An earlier version could write Infinity into SQLite's JSON: the upgrade must not fail on it."""
    url = f"sqlite:///{tmp_path / 'ledger.sqlite'}"
    make_v2_ledger(url, monkeypatch, [v2_row("ok"), v2_row("inf", started_at=T0 + 1)])
    engine = create_engine(url)
    with engine.begin() as conn:
        bad = json.dumps({"gco2e": float("inf"), "cost": 1.0, "currency": "EUR"})
        conn.execute(text("UPDATE runs SET impact = :bad WHERE run_id = 'inf'"), {"bad": bad})
    engine.dispose()
    with Ledger(url) as ledger:
        total = ledger.groups(RunQuery(), "experiment")["total"]
        assert total["runs"] == 2 and total["gco2e"] == 10.0 and total["costs"] == {"EUR": 0.1}
        assert [r.run_id for r in ledger.search(RunQuery(), sort="co2e")[1]] == ["ok", "inf"]


def index_names(url: str) -> set[str]:
    """The names of the runs table's indexes (expression indexes too, which SQLAlchemy's inspector skips)."""
    engine = create_engine(url)
    with engine.connect() as conn:
        if conn.dialect.name == "sqlite":
            found = conn.execute(text("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'runs'"))
        else:
            found = conn.execute(text("SELECT indexname FROM pg_indexes WHERE tablename = 'runs'"))
        names = {row[0] for row in found}
    engine.dispose()
    return names


def test_a_version_3_ledger_gains_the_visibility_index(ledger_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(store, "MIGRATIONS", store.MIGRATIONS[:3])
    with Ledger(ledger_url) as ledger:
        ledger.write_batch(
            [],
            [
                RunRecord.from_json({**v2_row(f"r{n}", started_at=T0 + n), "user": user})
                for n, user in enumerate(["ada", "bob", None, "ada"])
            ],
        )
    monkeypatch.undo()
    assert "ix_runs_visible_started" not in index_names(ledger_url)
    with Ledger(ledger_url) as ledger:
        with ledger._engine.connect() as conn:
            assert conn.execute(text("SELECT version FROM schema_info")).scalar_one() == store.MIGRATIONS[-1][0]
        assert "ix_runs_visible_started" in index_names(ledger_url)
        # Its runs and every query on them as before.
        assert [r.run_id for r in ledger.search(RunQuery(visible_users=("ada",)))[1]] == ["r3", "r2", "r0"]
        assert ledger.search(RunQuery(q="fit", visible_users=("bob",), since=T0 + 1))[0] == 2
        assert ledger.groups(RunQuery(visible_users=("bob",)), "user")["total"]["runs"] == 2
    with Ledger(ledger_url) as ledger:  # opening again runs no step
        assert ledger.search(RunQuery())[0] == 4


def test_a_version_4_ledger_gets_search_text_without_names_and_a_tag_index(
    ledger_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(store, "MIGRATIONS", store.MIGRATIONS[:4])
    with Ledger(ledger_url) as ledger:
        ledger.write_batch([], [RunRecord.from_json(v2_row(f"r{n}", started_at=T0 + n)) for n in range(3)])
        ledger.annotate(["r0", "r2"], add_tags=["ablation", "gpu"])
        with ledger._write() as conn:  # the search text as version 4 wrote it
            for run_id, tags in (("r0", "\nablation\ngpu"), ("r1", ""), ("r2", "\nablation\ngpu")):
                conn.execute(
                    text("UPDATE run_text SET text = :text WHERE run_id = :run_id"),
                    {"text": f"work/train.ipynb\nmodel.fit(x, y)\nwork/train.ipynb{tags}", "run_id": run_id},
                )
    monkeypatch.undo()
    assert schema.TAGS_INDEX not in index_names(ledger_url)
    with Ledger(ledger_url) as ledger:
        with ledger._engine.connect() as conn:
            assert conn.execute(text("SELECT version FROM schema_info")).scalar_one() == 5
            texts = dict(conn.execute(text("SELECT run_id, text FROM run_text")).all())
        assert texts == {
            "r0": "model.fit(x, y)\nablation\ngpu",
            "r1": "model.fit(x, y)",
            "r2": "model.fit(x, y)\nablation\ngpu",
        }
        # PostgreSQL answers a tag from its own index; SQLite from its full-text index, rebuilt.
        assert (schema.TAGS_INDEX in index_names(ledger_url)) == ledger_url.startswith("postgresql")
        assert [r.run_id for r in ledger.search(RunQuery(tags=("ablation",)))[1]] == ["r2", "r0"]
        assert ledger.search(RunQuery(tags=("abl",)))[0] == 0  # a tag is matched whole, not as a substring
        assert ledger.search(RunQuery(q="ablat"))[0] == 2
        assert ledger.search(RunQuery(q="TRAIN.ipynb"))[0] == 3  # the notebook, through the names
        assert ledger.search(RunQuery(q="fit(x"))[0] == 3
        if ledger_url.startswith("postgresql"):  # GIN indexes write through (schema.GIN_OPTIONS)
            with ledger._engine.connect() as conn:
                options = dict(
                    conn.execute(
                        text(
                            "SELECT c.relname, c.reloptions FROM pg_class c JOIN pg_am a ON a.oid = c.relam "
                            "WHERE c.relkind = 'i' AND a.amname = 'gin'"
                        )
                    ).all()
                )
            assert set(options) == {
                "ix_run_text_trgm",
                "ix_run_groups_notebook_path_trgm",
                "ix_run_groups_experiment_trgm",
                schema.TAGS_INDEX,
            }
            assert all(value == ["fastupdate=off"] for value in options.values()), options
