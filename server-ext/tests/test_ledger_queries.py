"""The ledger's queries and annotations (search, groups, compare, trash...), on SQLite and PostgreSQL."""

from __future__ import annotations

import math
import random
from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime, timezone
from typing import Any

import pytest

from jupyterlab_carbon.ledger import UNSET, Ledger, RunQuery
from jupyterlab_carbon.ledger.store import RUNNING
from jupyterlab_carbon.records import ChannelEnergy, RunRecord

DAY = 86400.0
T0 = 1_700_000_000.0  # 2023-11-14 22:13:20 UTC


def run(run_id: str, started_at: float = T0, **changes: Any) -> RunRecord:
    """A finished run of 10 s; ``changes`` override any field."""
    modeled = changes.pop("modeled", False)
    method = "modeled" if modeled else "measured-counter"
    attributed = changes.pop("attributed_j", 100.0)
    record = RunRecord(
        run_id=run_id,
        kernel_id="k1",
        msg_id=f"msg-{run_id}",
        started_at=started_at,
        ended_at=started_at + 10.0,
        status="ok",
        node_j=2 * attributed,
        attributed_j=attributed,
        idle_j=attributed / 4,
        active_j=3 * attributed / 4,
        channels=[ChannelEnergy("cpu/package-0", "CPU", "cpu", method, 2 * attributed, 0.5, attributed, 25.0, 75.0)],
        methods=[method],
        flags=[],
        host="node-1",
        notebook_path="work/train.ipynb",
        execution_count=1,
        code_preview="model.fit(x, y)",
        kernel_name="python3",
        impact={"gco2e": attributed / 10, "cost": attributed / 1000, "currency": "EUR"},
    )
    return replace(record, **changes)


@pytest.fixture
def ledger(ledger_url: str) -> Iterator[Ledger]:
    with Ledger(ledger_url) as opened:
        yield opened


def ids(records: list[RunRecord]) -> list[str]:
    return [record.run_id for record in records]


def found(ledger: Ledger, **query: Any) -> list[str]:
    """The ids a search returns (newest first), checking that its total agrees with the page."""
    total, page = ledger.search(RunQuery(**query), limit=10000)
    assert total == len(page)
    return ids(page)


# -- writing ------------------------------------------------------------------------------


def test_a_run_without_experiment_gets_its_notebook_or_kernel(ledger: Ledger) -> None:
    ledger.write_batch(
        [],
        [
            run("a"),
            run("b", notebook_path=None),
            run("c", notebook_path=None, kernel_name=None, kernel_id="k9"),
            run("d", experiment="sweep"),
        ],
    )
    experiments = {r.run_id: r.experiment for r in ledger.search(RunQuery())[1]}
    assert experiments == {"a": "work/train.ipynb", "b": "kernel python3", "c": "kernel k9", "d": "sweep"}


def test_new_fields_round_trip_and_the_trace_only_when_asked(ledger: Ledger) -> None:
    trace = {"t": [0.5, 1.5], "w": [12.0, 14.5]}
    record = run(
        "a",
        experiment="e",
        tags=["x", "y"],
        note="first",
        user="ada",
        source="headless",
        metrics={"acc": 0.9},
        trace=trace,
    )
    ledger.add_run(record)
    assert ledger.run("a", with_trace=True) == record
    assert ledger.run("a") == replace(record, trace=None)
    assert ledger.search(RunQuery())[1] == [replace(record, trace=None)]
    assert "trace" not in record.to_json() and record.to_json(include_trace=True)["trace"] == trace


# -- search -------------------------------------------------------------------------------


def test_running_and_deleted_runs_are_left_out_by_default(ledger: Ledger) -> None:
    ledger.write_batch([run("live", status=RUNNING)], [run("a", T0 + 1), run("b", T0 + 2)])
    assert ledger.set_deleted(["b"], True) == 1
    assert found(ledger) == ["a"]
    assert found(ledger, deleted="only") == ["b"]
    assert found(ledger, deleted="include") == ["b", "a"]
    deleted = ledger.run("b")
    assert deleted is not None and deleted.deleted_at is not None
    assert ledger.set_deleted(["b"], False) == 1
    assert found(ledger) == ["b", "a"]
    assert ledger.runs() == ledger.search(RunQuery())[1]  # the older API agrees


