"""The ledger's REST endpoints through a real Jupyter server, on SQLite and on PostgreSQL.

The server's user is alice; the ledger also holds bob's runs and runs of no known user (as
recorded before users were), so every endpoint is checked to show and change only what alice
may, unless the team view is on.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from tornado.httpclient import HTTPClientError
from tornado.websocket import WebSocketClientConnection

from jupyterlab_carbon.handlers import NAMESPACE
from jupyterlab_carbon.ledger import Ledger, store
from jupyterlab_carbon.records import ChannelEnergy, RunRecord

from .conftest import server_config
from .fakesysfs import FakePowercap
from .test_ledger import make_record

DAY = 86400.0
T0 = 1_700_000_000.0  # 2023-11-14 22:13:20 UTC
TRACE = {"t": [0.0, 1.0, 2.0], "w": [10.0, 12.5, 11.0]}


def rid(n: int) -> str:
    return f"{n:032x}"


MODELED = ChannelEnergy("cpu/model", "CPU (modeled)", "cpu", "modeled", 5.0, 1.0, 5.0, 1.0, 4.0)

# alice: 1 to 4; bob: 5 and 6; nobody known: 7. Two notebooks, two experiments, tags, flags.
SEED: list[RunRecord] = [
    make_record(rid(1), user="alice", experiment="baseline", tags=["cnn", "gpu"], started_at=T0,
                ended_at=T0 + 10, attributed_j=100.0, notebook_path="a.ipynb", trace=TRACE,
                code_preview="train_resnet(epochs=3)", metrics={"accuracy": 0.9}),
    make_record(rid(2), user="alice", experiment="baseline", tags=["cnn"], started_at=T0 + 100,
                ended_at=T0 + 130, attributed_j=300.0, notebook_path="a.ipynb", flags=["sampling-gap"]),
    make_record(rid(3), user="alice", experiment="tuned", tags=[], started_at=T0 + DAY,
                ended_at=T0 + DAY + 5, attributed_j=50.0, notebook_path="b.ipynb", kernel_id="k2",
                channels=[MODELED], methods=["modeled"], status="error", flags=["errored"]),
    make_record(rid(4), user="alice", experiment="tuned", started_at=T0 + DAY + 100,
                ended_at=T0 + DAY + 101, attributed_j=1.0, notebook_path="b.ipynb", source="imported",
                impact=None),
    make_record(rid(5), user="bob", experiment="baseline", started_at=T0 + 50, ended_at=T0 + 60,
                attributed_j=1000.0, notebook_path="a.ipynb"),
    make_record(rid(6), user="bob", experiment="secret", started_at=T0 + 2 * DAY,
                ended_at=T0 + 2 * DAY + 1, attributed_j=2.0, notebook_path="c.ipynb"),
    make_record(rid(7), user=None, experiment="legacy", started_at=T0 - DAY, ended_at=T0 - DAY + 2,
                attributed_j=7.0, notebook_path="old.ipynb"),
]
ALICE_SEES = [rid(4), rid(3), rid(2), rid(1), rid(7)]  # newest first


@pytest.fixture(params=[False, True], ids=["own", "team"])
def team_view(request: pytest.FixtureRequest) -> bool:
    return bool(request.param)


@pytest.fixture
def jp_server_config(
    tmp_path: Path, live_powercap: FakePowercap, ledger_url: str, request: pytest.FixtureRequest
) -> dict[str, Any]:
    team = request.getfixturevalue("team_view") if "team_view" in request.fixturenames else False
    return server_config(tmp_path, live_powercap, ledger_url=ledger_url, user="alice", team_view=team)


@pytest.fixture
def ledger(jp_serverapp: Any) -> Ledger:
    """The server's ledger, seeded."""
    opened: Ledger = jp_serverapp.web_app.settings["jupyterlab_carbon"]["ledger"]
    opened.write_batch([], SEED)
    return opened


def query(params: dict[str, Any]) -> list[tuple[str, str]]:
    """Query pairs; a list value repeats its parameter (``tag=a&tag=b``)."""
    pairs = [(name, values) for name, values in params.items() if not isinstance(values, list)]
    return pairs + [(name, value) for name, values in params.items() if isinstance(values, list) for value in values]


def payload(verb: str, body: Any) -> str | None:
    """The body to send: JSON, or a string as it is; tornado sends a POST or PATCH with a body."""
    if body is None:
        return None if verb == "GET" else ""
    return body if isinstance(body, str) else json.dumps(body)


