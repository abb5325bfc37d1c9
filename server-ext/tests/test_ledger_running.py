"""Running rows: written at an execution's start, replaced once by its end, closed after a crash."""

from __future__ import annotations

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
        assert closed.ended_at == closed.started_at
        assert ledger.close_unfinished([running], "server-crash") == 0  # already closed