def test_every_filter(ledger: Ledger) -> None:
    ledger.write_batch(
        [],
        [
            run("a", T0, notebook_path="a.ipynb", kernel_id="k1", user="ada", tags=["base"], flags=["sampling-gap"]),
            run("b", T0 + 100, notebook_path="b.ipynb", kernel_id="k2", user="bob", modeled=True, status="error"),
            run("c", T0 + 200, notebook_path=None, kernel_id="k2", tags=["base", "gpu"], source="imported"),
            run("d", T0 + 300, experiment="sweep", flags=["sampling-gap", "below-resolution"], msg_id="m-d"),
        ],
    )
    assert found(ledger, notebook_path="a.ipynb") == ["a"]
    assert found(ledger, experiment="sweep") == ["d"]
    assert found(ledger, experiment="kernel python3") == ["c"]
    assert found(ledger, tags=("base",)) == ["c", "a"]
    assert found(ledger, tags=("base", "gpu")) == ["c"]
    assert found(ledger, kernel_id="k2") == ["c", "b"]
    assert found(ledger, user="bob") == ["b"]
    assert found(ledger, since=T0 + 100) == ["d", "c", "b"]
    assert found(ledger, until=T0 + 100) == ["a"]
    assert found(ledger, since=T0 + 100, until=T0 + 300) == ["c", "b"]
    assert found(ledger, method="modeled") == ["b"]
    assert found(ledger, method="measured") == ["d", "c", "a"]
    assert found(ledger, flags=("sampling-gap",)) == ["d", "a"]
    assert found(ledger, flags=("sampling-gap", "below-resolution")) == ["d"]
    assert found(ledger, status="error") == ["b"]
    assert found(ledger, source="imported") == ["c"]
    assert found(ledger, source="server") == ["d", "b", "a"]
    assert found(ledger, msg_id="m-d") == ["d"]
    assert found(ledger, kernel_id="k2", method="measured") == ["c"]


def test_q_is_a_case_insensitive_substring_of_notebook_code_experiment_and_tags(ledger: Ledger) -> None:
    ledger.write_batch(
        [],
        [
            run("a", notebook_path="Projects/Vision.ipynb", code_preview="train(resnet)"),
            run("b", T0 + 1, notebook_path="nlp.ipynb", experiment="BERT sweep", code_preview="x = 100%_done"),
            run("c", T0 + 2, notebook_path="nlp.ipynb", tags=["Ablation"], code_preview='say("hi")'),
        ],
    )
    assert found(ledger, q="vision") == ["a"]
    assert found(ledger, q="RESNET") == ["a"]
    assert found(ledger, q="bert sw") == ["b"]
    assert found(ledger, q="ablat") == ["c"]
    assert found(ledger, q="nlp") == ["c", "b"]
    assert found(ledger, q="i") == ["c", "b", "a"]  # shorter than a trigram: scanned, same answer
    assert found(ledger, q="%_") == ["b"]  # LIKE's wildcards are plain characters
    assert found(ledger, q="%") == ["b"]
    assert found(ledger, q='("hi")') == ["c"]  # quotes are plain characters too
    assert found(ledger, q="nothing like it") == []
    # Annotations are searchable at once.
    ledger.annotate(["a"], add_tags=["keeper"], experiment="Final")
    assert found(ledger, q="keep") == ["a"]
    assert found(ledger, q="final") == ["a"]
    ledger.annotate(["a"], remove_tags=["keeper"])
    assert found(ledger, q="keep") == []


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        ("started_at", ["c", "b", "a"]),
        ("duration_s", ["a", "c", "b"]),
        ("energy", ["b", "a", "c"]),
        ("co2e", ["b", "a", "c"]),  # c has no impact: last when descending
        ("cost", ["b", "a", "c"]),
        ("notebook_path", ["b", "a", "c"]),  # c has none
        ("experiment", ["b", "a", "c"]),  # z.ipynb, m.ipynb, "kernel python3"
        ("execution_count", ["a", "b", "c"]),
    ],
)
def test_every_sort_key_both_ways(ledger: Ledger, sort: str, expected: list[str]) -> None:
    ledger.write_batch(
        [],
        [
            run("a", T0, ended_at=T0 + 50, attributed_j=200.0, notebook_path="m.ipynb", execution_count=9),
            run("b", T0 + 1, attributed_j=300.0, notebook_path="z.ipynb", execution_count=5),
            run("c", T0 + 2, ended_at=T0 + 22, attributed_j=5.0, notebook_path=None, impact=None, execution_count=None),
        ],
    )
    assert ids(ledger.search(RunQuery(), sort=sort)[1]) == expected
    assert ids(ledger.search(RunQuery(), sort=sort, order="asc")[1]) == expected[::-1]