async def call(jp_fetch: Any, *path: str, verb: str = "GET", body: Any = None, **params: Any) -> Any:
    """A successful call's JSON; ``params`` are the query's."""
    response = await jp_fetch(NAMESPACE, *path, method=verb, body=payload(verb, body), params=query(params))
    assert response.code == 200
    return json.loads(response.body)


async def refused(jp_fetch: Any, *path: str, verb: str = "GET", body: Any = None, **params: Any) -> tuple[int, str]:
    """A refused call's status and message."""
    with pytest.raises(HTTPClientError) as refusal:
        await jp_fetch(NAMESPACE, *path, method=verb, body=payload(verb, body), params=query(params))
    error = json.loads(refusal.value.response.body)
    assert error["code"] == refusal.value.code
    return refusal.value.code, str(error["message"])


async def ids(jp_fetch: Any, **params: Any) -> list[str]:
    page = await call(jp_fetch, "runs", **params)
    return [run["run_id"] for run in page["runs"]]


# -- status ----------------------------------------------------------------------------------


async def test_status_says_who_and_where(jp_fetch: Any, ledger_url: str, team_view: bool) -> None:
    status = await call(jp_fetch, "status")
    backend = "sqlite" if ledger_url.startswith("sqlite") else "postgresql"
    assert status["ledger"] == {"team_view": team_view, "user": "alice", "backend": backend}


# -- GET runs --------------------------------------------------------------------------------


async def test_the_list_shows_the_users_runs_or_everyones(jp_fetch: Any, ledger: Ledger, team_view: bool) -> None:
    page = await call(jp_fetch, "runs")
    expected = [rid(n) for n in (6, 4, 3, 2, 5, 1, 7)] if team_view else ALICE_SEES
    assert [run["run_id"] for run in page["runs"]] == expected
    assert page["total"] == len(expected)
    assert all("trace" not in run for run in page["runs"])  # pages stay small
    assert await ids(jp_fetch, user="bob") == ([rid(6), rid(5)] if team_view else [])


FILTERS: list[tuple[dict[str, Any], list[int]]] = [
    ({"q": "TRAIN_RES"}, [1]),  # the code preview, case-insensitively
    ({"q": "tuned"}, [4, 3]),  # the experiment
    ({"q": "b.ipy"}, [4, 3]),  # the notebook
    ({"notebook_path": "a.ipynb"}, [2, 1]),
    ({"experiment": "baseline"}, [2, 1]),
    ({"tag": ["cnn", "gpu"]}, [1]),  # every tag given
    ({"tag": "cnn"}, [2, 1]),
    ({"kernel_id": "k2"}, [3]),
    ({"since": str(T0 + 100), "until": str(T0 + DAY + 100)}, [3, 2]),  # since <= t < until
    ({"method": "modeled"}, [3]),
    ({"method": "measured"}, [4, 2, 1, 7]),
    ({"flag": "errored"}, [3]),
    ({"status": "error"}, [3]),
    ({"source": "imported"}, [4]),
    ({"sort": "energy"}, [2, 1, 3, 7, 4]),
    ({"sort": "energy", "order": "asc"}, [4, 7, 3, 1, 2]),
    ({"sort": "duration_s", "limit": "2"}, [2, 1]),
    ({"limit": "2", "offset": "1"}, [3, 2]),
]


async def test_filters_sort_and_pages(jp_fetch: Any, ledger: Ledger) -> None:
    for params, expected in FILTERS:
        assert await ids(jp_fetch, **params) == [rid(n) for n in expected], params


async def test_the_total_counts_every_match_not_the_page(jp_fetch: Any, ledger: Ledger) -> None:
    page = await call(jp_fetch, "runs", limit="1")
    assert page["total"] == len(ALICE_SEES) and len(page["runs"]) == 1
    assert page["total_is_lower_bound"] is False


