"""A search's capped count and its page walk (issue 8's million runs), on SQLite and PostgreSQL.

Where the bucket sums cannot answer a search (text, tags, flags, method...), its total is
counted up to ``COUNT_CAP`` runs and flagged as a lower bound when it reaches it; a text or tag
search matching ``WALK_FROM`` runs or more by their own text is paged by walking the sort order's
index and testing each run's text, and one whose notebooks and experiments hold more than
``COLLECT_MAX`` runs walks too. The limits are lowered here so that a few runs reach them.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select, text

from jupyterlab_carbon.ledger import Ledger, RunQuery, store
from jupyterlab_carbon.ledger.filters import run_filters
from jupyterlab_carbon.ledger.schema import RUNS
from jupyterlab_carbon.records import RunRecord

from .test_ledger_queries import DAY, T0, ids, run

CAP = 5


def corpus() -> list[RunRecord]:
    """30 runs over three days: code lines, tags, users, a modeled third, flags, odd cases."""
    codes = ["model.fit(x, y)", "NEEDLE = load()", "print(needle_count)", "Étude des données", "x_1 = 50%"]
    runs = []
    for n in range(30):
        runs.append(
            run(
                f"r{n:02d}",
                started_at=T0 + (n % 3) * DAY + n * 60 + (7 if n % 4 == 0 else 0),
                kernel_id=f"k{n % 4}",
                code_preview=codes[n % len(codes)],
                tags=[["gpu"], ["gpu", "final"], [], ["cpu"]][n % 4],
                user=[None, "alice", "bob"][n % 3],
                flags=["sampling-gap"] if n % 2 else [],
                modeled=n % 3 == 0,
                attributed_j=float(n % 7) * 10 + 1,
                notebook_path=None if n == 29 else f"nb{n % 2}.ipynb",
            )
        )
    return runs


@pytest.fixture
def ledger(ledger_url: str) -> Iterator[Ledger]:
    with Ledger(ledger_url) as opened:
        opened.write_batch([], corpus())
        opened.set_deleted(["r03", "r04"], True)
        yield opened


@pytest.fixture
def capped(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(store, "COUNT_CAP", CAP)


def everything(ledger: Ledger, query: RunQuery, **options: Any) -> list[str]:
    """Every matching run id, paging 4 at a time until a short page (never trusting the total)."""
    found: list[str] = []
    while True:
        page = ledger.page(query, limit=4, offset=len(found), **options).runs
        found += ids(page)
        if len(page) < 4:
            return found


def test_a_broad_text_search_counts_up_to_the_cap(ledger: Ledger, capped: None) -> None:
    page = ledger.page(RunQuery(q="needle"), limit=3)
    assert (page.total, page.total_is_lower_bound) == (CAP, True)
    assert len(page.runs) == 3
    # Every run is still reachable past the cap, newest first.
    matching = everything(ledger, RunQuery(q="needle"))
    assert sorted(matching) == sorted(f"r{n:02d}" for n in range(30) if n % 5 in (1, 2))  # "NEEDLE", "needle"


def test_the_total_is_exact_below_the_cap(ledger: Ledger, capped: None) -> None:
    page = ledger.page(RunQuery(q="needle", user="alice"), limit=2)
    assert page.total == 4 and not page.total_is_lower_bound
    assert len(page.runs) == 2


def test_the_cap_counts_exactly_cap_matches_as_exact(ledger: Ledger, monkeypatch: pytest.MonkeyPatch) -> None:
    exact = ledger.page(RunQuery(q="needle", user="alice")).total
    monkeypatch.setattr(store, "COUNT_CAP", exact)
    page = ledger.page(RunQuery(q="needle", user="alice"), limit=1)
    assert (page.total, page.total_is_lower_bound) == (exact, False)
    monkeypatch.setattr(store, "COUNT_CAP", exact - 1)
    page = ledger.page(RunQuery(q="needle", user="alice"), limit=1)
    assert (page.total, page.total_is_lower_bound) == (exact - 1, True)


@pytest.mark.parametrize(
    "query",
    [RunQuery(flags=("sampling-gap",)), RunQuery(method="modeled"), RunQuery(tags=("gpu",))],
    ids=["flag", "method", "tag"],
)
def test_filters_the_buckets_lack_are_capped_too(ledger: Ledger, capped: None, query: RunQuery) -> None:
    page = ledger.page(query, limit=2)
    assert (page.total, page.total_is_lower_bound) == (CAP, True)
    assert len(everything(ledger, query)) > CAP


@pytest.mark.parametrize(
    "query",
    [RunQuery(), RunQuery(experiment="nb1.ipynb"), RunQuery(user="bob", since=T0 + DAY / 2)],
    ids=["all", "experiment", "user-since"],
)
def test_totals_the_buckets_answer_stay_exact_past_the_cap(ledger: Ledger, capped: None, query: RunQuery) -> None:
    page = ledger.page(query, limit=2)
    assert page.total == len(everything(ledger, query)) > CAP
    assert not page.total_is_lower_bound


def test_a_short_first_page_is_exact(ledger: Ledger, capped: None) -> None:
    page = ledger.page(RunQuery(q="étude", user="bob"), limit=100)
    assert page.total == len(page.runs) <= CAP and not page.total_is_lower_bound


SEARCHES = [
    RunQuery(q="needle"),
    RunQuery(q="NEEDLE", visible_users=("alice",)),
    RunQuery(q="étude"),
    RunQuery(q="ÉTUDE"),
    RunQuery(q="x_1"),  # LIKE's wildcards are plain characters
    RunQuery(q="50%"),
    RunQuery(q="nb"),  # shorter than a trigram
    RunQuery(q="nb1", tags=("gpu",)),
    RunQuery(tags=("gpu", "final")),
    RunQuery(tags=("final",), deleted="include"),
    RunQuery(q="model", deleted="only"),
    RunQuery(q="needle", since=T0 + DAY, until=T0 + 2 * DAY, method="measured"),
    RunQuery(q="no such text"),
    RunQuery(q="NB0.IPYNB"),  # a notebook's name, found through the bucket totals' names
    RunQuery(q="ipynb", tags=("gpu",)),  # every notebook
    RunQuery(q="ipynb", visible_users=("bob",), since=T0 + DAY),
    RunQuery(q="nb0", method="modeled"),
    RunQuery(q="kernel"),  # the experiment of the run without a notebook
]


@pytest.mark.parametrize("query", SEARCHES, ids=[str(n) for n in range(len(SEARCHES))])
@pytest.mark.parametrize(
    ("sort", "order"), [("started_at", "desc"), ("started_at", "asc"), ("energy", "desc"), ("notebook_path", "asc")]
)
def test_walking_the_index_finds_what_collecting_the_matches_finds(
    ledger: Ledger, monkeypatch: pytest.MonkeyPatch, query: RunQuery, sort: str, order: str
) -> None:
    monkeypatch.setattr(store, "WALK_FROM", 10**9)
    monkeypatch.setattr(store, "COLLECT_MAX", 10**9)
    collected = everything(ledger, query, sort=sort, order=order)
    total = ledger.page(query).total
    # Runs of the names walked, runs of their own text looked up; then both walked.
    for walk_from in (10**9, 0):
        monkeypatch.setattr(store, "WALK_FROM", walk_from)
        monkeypatch.setattr(store, "COLLECT_MAX", -1)
        assert everything(ledger, query, sort=sort, order=order) == collected
        assert ledger.page(query).total == total == len(collected)


def test_q_finds_notebooks_and_experiments_by_their_names(ledger_url: str) -> None:
    """Names are matched among the buckets' (not in the runs' text), as case-insensitively as the text."""
    with Ledger(ledger_url) as ledger:
        ledger.write_batch(
            [],
            [
                run("a", started_at=T0, notebook_path="Études/Café.ipynb", code_preview="pass"),
                run("b", started_at=T0 + 1, notebook_path="other.ipynb", code_preview="café = 1"),
                run("c", started_at=T0 + 2, notebook_path=None, code_preview="pass"),
            ],
        )
        ledger.annotate(["c"], experiment="Café trials")
        assert ids(ledger.search(RunQuery(q="café"))[1]) == ["c", "b", "a"]
        assert ids(ledger.search(RunQuery(q="CAFé"))[1]) == ["c", "b", "a"]
        assert ids(ledger.search(RunQuery(q="trials"))[1]) == ["c"]
        assert ledger.search(RunQuery(q="Études/"))[0] == 1
        if ledger_url.startswith("sqlite"):  # PostgreSQL's C locale folds ASCII letters only
            assert ids(ledger.search(RunQuery(q="CAFÉ"))[1]) == ["c", "b", "a"]
            assert ledger.search(RunQuery(q="études/"))[0] == 1
        ledger.rename_experiment("Café trials", "espresso")
        assert ids(ledger.search(RunQuery(q="trials"))[1]) == []
        assert ids(ledger.search(RunQuery(q="espresso"))[1]) == ["c"]


def test_paging_past_the_cap_counts_what_it_saw_and_a_short_page_ends_it(ledger: Ledger, capped: None) -> None:
    query = RunQuery(q="needle")  # 12 runs
    page = ledger.page(query, limit=4, offset=4)
    assert (page.total, page.total_is_lower_bound) == (8, True)
    page = ledger.page(query, limit=4, offset=8)  # the last four: a full page, more may follow
    assert (page.total, page.total_is_lower_bound) == (12, True)
    page = ledger.page(query, limit=5, offset=10)
    assert (page.total, page.total_is_lower_bound, len(page.runs)) == (12, False, 2)
    page = ledger.page(query, limit=5, offset=20)  # past the end: nothing learnt beyond the cap
    assert (page.total, page.total_is_lower_bound, page.runs) == (CAP, True, [])


VISIBLE = [
    RunQuery(visible_users=("alice",)),
    RunQuery(visible_users=("alice", "bob"), since=T0 + DAY / 2),
    RunQuery(q="needle", visible_users=("alice",)),
    RunQuery(q="NEEDLE", visible_users=("bob",), since=T0 + DAY, until=T0 + 2.5 * DAY),
    RunQuery(q="étude", visible_users=("bob",)),  # not ASCII: never tested run by run on SQLite
    RunQuery(tags=("gpu",), visible_users=(), deleted="include"),
    RunQuery(flags=("sampling-gap",), visible_users=("alice",), until=T0 + 2 * DAY),
    RunQuery(method="modeled", visible_users=("bob",), experiment="nb0.ipynb"),
    RunQuery(q="model", visible_users=("alice",), code_hash="none"),  # the buckets cannot count these
]


@pytest.mark.parametrize("query", VISIBLE, ids=[str(n) for n in range(len(VISIBLE))])
@pytest.mark.parametrize(("sort", "order"), [("started_at", "desc"), ("energy", "asc"), ("experiment", "desc")])
def test_the_visibility_index_finds_what_the_sort_walk_finds(
    ledger: Ledger, monkeypatch: pytest.MonkeyPatch, query: RunQuery, sort: str, order: str
) -> None:
    """Few visible runs are read through the index on (user, start); many walk the sort order."""
    monkeypatch.setattr(store, "COUNT_CAP", CAP)
    monkeypatch.setattr(store, "VISIBLE_SCAN_MAX", 0)  # never few enough: the walk or the collected matches
    walked = everything(ledger, query, sort=sort, order=order)
    first = ledger.page(query, limit=2)
    monkeypatch.setattr(store, "VISIBLE_SCAN_MAX", 10**9)
    assert everything(ledger, query, sort=sort, order=order) == walked
    assert ledger.page(query, limit=2) == first
    expected = [
        r.run_id
        for r in corpus()
        if (r.user or "") in ("", *(query.visible_users or ()))
        and (query.q is None or query.q.lower() in f"{r.notebook_path}\n{r.code_preview}".lower())
    ]
    assert set(walked) <= set(expected)


def test_sqlite_takes_the_visibility_index_only_when_told(tmp_path: Any) -> None:
    """Without ``visibility_index`` SQLite's planner is kept off the index on (user, start)."""
    query = RunQuery(visible_users=("alice",), since=T0)
    with Ledger(f"sqlite:///{tmp_path / 'ledger.sqlite'}") as ledger, ledger._engine.connect() as conn:
        for indexed in (True, False):
            stmt = select(RUNS.c.run_id).where(*run_filters(query, "sqlite", visibility_index=indexed))
            stmt = stmt.order_by(RUNS.c.started_at.desc()).limit(10)
            compiled = stmt.compile(conn, compile_kwargs={"literal_binds": True})
            plan = " ".join(row[-1] for row in conn.execute(text(f"EXPLAIN QUERY PLAN {compiled}")))
            assert ("ix_runs_visible_started" in plan) == indexed, plan
