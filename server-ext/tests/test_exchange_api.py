"""GET/POST runs/export and POST runs/import through a real Jupyter server, on SQLite and on PostgreSQL.

The server's user is alice; the ledger also holds bob's runs, which she must never export.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
from pathlib import Path
from typing import Any

import pytest
from jupyter_server.utils import url_path_join
from tornado.httpclient import HTTPClientError, HTTPResponse

from jupyterlab_carbon.handlers import NAMESPACE, exchange
from jupyterlab_carbon.intensity.impact import compute_impact
from jupyterlab_carbon.ledger import Ledger, RunQuery
from jupyterlab_carbon.ledger.codecarbon import EXPORT_COLUMNS

from .conftest import server_config
from .fakesysfs import FakePowercap
from .test_codecarbon import CODECARBON_3_3_HEADER, codecarbon_file, intensity, one_run
from .test_ledger import make_record

T0 = 1_700_000_000.0


def rid(n: int) -> str:
    return f"{n:032x}"


# 120.5 J (make_record's energy) in California, PUE 1.2.
IMPACT = compute_impact(120.5, intensity(), 0.25, "EUR").to_json()
# alice: 1 to 3 (oldest first: 3, 1, 2); bob: 4; nobody known: 5.
SEED = [
    make_record(
        rid(1), user="alice", experiment="baseline", started_at=T0 + 10, ended_at=T0 + 20, tags=["cnn"], impact=IMPACT
    ),
    make_record(rid(2), user="alice", experiment="baseline", started_at=T0 + 30, ended_at=T0 + 40, impact=IMPACT),
    make_record(rid(3), user="alice", experiment="tuned", started_at=T0, ended_at=T0 + 5),
    make_record(rid(4), user="bob", experiment="baseline", started_at=T0 + 15, ended_at=T0 + 16),
    make_record(rid(5), user=None, experiment="legacy", started_at=T0 - 100, ended_at=T0 - 90),
]


@pytest.fixture
def jp_server_config(tmp_path: Path, live_powercap: FakePowercap, ledger_url: str) -> dict[str, Any]:
    return server_config(tmp_path, live_powercap, ledger_url=ledger_url, user="alice")


@pytest.fixture
def ledger(jp_serverapp: Any) -> Ledger:
    """The server's ledger, seeded."""
    opened: Ledger = jp_serverapp.web_app.settings["jupyterlab_carbon"]["ledger"]
    opened.write_batch([], SEED)
    return opened


async def export(jp_fetch: Any, verb: str = "GET", body: Any = None, **params: Any) -> HTTPResponse:
    payload = None if body is None else json.dumps(body)
    response: HTTPResponse = await jp_fetch(
        NAMESPACE, "runs", "export", method=verb, body=payload, params=params or None
    )
    assert response.code == 200
    return response


def csv_table(response: HTTPResponse) -> list[dict[str, str]]:
    assert response.headers["Content-Type"].startswith("text/csv")
    assert response.headers["Content-Disposition"] == 'attachment; filename="emissions.csv"'
    text = response.body.decode()
    header = next(csv.reader(io.StringIO(text)))
    assert header[:38] == CODECARBON_3_3_HEADER
    assert header == list(EXPORT_COLUMNS)
    return list(csv.DictReader(io.StringIO(text)))


async def upload(jp_fetch: Any, data: bytes, **params: Any) -> HTTPResponse:
    response: HTTPResponse = await jp_fetch(
        NAMESPACE,
        "runs",
        "import",
        method="POST",
        body=data,
        headers={"Content-Type": "text/csv"},
        params=params or None,
    )
    return response


async def refused_import(jp_fetch: Any, data: bytes) -> tuple[int, str]:
    with pytest.raises(HTTPClientError) as refusal:
        await upload(jp_fetch, data)
    assert refusal.value.response is not None
    assert refusal.value.response.headers["Content-Type"].startswith("application/json")
    error = json.loads(refusal.value.response.body)
    assert error["code"] == refusal.value.code
    return refusal.value.code, str(error["message"])