async def test_a_total_counted_to_its_cap_says_it_is_a_lower_bound(
    jp_fetch: Any, ledger: Ledger, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(store, "COUNT_CAP", 2)
    page = await call(jp_fetch, "runs", q="ipynb", limit="1")  # every run alice sees matches
    assert (page["total"], page["total_is_lower_bound"], len(page["runs"])) == (2, True, 1)
    page = await call(jp_fetch, "runs", q="ipynb", limit="2", offset="2")  # counts what it saw
    assert (page["total"], page["total_is_lower_bound"]) == (4, True)
    page = await call(jp_fetch, "runs", q="ipynb", limit="100")  # a short page is exact
    assert (page["total"], page["total_is_lower_bound"]) == (len(ALICE_SEES), False)
    page = await call(jp_fetch, "runs", limit="1")  # the bucket sums count past the cap
    assert (page["total"], page["total_is_lower_bound"]) == (len(ALICE_SEES), False)


BAD_PAGES: list[tuple[dict[str, Any], str]] = [
    ({"sort": "name"}, "sort"),
    ({"order": "up"}, "order"),
    ({"limit": "0"}, "limit"),
    ({"limit": "10001"}, "limit"),
    ({"offset": "-1"}, "offset"),
    ({"offset": ""}, "offset"),
]
BAD_FILTERS: list[tuple[dict[str, Any], str]] = [
    ({"since": "yesterday"}, "since"),
    ({"until": "1e999"}, "until"),
    ({"method": "guessed"}, "method"),
    ({"deleted": "yes"}, "deleted"),
    ({"source": "elsewhere"}, "source"),
    ({"q": "x" * 1001}, "q"),
    ({"notebook_path": "a\x00b"}, "notebook_path"),
    ({"experiment": "line\nbreak"}, "experiment"),
    ({"tag": "t" * 65}, "tag"),
    ({"tag": [f"t{i}" for i in range(33)]}, "tag"),
    ({"flag": "\x7f"}, "flag"),
]


async def test_bad_filters_are_a_400_naming_them(jp_fetch: Any) -> None:
    for params, name in BAD_PAGES:
        status, message = await refused(jp_fetch, "runs", **params)
        assert status == 400 and f"'{name}'" in message, message
    for params, name in BAD_FILTERS:
        for path in (("runs",), ("runs", "groups"), ("experiments",)):
            extra = {"by": "day"} if path == ("runs", "groups") else {}
            status, message = await refused(jp_fetch, *path, **params, **extra)
            assert status == 400 and f"'{name}'" in message, (path, message)


# -- one run ---------------------------------------------------------------------------------


async def test_one_run_comes_with_its_trace(jp_fetch: Any, ledger: Ledger) -> None:
    run = await call(jp_fetch, "runs", rid(1))
    assert run["trace"] == TRACE and run["user"] == "alice" and run["metrics"] == {"accuracy": 0.9}
    assert (await call(jp_fetch, "runs", rid(7)))["user"] is None  # no known user: everyone's


async def test_another_users_run_is_not_found_without_the_team_view(
    jp_fetch: Any, ledger: Ledger, team_view: bool
) -> None:
    if team_view:
        assert (await call(jp_fetch, "runs", rid(5)))["user"] == "bob"
    else:
        assert (await refused(jp_fetch, "runs", rid(5)))[0] == 404
        assert (await refused(jp_fetch, "runs", rid(5), verb="PATCH", body={"note": "mine now"}))[0] == 404
        assert ledger.run(rid(5)).note is None  # type: ignore[union-attr]


async def test_patch_changes_what_it_names(jp_fetch: Any, ledger: Ledger) -> None:
    body = {"experiment": "final", "tags": ["gpu", "best"], "note": "line one\nline two", "metrics": {"loss": 0.1}}
    run = await call(jp_fetch, "runs", rid(1), verb="PATCH", body=body)
    assert run["experiment"] == "final" and run["tags"] == ["best", "gpu"]  # the list replaces the tags
    assert run["note"] == "line one\nline two" and run["metrics"]["loss"] == 0.1
    assert "trace" not in run
    assert (await call(jp_fetch, "runs", rid(1), verb="PATCH", body={"note": None}))["note"] is None
    stored = ledger.run(rid(1))
    assert stored is not None and stored.experiment == "final" and stored.note is None


BAD_PATCHES: list[tuple[dict[str, Any], str]] = [
    ({"experiment": ""}, "experiment"),
    ({"experiment": "   "}, "experiment"),
    ({"experiment": "x" * 1025}, "experiment"),
    ({"experiment": 3}, "experiment"),
    ({"tags": "cnn"}, "tags"),
    ({"tags": [""]}, "tags"),
    ({"tags": ["t" * 65]}, "tags"),
    ({"tags": [f"t{i}" for i in range(33)]}, "tags"),
    ({"note": "n" * 4001}, "note"),
    ({"note": "nul\x00"}, "note"),
    ({"note": 5}, "note"),
    ({"metrics": {"acc": "high"}}, "metrics"),
    ({"metrics": {"acc": True}}, "metrics"),
    ({"metrics": {"": 1.0}}, "metrics"),
    ({"metrics": {"acc": 10**400}}, "metrics"),
    ({"metrics": [1.0]}, "metrics"),
    # Lone surrogates (JSON escapes such as \ud800 without their pair): no UTF-8 text holds them.
    ({"metrics": {"\ud800": 1.0}}, "metrics"),
    ({"experiment": "run \udc00"}, "experiment"),
    ({"tags": ["\ud800"]}, "tags"),
    ({"note": "\ud800"}, "note"),
    ({"colour": "red"}, "colour"),
]


async def test_bad_patches_are_a_400_naming_the_field(jp_fetch: Any, ledger: Ledger) -> None:
    for body, field in BAD_PATCHES:
        status, message = await refused(jp_fetch, "runs", rid(1), verb="PATCH", body=body)
        assert status == 400 and f"'{field}'" in message, message
    assert ledger.run(rid(1), with_trace=True) == SEED[0]  # nothing changed


async def test_concurrent_tag_replacements_never_mix(jp_fetch: Any, ledger: Ledger) -> None:
    """Each PATCH's list replaces the tags in one write: 30 at once all succeed, and the run
    ends with exactly one of the lists sent (a read-then-change would mix them, or pass 32)."""
    sent = [[f"p{i}", f"q{i}"] for i in range(30)]
    runs = await asyncio.gather(*(call(jp_fetch, "runs", rid(1), verb="PATCH", body={"tags": t}) for t in sent))
    assert all(run["tags"] in sent for run in runs)
    stored = ledger.run(rid(1))
    assert stored is not None and stored.tags in sent


async def test_a_patch_without_a_change_is_a_400(jp_fetch: Any, ledger: Ledger) -> None:
    for body in ("", "{}", "[]", "null", "{bad json"):
        assert (await refused(jp_fetch, "runs", rid(1), verb="PATCH", body=body))[0] == 400, body


async def test_unknown_and_malformed_run_ids_are_a_404(jp_fetch: Any, ledger: Ledger) -> None:
    for run_id in (rid(99), "not-a-run"):
        assert (await refused(jp_fetch, "runs", run_id))[0] == 404
        assert (await refused(jp_fetch, "runs", run_id, verb="PATCH", body={"note": "x"}))[0] == 404


# -- many runs at once -----------------------------------------------------------------------


async def test_annotate_changes_only_the_runs_this_server_shows(
    jp_fetch: Any, ledger: Ledger, team_view: bool
) -> None:
    body = {"run_ids": [rid(1), rid(2), rid(5)], "add_tags": ["paper"], "remove_tags": ["cnn"], "experiment": "v2"}
    answer = await call(jp_fetch, "runs", "annotate", verb="POST", body=body)
    assert answer == {"updated": 3 if team_view else 2}
    for n in (1, 2):
        run = ledger.run(rid(n))
        assert run is not None and run.experiment == "v2" and "paper" in run.tags and "cnn" not in run.tags
    bobs = ledger.run(rid(5))
    assert bobs is not None and (bobs.experiment == "v2") is team_view


BAD_ANNOTATIONS: list[tuple[dict[str, Any], str]] = [
    ({"experiment": "x"}, "run_ids"),
    ({"run_ids": [], "experiment": "x"}, "run_ids"),
    ({"run_ids": ["r1"], "experiment": "x"}, "run_ids"),
    ({"run_ids": [rid(1), rid(1)], "experiment": "x"}, "run_ids"),
    ({"run_ids": [rid(n) for n in range(1001)], "experiment": "x"}, "run_ids"),  # a client sends batches
    ({"run_ids": rid(1), "experiment": "x"}, "run_ids"),
    ({"run_ids": [rid(1)]}, "experiment"),  # nothing to change: the message names what can be
    ({"run_ids": [rid(1)], "add_tags": [7]}, "add_tags"),
    ({"run_ids": [rid(1)], "remove_tags": "cnn"}, "remove_tags"),
    ({"run_ids": [rid(1)], "note": ["a"]}, "note"),
    ({"run_ids": [rid(1)], "metrics": {}}, "metrics"),  # PATCH sets metrics, not annotate
]


async def test_bad_annotations_are_a_400_naming_the_field(jp_fetch: Any) -> None:
    for body, field in BAD_ANNOTATIONS:
        status, message = await refused(jp_fetch, "runs", "annotate", verb="POST", body=body)
        assert status == 400 and f"'{field}'" in message, message


async def test_delete_restore_and_empty_the_trash(jp_fetch: Any, ledger: Ledger, team_view: bool) -> None:
    body = {"run_ids": [rid(1), rid(2), rid(5)]}
    visible = 3 if team_view else 2
    assert await call(jp_fetch, "runs", "delete", verb="POST", body=body) == {"deleted": visible}
    assert rid(1) not in await ids(jp_fetch)
    assert await ids(jp_fetch, deleted="only") == ([rid(2), rid(5), rid(1)] if team_view else [rid(2), rid(1)])
    assert len(await ids(jp_fetch, deleted="include")) == (7 if team_view else 5)
    assert await call(jp_fetch, "runs", "restore", verb="POST", body={"run_ids": [rid(2)]}) == {"restored": 1}
    assert await call(jp_fetch, "trash", "empty", verb="POST") == {"purged": visible - 1}
    assert ledger.run(rid(1)) is None and ledger.run(rid(2)) is not None
    assert (ledger.run(rid(5)) is None) is team_view  # bob's run stays in his trash


async def test_runs_in_the_trash_are_still_found_by_id(jp_fetch: Any, ledger: Ledger) -> None:
    await call(jp_fetch, "runs", "delete", verb="POST", body={"run_ids": [rid(3)]})
    run = await call(jp_fetch, "runs", rid(3))
    assert run["deleted_at"] is not None


async def test_bad_delete_bodies_are_a_400(jp_fetch: Any) -> None:
    for path in ("delete", "restore"):
        for body in ({}, {"run_ids": []}, {"run_ids": [rid(1)], "force": True}, [rid(1)]):
            status, message = await refused(jp_fetch, "runs", path, verb="POST", body=body)
            assert status == 400 and ("run_ids" in message or "force" in message), message


async def test_emptying_the_trash_takes_no_body(jp_fetch: Any) -> None:
    status, message = await refused(jp_fetch, "trash", "empty", verb="POST", body='{"all": true}')
    assert status == 400 and "no body" in message


async def test_a_body_over_the_limit_is_a_413(jp_fetch: Any) -> None:
    body = json.dumps({"run_ids": ["0" * 32] * 40000})  # 1.4 MB of run ids, over the 256 KiB limit
    assert (await refused(jp_fetch, "runs", "delete", verb="POST", body=body))[0] == 413


# -- compare ---------------------------------------------------------------------------------


async def test_compare_keeps_the_order_and_the_traces(jp_fetch: Any, ledger: Ledger) -> None:
    answer = await call(jp_fetch, "runs", "compare", verb="POST", body={"run_ids": [rid(2), rid(1)]})
    assert [run["run_id"] for run in answer["runs"]] == [rid(2), rid(1)]
    assert answer["runs"][1]["trace"] == TRACE


async def test_compare_refuses_what_it_cannot_show(jp_fetch: Any, ledger: Ledger, team_view: bool) -> None:
    for body in ({"run_ids": [rid(1)]}, {"run_ids": [rid(n) for n in range(51)]}, {"run_ids": [rid(1), rid(1)]}):
        assert (await refused(jp_fetch, "runs", "compare", verb="POST", body=body))[0] == 400
    status, message = await refused(jp_fetch, "runs", "compare", verb="POST", body={"run_ids": [rid(1), rid(99)]})
    assert status == 404 and rid(99) in message
    others = {"run_ids": [rid(1), rid(5)]}
    if team_view:
        assert len((await call(jp_fetch, "runs", "compare", verb="POST", body=others))["runs"]) == 2
    else:
        assert (await refused(jp_fetch, "runs", "compare", verb="POST", body=others))[0] == 404


# -- groups and experiments ------------------------------------------------------------------


async def test_groups_per_experiment_with_a_total(jp_fetch: Any, ledger: Ledger) -> None:
    answer = await call(jp_fetch, "runs", "groups", by="experiment")
    groups = {group["key"]: group for group in answer["groups"]}
    assert [group["key"] for group in answer["groups"]] == ["tuned", "baseline", "legacy"]  # last run first
    assert groups["baseline"]["runs"] == 2 and groups["baseline"]["attributed_j"] == pytest.approx(400.0)
    assert groups["baseline"]["duration_s"] == pytest.approx(40.0)
    assert answer["total"]["runs"] == 5 and answer["total"]["attributed_j"] == pytest.approx(458.0)


async def test_groups_per_day_are_utc_dates(jp_fetch: Any, ledger: Ledger) -> None:
    answer = await call(jp_fetch, "runs", "groups", by="day")
    assert [(g["key"], g["runs"]) for g in answer["groups"]] == [
        ("2023-11-15", 2),
        ("2023-11-14", 2),
        ("2023-11-13", 1),
    ]


async def test_per_person_totals_in_the_team_view(jp_fetch: Any, ledger: Ledger, team_view: bool) -> None:
    answer = await call(jp_fetch, "runs", "groups", by="user")
    runs = {group["key"]: group["runs"] for group in answer["groups"]}
    assert runs == ({"alice": 4, "bob": 2, "": 1} if team_view else {"alice": 4, "": 1})


@pytest.mark.parametrize("by", ["notebook", "kernel"])
async def test_groups_by_notebook_and_kernel(jp_fetch: Any, ledger: Ledger, by: str) -> None:
    answer = await call(jp_fetch, "runs", "groups", by=by, experiment="tuned")
    assert [g["key"] for g in answer["groups"]] == (["b.ipynb"] if by == "notebook" else ["k1", "k2"])


async def test_groups_need_a_known_grouping(jp_fetch: Any) -> None:
    for params in ({}, {"by": "colour"}):
        status, message = await refused(jp_fetch, "runs", "groups", **params)
        assert status == 400 and "'by'" in message


async def test_experiments_and_their_rename(jp_fetch: Any, ledger: Ledger, team_view: bool) -> None:
    listed = (await call(jp_fetch, "experiments"))["experiments"]
    names = {e["name"]: e for e in listed}
    assert set(names) == ({"baseline", "tuned", "legacy", "secret"} if team_view else {"baseline", "tuned", "legacy"})
    assert names["baseline"]["runs"] == (3 if team_view else 2)
    answer = await call(jp_fetch, "experiments", "rename", verb="POST", body={"from": "baseline", "to": "resnet"})
    assert answer == {"updated": 3 if team_view else 2}
    bobs = ledger.run(rid(5))
    assert bobs is not None and (bobs.experiment == "resnet") is team_view


BAD_RENAMES: list[tuple[dict[str, Any], str]] = [
    ({"from": "baseline", "to": ""}, "to"),
    ({"from": "baseline", "to": "x" * 1025}, "to"),
    ({"from": "baseline", "to": "two\nlines"}, "to"),
    ({"from": "", "to": "x"}, "from"),
    ({"to": "x"}, "from"),
    ({"from": "baseline", "to": "x", "also": 1}, "also"),
]


async def test_bad_renames_are_a_400_naming_the_field(jp_fetch: Any) -> None:
    for body, field in BAD_RENAMES:
        status, message = await refused(jp_fetch, "experiments", "rename", verb="POST", body=body)
        assert status == 400 and f"'{field}'" in message, message


# -- events ----------------------------------------------------------------------------------


async def next_change(socket: WebSocketClientConnection) -> dict[str, Any]:
    """The next runs-changed message (power messages come and go meanwhile)."""
    while True:
        text = await asyncio.wait_for(socket.read_message(), 10)
        assert text is not None, "the socket closed"
        message = json.loads(text)
        if message["type"] == "runs-changed":
            return dict(message)


async def test_every_change_is_announced(jp_fetch: Any, jp_ws_fetch: Any, ledger: Ledger) -> None:
    socket = await jp_ws_fetch(NAMESPACE, "events")
    try:
        await call(jp_fetch, "runs", rid(1), verb="PATCH", body={"note": "n"})
        assert await next_change(socket) == {"type": "runs-changed", "run_ids": [rid(1)]}
        pair = [rid(2), rid(3)]
        for path, body in (("annotate", {"run_ids": pair, "add_tags": ["x"]}), ("delete", {"run_ids": pair}),
                           ("restore", {"run_ids": pair})):
            await call(jp_fetch, "runs", path, verb="POST", body=body)
            assert (await next_change(socket))["run_ids"] == pair, path
        await call(jp_fetch, "experiments", "rename", verb="POST", body={"from": "tuned", "to": "t2"})
        assert (await next_change(socket))["run_ids"] == []  # any run may have changed
    finally:
        socket.close()