def test_pages_with_ties_never_overlap(ledger: Ledger) -> None:
    ledger.write_batch([], [run(f"r{i:02d}", T0 + i // 4, attributed_j=float(i % 3)) for i in range(40)])
    for sort in ("started_at", "energy"):
        pages = [ledger.search(RunQuery(), sort=sort, limit=7, offset=offset) for offset in range(0, 40, 7)]
        assert all(total == 40 for total, _ in pages)
        seen = [run_id for _, page in pages for run_id in ids(page)]
        assert sorted(seen) == sorted(f"r{i:02d}" for i in range(40))


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"sort": "size"}, "sort must be one of"),
        ({"order": "up"}, "order must be asc or desc"),
        ({"limit": 0}, "limit must be"),
        ({"limit": 10001}, "limit must be"),
        ({"offset": -1}, "offset must be"),
        ({"query": RunQuery(method="guessed")}, "method must be one of"),  # type: ignore[arg-type]
        ({"query": RunQuery(deleted="all")}, "deleted must be one of"),  # type: ignore[arg-type]
        ({"query": RunQuery(source="cloud")}, "source must be one of"),
        ({"query": RunQuery(since=math.inf)}, "since must be a finite number"),
        ({"query": RunQuery(until=float("nan"))}, "until must be a finite number"),
        ({"query": RunQuery(tags=["a"])}, "tags must be a tuple"),  # type: ignore[arg-type]
        ({"query": RunQuery(q="x" * 1001)}, "q must be text of at most"),
        ({"query": RunQuery(visible_users="ada")}, "visible_users must be"),  # type: ignore[arg-type]
    ],
)
def test_bad_searches_are_refused(ledger: Ledger, arguments: dict[str, Any], message: str) -> None:
    options = dict(arguments)  # the parameters are shared by both databases' runs
    query = options.pop("query", RunQuery())
    with pytest.raises(ValueError, match=message):
        ledger.search(query, **options)


def test_a_user_sees_their_runs_and_those_of_no_one(ledger: Ledger) -> None:
    ledger.write_batch([], [run("ada1", user="ada"), run("bob1", T0 + 1, user="bob"), run("old", T0 + 2)])
    assert found(ledger, visible_users=("ada",)) == ["old", "ada1"]
    assert found(ledger, visible_users=("ada", "bob")) == ["old", "bob1", "ada1"]
    assert found(ledger, visible_users=()) == ["old"]
    assert found(ledger) == ["old", "bob1", "ada1"]
    assert ledger.run("bob1", visible_users=("ada",)) is None
    assert ledger.run("old", visible_users=("ada",)) is not None
    groups = ledger.groups(RunQuery(visible_users=("ada",)), "user")
    assert [(g["key"], g["runs"]) for g in groups["groups"]] == [("", 1), ("ada", 1)]


# -- compare ------------------------------------------------------------------------------


def test_compare_gives_traces_in_the_order_asked(ledger: Ledger) -> None:
    trace = {"t": [1.0], "w": [3.0]}
    ledger.write_batch([], [run("a", trace=trace), run("b", T0 + 1, user="bob"), run("c", T0 + 2)])
    compared = ledger.compare(["c", "a"])
    assert ids(compared) == ["c", "a"] and compared[1].trace == trace
    with pytest.raises(ValueError, match="not yours to see\\): b, zz"):
        ledger.compare(["a", "b", "zz"], visible_users=("ada",))
    with pytest.raises(ValueError, match="2 to 50 runs"):
        ledger.compare(["a"])
    with pytest.raises(ValueError, match="2 to 50 runs"):
        ledger.compare([f"r{i}" for i in range(51)])
    with pytest.raises(ValueError, match="more than once"):
        ledger.compare(["a", "a"])
    with pytest.raises(ValueError, match="list of run ids"):
        ledger.compare("ab")  # type: ignore[arg-type]