def imported_count(ledger: Ledger) -> int:
    total, _ = ledger.search(RunQuery(source="imported"), limit=1)
    return total


# -- export ----------------------------------------------------------------------------------


async def test_csv_export_of_the_filtered_runs_oldest_first(jp_fetch: Any, ledger: Ledger) -> None:
    rows = csv_table(await export(jp_fetch, experiment="baseline"))
    assert [row["ledger_run_id"] for row in rows] == [rid(1), rid(2)]  # not bob's run 4
    assert rows[0]["project_name"] == rows[0]["experiment"] == "baseline"
    assert json.loads(rows[0]["tags"]) == ["cnn"]
    assert float(rows[0]["duration"]) == 10.0
    everything = csv_table(await export(jp_fetch, format="csv"))
    assert [row["ledger_run_id"] for row in everything] == [rid(5), rid(3), rid(1), rid(2)]


async def test_json_export(jp_fetch: Any, ledger: Ledger) -> None:
    response = await export(jp_fetch, format="json", experiment="tuned")
    assert response.headers["Content-Type"].startswith("application/json")
    assert response.headers["Content-Disposition"] == 'attachment; filename="runs.json"'
    runs = json.loads(response.body)
    assert [run["run_id"] for run in runs] == [rid(3)]
    assert runs[0]["experiment"] == "tuned" and "trace" not in runs[0]
    assert json.loads((await export(jp_fetch, format="json", experiment="nothing")).body) == []


async def test_a_stored_lone_surrogate_does_not_cut_the_export(jp_fetch: Any, ledger: Ledger) -> None:
    """A run stored before the API refused lone surrogates (here a metric name) is exported with
    "?" in their place: every run arrives, rather than the file stopping there after its 200."""
    ledger.write_batch([], [make_record(rid(6), user="alice", started_at=T0 + 50, ended_at=T0 + 60,
                                        metrics={"acc\ud800": 1.0})])  # fmt: skip
    rows = csv_table(await export(jp_fetch))
    assert [row["ledger_run_id"] for row in rows] == [rid(5), rid(3), rid(1), rid(2), rid(6)]
    assert json.loads(rows[-1]["metrics"]) == {"acc?": 1.0}


async def test_an_empty_export_is_the_header_alone(jp_fetch: Any, ledger: Ledger) -> None:
    assert csv_table(await export(jp_fetch, experiment="nothing")) == []


async def test_export_of_the_runs_given_in_their_order(jp_fetch: Any, ledger: Ledger) -> None:
    rows = csv_table(await export(jp_fetch, verb="POST", body={"run_ids": [rid(2), rid(3), rid(1)]}))
    assert [row["ledger_run_id"] for row in rows] == [rid(2), rid(3), rid(1)]
    runs = json.loads((await export(jp_fetch, verb="POST", body={"format": "json", "run_ids": [rid(5)]})).body)
    assert [run["run_id"] for run in runs] == [rid(5)]


@pytest.mark.parametrize(
    ("body", "code", "message"),
    [
        (
            {"run_ids": [rid(1), rid(4)]},
            404,
            f"No such run (or not yours to see): {rid(4)}",
        ),  # bob's: not shown to alice
        ({"run_ids": [rid(1), rid(99)]}, 404, f"No such run (or not yours to see): {rid(99)}"),
        ({"format": "xlsx", "run_ids": [rid(1)]}, 400, "'format' must be one of csv, json"),
        ({"run_ids": []}, 400, "'run_ids' must be a list"),
        ({"format": "csv"}, 400, "lacks 'run_ids'"),
    ],
)
async def test_a_bad_export_request(jp_fetch: Any, ledger: Ledger, body: Any, code: int, message: str) -> None:
    with pytest.raises(HTTPClientError) as refusal:
        await export(jp_fetch, verb="POST", body=body)
    assert refusal.value.code == code
    assert refusal.value.response is not None
    assert message in json.loads(refusal.value.response.body)["message"]


