"""Running rows: written at an execution's start, replaced once by its end, closed after a crash."""

from __future__ import annotations

import dataclasses

from jupyterlab_carbon.ledger import Ledger
from jupyterlab_carbon.ledger.store import RUNNING

from .test_ledger import make_record


def test_a_running_row_is_replaced_by_its_final_record_once(ledger_url: str) -> None:
    with Ledger(ledger_url) as ledger:
        running = make_record("a", status=RUNNING, node_j=0.0, flags=[])
        ledger.write_batch([running], [])
        assert ledger.runs() == [] and ledger.count() == 0, "a running execution is not a run yet"
        assert [r.run_id for r in ledger.running(running.host)] == ["a"]

        final = make_record("a", status="ok")
        ledger.write_batch([], [final])
        ledger.write_batch([running], [final])  # retried or late writes change nothing
        [stored] = ledger.runs()
        assert stored.status == "ok" and stored.node_j == final.node_j
        assert ledger.running(running.host) == []


def test_closing_unfinished_rows_keeps_what_was_known(ledger_url: str) -> None:
    with Ledger(ledger_url) as ledger:
        running = make_record("b", status=RUNNING, flags=["late-start"], code_preview="train()")
        ledger.write_batch([running], [])
        assert ledger.close_unfinished(ledger.running(running.host), "server-crash") == 1
        [closed] = ledger.runs()
        assert closed.status == "interrupted" and closed.code_preview == "train()"
        assert closed.flags == ["end-unknown", "interrupted", "late-start", "server-crash"]
        assert (closed.started_at, closed.ended_at) == (running.started_at, running.ended_at)
        assert ledger.close_unfinished([running], "server-crash") == 0  # already closed


def test_a_running_row_measured_further_replaces_the_earlier_one(ledger_url: str) -> None:
    with Ledger(ledger_url) as ledger:
        start = make_record("c", status=RUNNING, node_j=0.0, attributed_j=0.0, flags=[])
        start = dataclasses.replace(start, ended_at=start.started_at)
        ledger.write_batch([start], [])
        later = dataclasses.replace(start, ended_at=start.started_at + 30, node_j=900.0, attributed_j=450.0)
        ledger.write_batch([later], [])
        [stored] = ledger.running(start.host)
        assert stored.ended_at == later.ended_at and stored.attributed_j == 450.0
        assert ledger.count() == 0, "still not a run"
        assert ledger.close_unfinished([stored], "server-crash") == 1
        [closed] = ledger.runs()
        assert closed.duration_s == 30 and closed.attributed_j == 450.0
        assert ledger.totals()["attributed_j"] == 450.0
        ledger.write_batch([later], [])  # a late running row after the close changes nothing
        assert ledger.runs()[0].status == "interrupted"