# -- groups -------------------------------------------------------------------------------


def reference_groups(records: list[RunRecord], by: str, query: RunQuery) -> dict[str, dict[str, Any]]:
    """What groups() must answer, summed in Python from the records."""
    keys = {
        "experiment": lambda r: r.experiment,
        "notebook": lambda r: r.notebook_path or "",
        "day": lambda r: datetime.fromtimestamp(r.started_at, timezone.utc).strftime("%Y-%m-%d"),
        "user": lambda r: r.user or "",
        "kernel": lambda r: r.kernel_id,
    }
    groups: dict[str, dict[str, Any]] = {}
    for r in records:
        if r.status == RUNNING or (query.since is not None and r.started_at < query.since):
            continue
        if query.until is not None and r.started_at >= query.until:
            continue
        if query.experiment is not None and r.experiment != query.experiment:
            continue
        if query.q is not None and query.q not in (r.notebook_path or ""):
            continue
        if (r.deleted_at is not None) != (query.deleted == "only"):
            continue
        if query.visible_users is not None and (r.user or "") not in ("", *query.visible_users):
            continue
        group = groups.setdefault(
            keys[by](r), {"runs": 0, "attributed_j": 0.0, "duration_s": 0.0, "gco2e": 0.0, "cost": 0.0, "last": 0.0}
        )
        group["runs"] += 1
        group["attributed_j"] += r.attributed_j
        group["duration_s"] += r.duration_s
        group["gco2e"] += r.impact["gco2e"] if r.impact else 0.0
        group["cost"] += r.impact["cost"] if r.impact else 0.0
        group["last"] = max(group["last"], r.started_at)
    return groups


def random_runs(rng: random.Random, count: int) -> list[RunRecord]:
    records = []
    for i in range(count):
        records.append(
            run(
                f"r{i:03d}",
                T0 + rng.uniform(-5 * DAY, 5 * DAY),
                kernel_id=rng.choice(["k1", "k2", "k3"]),
                notebook_path=rng.choice(["a.ipynb", "b.ipynb", None]),
                experiment=rng.choice(["", "", "sweep"]),
                user=rng.choice(["ada", "bob", None]),
                attributed_j=rng.uniform(0, 500),
                status=rng.choice(["ok", "ok", "error", RUNNING]),
            )
        )
    return records


@pytest.mark.parametrize("by", ["experiment", "notebook", "day", "user", "kernel"])
def test_group_sums_equal_the_sums_of_their_runs(ledger: Ledger, by: str) -> None:
    rng = random.Random(by)
    records = random_runs(rng, 120)
    ledger.write_batch([r for r in records if r.status == RUNNING], [r for r in records if r.status != RUNNING])
    ledger.set_deleted([r.run_id for r in records[:10] if r.status != RUNNING], True)
    stored = {r.run_id: r for r in ledger.search(RunQuery(deleted="include"), limit=10000)[1]}
    records = [stored.get(r.run_id, r) for r in records]  # with their stored experiment and deletion
    queries = [
        RunQuery(),
        RunQuery(deleted="only"),
        RunQuery(visible_users=("ada",)),
        RunQuery(experiment="sweep"),
        RunQuery(q="a.ip"),  # answered from the runs, not the buckets
        # Not whole days: the buckets answer the whole days, the runs the two ends.
        RunQuery(since=T0 - 2.3 * DAY, until=T0 + 1.7 * DAY),
        RunQuery(since=T0 + 0.1 * DAY, until=T0 + 0.2 * DAY),
        RunQuery(since=T0 - 3 * DAY),
        RunQuery(until=T0),
    ]
    for query in queries:
        expected = reference_groups(records, by, query)
        answer = ledger.groups(query, by)
        got = {g["key"]: g for g in answer["groups"]}
        assert set(got) == set(expected), query
        for key, group in expected.items():
            assert got[key]["runs"] == group["runs"]
            assert got[key]["attributed_j"] == pytest.approx(group["attributed_j"])
            assert got[key]["duration_s"] == pytest.approx(group["duration_s"])
            assert got[key]["gco2e"] == pytest.approx(group["gco2e"])
            assert got[key]["cost"] == pytest.approx(group["cost"]) and got[key]["currency"] == "EUR"
            assert got[key]["last_started_at"] == group["last"]
        lasts = [g["last_started_at"] for g in answer["groups"]]
        assert lasts == sorted(lasts, reverse=True)
        assert answer["total"]["runs"] == sum(g["runs"] for g in expected.values())
        assert answer["total"]["attributed_j"] == pytest.approx(sum(g["attributed_j"] for g in expected.values()))
        assert ledger.search(query)[0] == answer["total"]["runs"]