async def test_a_bad_filter_is_a_json_400(jp_fetch: Any, ledger: Ledger) -> None:
    for params in ({"format": "xml"}, {"since": "yesterday"}, {"method": "guessed"}):
        with pytest.raises(HTTPClientError) as refusal:
            await export(jp_fetch, **params)
        assert refusal.value.code == 400, params
        assert refusal.value.response is not None
        assert refusal.value.response.headers["Content-Type"].startswith("application/json")


async def test_a_large_export_is_read_and_sent_a_page_at_a_time(
    jp_fetch: Any, ledger: Ledger, monkeypatch: pytest.MonkeyPatch
) -> None:
    many = [make_record(rid(100 + n), user="alice", experiment="many", started_at=T0 + n) for n in range(11)]
    ledger.write_batch([], many)
    pages: list[tuple[int, int]] = []
    search = ledger.search

    def recorded_search(query: RunQuery, **page: Any) -> Any:
        pages.append((page["limit"], page["offset"]))
        return search(query, **page)

    monkeypatch.setattr(exchange, "EXPORT_PAGE", 4)
    monkeypatch.setattr(ledger, "search", recorded_search)
    rows = csv_table(await export(jp_fetch, experiment="many"))
    assert [row["ledger_run_id"] for row in rows] == [record.run_id for record in many]
    assert pages == [(4, 0), (4, 4), (4, 8)]
    runs = json.loads((await export(jp_fetch, format="json", experiment="many")).body)
    assert [run["run_id"] for run in runs] == [record.run_id for record in many]
    # Runs given by id are read a few at a time too, in the order given.
    monkeypatch.setattr(exchange, "COMPARE_MAX", 5)
    given = [record.run_id for record in reversed(many)]  # 5 + 5 + 1
    for export_format in ("csv", "json"):
        response = await export(jp_fetch, verb="POST", body={"format": export_format, "run_ids": given})
        if export_format == "csv":
            assert [row["ledger_run_id"] for row in csv_table(response)] == given
        else:
            assert [run["run_id"] for run in json.loads(response.body)] == given


# -- import ----------------------------------------------------------------------------------


async def test_import_a_codecarbon_file(jp_fetch: Any, jp_ws_fetch: Any, ledger: Ledger) -> None:
    data = codecarbon_file(CODECARBON_3_3_HEADER, [one_run(), one_run(energy_consumed="0.6", emissions="0.03")])
    socket = await jp_ws_fetch(NAMESPACE, "events")
    try:
        response = await upload(jp_fetch, data)
        answer = json.loads(response.body)
        assert answer["imported"] == 2 and answer["experiment"] == "training"
        while (message := json.loads(await asyncio.wait_for(socket.read_message(), 10)))["type"] != "runs-changed":
            pass
        assert message["run_ids"] == answer["run_ids"]
    finally:
        socket.close()
    total, found = ledger.search(RunQuery(source="imported", visible_users=("alice",)))
    assert total == 2
    assert sorted(run.run_id for run in found) == sorted(answer["run_ids"])
    runs = sorted(found, key=lambda run: run.attributed_j)  # the rows start at the same time
    assert all(run.user == "alice" and "imported" in run.flags and run.source == "imported" for run in runs)
    assert runs[1].attributed_j == pytest.approx(0.6 * 3.6e6)
    assert runs[1].impact is not None and runs[1].impact["gco2e"] == pytest.approx(30.0)
    assert runs[0].extra["codecarbon"]["cpu_model"] == "AMD Ryzen 7 PRO 7840U"


async def test_the_experiment_parameter_files_every_run(jp_fetch: Any, ledger: Ledger) -> None:
    data = codecarbon_file(CODECARBON_3_3_HEADER, [one_run(), one_run(project_name="other")])
    answer = json.loads((await upload(jp_fetch, data, experiment="from laptop")).body)
    assert answer["experiment"] == "from laptop"
    total, _ = ledger.search(RunQuery(experiment="from laptop"), limit=1)
    assert total == 2
    mixed = json.loads((await upload(jp_fetch, data)).body)
    assert mixed["experiment"] is None  # the rows name two experiments


async def test_round_trip_through_the_api(jp_fetch: Any, ledger: Ledger) -> None:
    exported = (await export(jp_fetch, experiment="baseline")).body
    answer = json.loads((await upload(jp_fetch, exported)).body)
    assert answer["imported"] == 2
    _, copies = ledger.search(RunQuery(source="imported"), order="asc")
    originals = [record for record in SEED if record.run_id in (rid(1), rid(2))]
    for original, copy in zip(originals, copies, strict=True):
        assert copy.started_at == pytest.approx(original.started_at, abs=1e-6)
        assert copy.duration_s == pytest.approx(original.duration_s, abs=1e-6)
        assert original.impact is not None and copy.impact is not None
        assert copy.impact["gco2e"] == pytest.approx(original.impact["gco2e"])
        assert (copy.experiment, copy.notebook_path, copy.tags) == (
            original.experiment,
            original.notebook_path,
            original.tags,
        )
        assert copy.extra["codecarbon"]["run_id"].replace("-", "") == original.run_id


BAD_FILES = [
    ("energy_consumed", "-1", "out of range"),
    ("energy_consumed", "NaN", "is not a number"),
    ("emissions", "lots", "is not a number"),
    ("duration", "1e999", "too large"),
    ("timestamp", "31/12/2025 10:00", "not a date and time"),
]


@pytest.mark.parametrize(("column", "value", "problem"), BAD_FILES)
async def test_a_bad_row_imports_nothing(jp_fetch: Any, ledger: Ledger, column: str, value: str, problem: str) -> None:
    rows = [one_run() for _ in range(5)] + [one_run(**{column: value})]
    code, message = await refused_import(jp_fetch, codecarbon_file(CODECARBON_3_3_HEADER, rows))
    assert code == 400
    assert message.startswith(f"Row 7, column '{column}': ")
    assert problem in message and "Nothing was imported" in message
    assert imported_count(ledger) == 0


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "The file is empty"),
        (b"\xff\xfe\x00\x01", "not UTF-8"),
        (b"timestamp,duration\n2025-01-01T00:00:00,1\n", "Row 1 (the header), column 'emissions'"),
        (b'timestamp,duration,emissions,energy_consumed\n2025-01-01T00:00:00,1,0,"0\n', "not valid CSV"),
    ],
)
async def test_a_file_that_is_not_a_codecarbon_csv(jp_fetch: Any, ledger: Ledger, data: bytes, message: str) -> None:
    code, text = await refused_import(jp_fetch, data)
    assert (code, message in text) == (400, True)
    assert imported_count(ledger) == 0


async def test_a_file_over_the_limit_is_a_json_413(
    jp_fetch: Any, ledger: Ledger, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = codecarbon_file(CODECARBON_3_3_HEADER, [one_run()])
    monkeypatch.setattr(exchange, "MAX_IMPORT_BYTES", len(data) - 1)
    code, message = await refused_import(jp_fetch, data)
    assert code == 413 and f"at most {len(data) - 1}" in message
    assert imported_count(ledger) == 0


async def test_a_bad_experiment_parameter(jp_fetch: Any, ledger: Ledger) -> None:
    data = codecarbon_file(CODECARBON_3_3_HEADER, [one_run()])
    with pytest.raises(HTTPClientError) as refusal:
        await upload(jp_fetch, data, experiment="two\nlines")
    assert refusal.value.code == 400
    assert imported_count(ledger) == 0


# -- authentication -------------------------------------------------------------------------


async def test_export_and_import_require_authentication(http_server_client: Any, jp_base_url: str) -> None:
    for path, method, body in (
        ("runs/export", "GET", None),
        ("runs/export", "POST", json.dumps({"run_ids": [rid(1)]})),
        ("runs/import", "POST", codecarbon_file(CODECARBON_3_3_HEADER, [one_run()]).decode()),
    ):
        with pytest.raises(HTTPClientError) as refusal:
            await http_server_client.fetch(
                url_path_join(jp_base_url, NAMESPACE, path), method=method, body=body, request_timeout=10
            )
        assert refusal.value.code == 403, (method, path)