def test_groups_follow_annotations_deletes_and_purges(ledger: Ledger) -> None:
    ledger.write_batch([], [run("a"), run("b", T0 + 1), run("c", T0 + 2, kernel_id="k2")])

    def experiments() -> dict[str, int]:
        return {e["name"]: e["runs"] for e in ledger.experiments(RunQuery())}

    assert experiments() == {"work/train.ipynb": 3}
    assert ledger.annotate(["a", "c"], experiment="sweep") == 2
    assert experiments() == {"sweep": 2, "work/train.ipynb": 1}
    assert ledger.rename_experiment("sweep", "sweep 2") == 2
    assert experiments() == {"sweep 2": 2, "work/train.ipynb": 1}
    assert ledger.set_deleted(["a"], True) == 1
    assert experiments() == {"sweep 2": 1, "work/train.ipynb": 1}
    assert ledger.empty_trash() == 1
    assert ledger.run("a") is None
    assert ledger.groups(RunQuery(deleted="include"), "kernel")["total"]["runs"] == 2


def test_costs_in_several_currencies_are_not_added(ledger: Ledger) -> None:
    ledger.write_batch([], [run("a"), run("b", impact={"gco2e": 1.0, "cost": 2.0, "currency": "USD"}), run("c")])
    total = ledger.groups(RunQuery(), "experiment")["total"]
    assert total["cost"] is None and total["currency"] is None
    assert total["costs"] == {"EUR": pytest.approx(0.2), "USD": 2.0}


def test_groups_key_must_be_known(ledger: Ledger) -> None:
    with pytest.raises(ValueError, match="by must be one of experiment, notebook, day, user, kernel"):
        ledger.groups(RunQuery(), "host")


# -- annotations --------------------------------------------------------------------------


def test_annotate_sets_and_clears(ledger: Ledger) -> None:
    ledger.write_batch([], [run("a", tags=["old"]), run("b", T0 + 1)])
    assert ledger.annotate(["a", "b"], add_tags=[" new ", "old"], note="look", metrics={"acc": 0.5, "n": 3}) == 2
    a = ledger.run("a")
    assert a is not None and a.tags == ["new", "old"] and a.note == "look" and a.metrics == {"acc": 0.5, "n": 3.0}
    assert ledger.annotate(["a"], remove_tags=["old", "absent"]) == 1
    assert ledger.annotate(["a"], metrics={"acc": 0.75}) == 1
    a = ledger.run("a")
    assert a is not None and a.tags == ["new"] and a.note == "look" and a.metrics == {"acc": 0.75}
    assert ledger.annotate(["a"], note=UNSET) == 0  # nothing to change
    assert ledger.annotate(["a"], note=None) == 1
    a = ledger.run("a")
    assert a is not None and a.note is None
    assert ledger.annotate(["missing"], note="x") == 0
    assert ledger.annotate([], note="x") == 0


def test_annotations_touch_only_visible_runs(ledger: Ledger) -> None:
    ledger.write_batch([], [run("ada1", user="ada"), run("bob1", T0 + 1, user="bob"), run("old", T0 + 2)])
    assert ledger.annotate(["ada1", "bob1", "old"], ("ada",), add_tags=["mine"]) == 2
    assert found(ledger, tags=("mine",)) == ["old", "ada1"]
    assert ledger.set_deleted(["ada1", "bob1"], True, ("ada",)) == 1
    ledger.set_deleted(["bob1"], True)
    assert ledger.empty_trash(("ada",)) == 1  # bob's trashed run stays
    assert found(ledger, deleted="only") == ["bob1"]
    assert ledger.rename_experiment("work/train.ipynb", "shared", ("ada",)) == 1
    assert {r.run_id: r.experiment for r in ledger.search(RunQuery(deleted="include"))[1]} == {
        "old": "shared",
        "bob1": "work/train.ipynb",
    }


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"experiment": ""}, "experiment name must be non-empty"),
        ({"experiment": "x" * 1025}, "at most 1024 characters"),
        ({"experiment": "a\nb"}, "line breaks"),
        ({"add_tags": [""]}, "tag must be non-empty"),
        ({"add_tags": ["x" * 65]}, "at most 64 characters"),
        ({"add_tags": "abc"}, "add_tags must be a list"),
        ({"remove_tags": [3]}, "tag must be non-empty text"),
        ({"add_tags": [f"t{i}" for i in range(33)]}, "at most 32 tags"),
        ({"note": "x" * 4001}, "at most 4000 characters"),
        ({"note": 5}, "note must be text or null"),
        ({"metrics": {"acc": math.nan}}, "must be a finite number"),
        ({"metrics": {"acc": True}}, "must be a finite number"),
        ({"metrics": {"acc": "0.9"}}, "must be a finite number"),
        ({"metrics": {"": 1.0}}, "metric name must be 1 to 64"),
        ({"metrics": {"m" * 65: 1.0}}, "metric name must be 1 to 64"),
        ({"metrics": [1.0]}, "metrics must be an object"),
    ],
)
def test_bad_annotations_are_refused_and_change_nothing(
    ledger: Ledger, arguments: dict[str, Any], message: str
) -> None:
    ledger.add_run(run("a"))
    before = ledger.run("a")
    with pytest.raises(ValueError, match=message):
        ledger.annotate(["a"], **arguments)
    assert ledger.run("a") == before


def test_thirty_two_tags_fit(ledger: Ledger) -> None:
    ledger.add_run(run("a"))
    assert ledger.annotate(["a"], add_tags=[f"t{i:02d}" for i in range(32)]) == 1
    with pytest.raises(ValueError, match="at most 32 tags"):
        ledger.annotate(["a"], add_tags=["one-more"])


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda ledger: ledger.rename_experiment("a", ""), "experiment name must be non-empty"),
        (lambda ledger: ledger.rename_experiment("a", "x" * 1025), "at most 1024"),
        (lambda ledger: ledger.rename_experiment("", "b"), "experiment to rename must be named"),
        (lambda ledger: ledger.set_deleted(["a"], "yes"), "deleted must be true or false"),
        (lambda ledger: ledger.set_deleted(["a", "a"], True), "more than once"),
        (lambda ledger: ledger.set_deleted([""], True), "non-empty text"),
        (lambda ledger: ledger.empty_trash("ada"), "visible_users must be"),
    ],
)
def test_bad_changes_are_refused(ledger: Ledger, call: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        call(ledger)


def test_renaming_to_the_same_name_counts_its_runs(ledger: Ledger) -> None:
    ledger.write_batch([], [run("a"), run("b", T0 + 1)])
    assert ledger.rename_experiment("work/train.ipynb", "work/train.ipynb") == 2
    assert ledger.rename_experiment("absent", "x") == 0


def test_a_crashed_execution_closed_later_is_counted_and_searchable(ledger: Ledger) -> None:
    started = run("a", status=RUNNING, code_preview="crash_me()")
    ledger.write_batch([started], [])
    assert found(ledger, q="crash_me") == []
    assert ledger.groups(RunQuery(), "kernel")["total"]["runs"] == 0
    assert ledger.close_unfinished([started], "server-crash") == 1
    assert found(ledger, q="crash_me") == ["a"]
    assert ledger.groups(RunQuery(), "kernel")["total"]["runs"] == 1
