"""``%%carbon`` and the run API in real kernels: without a server (in-kernel records) and watched by one."""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from jupyterlab_carbon.kernel.channel import COMM_ID
from jupyterlab_carbon.ledger import Ledger, RunQuery

from .kernels import start_lone_kernel
from .test_executions import KernelChannel, runs_for, start_kernel


@pytest.fixture
def lone_kernel(tmp_path: Path) -> Iterator[tuple[Any, str]]:
    """A kernel no server watches, with the modeled meters and its own ledger file."""
    url = f"sqlite:///{tmp_path / 'ledger.sqlite'}"
    env = {
        **os.environ,
        "JUPYTERLAB_CARBON_POWERCAP_ROOT": str(tmp_path / "no-powercap"),
        "JUPYTERLAB_CARBON_HWMON_ROOT": str(tmp_path / "no-hwmon"),
        "JUPYTERLAB_CARBON_CPU_TDP_WATTS": "45",
        "JUPYTERLAB_CARBON_LEDGER_URL": url,
    }
    env.pop("JUPYTERLAB_CARBON_WATCHED", None)
    manager, client = start_lone_kernel(env)
    try:
        execute(client, "%load_ext jupyterlab_carbon")
        yield client, url
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)


def execute(client: Any, code: str) -> dict[str, Any]:
    """Run code; reply status, error name (a UsageError has no IOPub error), streams, result, annotations, display."""
    msg_id = client.execute(code)
    out: dict[str, Any] = {"stdout": "", "stderr": "", "error": None, "result": None, "comms": [], "display": ""}
    while True:
        msg = client.get_iopub_msg(timeout=60)
        if msg["parent_header"].get("msg_id") != msg_id:
            continue
        kind, content = msg["msg_type"], msg["content"]
        if kind == "stream":
            out[content["name"]] += content["text"]
        elif kind == "execute_result":
            out["result"] = content["data"]["text/plain"]
        elif kind == "comm_msg" and content["comm_id"] == COMM_ID:  # not the widget's own messages
            out["comms"].append(content)
        elif kind in ("display_data", "update_display_data"):
            out["display"] = content["data"]["text/plain"]  # the widget's summary, updated at the end
        elif kind == "status" and content["execution_state"] == "idle":
            break
    reply = client.get_shell_msg(timeout=10)
    while reply["parent_header"].get("msg_id") != msg_id:
        reply = client.get_shell_msg(timeout=10)
    out["status"], out["error"] = reply["content"]["status"], reply["content"].get("ename")
    return out


def ledger_runs(client: Any, url: str) -> list[Any]:
    """The ledger's runs once the kernel's writes in flight are done (%carbon history waits for them)."""
    assert execute(client, "%carbon history 1")["status"] == "ok"
    with Ledger(url) as ledger:
        return ledger.search(RunQuery(), limit=100)[1]


def test_cell_magic_records_experiment_tags_metrics_in_kernel(lone_kernel: tuple[Any, str]) -> None:
    client, url = lone_kernel
    out = execute(
        client,
        "%%carbon -e sweep -n 'lr 0.1' -t a -t b --metric acc --metric double=acc*2\n"
        "acc = 0.25\nsum(range(3_000_000))\n41 + 1",
    )
    assert out["status"] == "ok" and out["result"] == "42"  # the last expression is the cell's result
    assert "jupyterlab-carbon: experiment 'sweep'" in out["display"]
    [run] = ledger_runs(client, url)
    assert (run.experiment, run.tags, run.metrics) == ("sweep", ["a", "b"], {"acc": 0.25, "double": 0.5})
    assert run.source == "in-kernel" and "in-kernel" in run.flags and run.status == "ok"
    assert run.extra["name"] == "lr 0.1" and run.methods == ["modeled"] and run.attributed_j > 0
    assert run.code_preview == "acc = 0.25" and run.msg_id and run.execution_count is not None


def test_body_exceptions_propagate_and_the_run_is_kept_flagged(lone_kernel: tuple[Any, str]) -> None:
    client, url = lone_kernel
    out = execute(client, "%%carbon -e failing --metric never\nx = 1\n1 / 0")
    assert out["status"] == "error" and out["error"] == "ZeroDivisionError"
    [run] = ledger_runs(client, url)
    assert run.status == "error" and "errored" in run.flags and run.metrics == {}


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("--budget 5xx", "--budget unit 'xx' is not known"),
        ("--budget=-3Wh", "is not a number and a unit"),
        ("--budget 0Wh", "must be above zero"),
        ("--metric 'a b'", "a metric name is a Python-like name"),
        ("--metric acc=", "has no expression"),
        ("--metric acc=1+", "is not a Python expression"),
        ("--repeat 0", "--repeat must be 1 to"),
        ("--per 0 inferences", "--per needs a count above zero"),
        ("--on-budget explode", "invalid choice"),
        ("-t ''", "A tag must be non-empty text"),
        ("--frobnicate", "unrecognized arguments"),
    ],
)
def test_bad_options_are_usage_errors_before_the_body(lone_kernel: tuple[Any, str], line: str, message: str) -> None:
    client, url = lone_kernel
    out = execute(client, f"%%carbon {line}\nran = True")
    assert out["status"] == "error" and out["error"] == "UsageError", out
    assert execute(client, "'ran' in dir()")["result"] == "False"
    assert ledger_runs(client, url) == []
    assert (
        message
        in execute(
            client,
            f"try:\n    get_ipython().run_cell_magic('carbon', {line!r}, 'pass')\nexcept Exception as e:\n    print(e)",
        )["stdout"]
    )


def test_repeat_per_unit_and_measure_sub_windows(lone_kernel: tuple[Any, str]) -> None:
    client, url = lone_kernel
    code = (
        "%%carbon --repeat 3 --per 1000 samples\n"
        "import jupyterlab_carbon\n"
        "with jupyterlab_carbon.measure('inner') as m:\n    sum(range(20000))\n"
        "jupyterlab_carbon.log_metric('loss', 0.5)"
    )
    out = execute(client, code)
    assert out["status"] == "ok", out
    assert "3 runs:" in out["display"] and "per unit of work (1000 samples a run)" in out["display"]
    [run] = ledger_runs(client, url)
    assert run.extra["repeat"]["count"] == 3 and run.extra["per"] == {"count": 1000.0, "unit": "samples"}
    assert [w["name"] for w in run.extra["windows"]] == ["inner"] * 3
    assert run.metrics == {"loss": 0.5}
    # Microseconds of CPU: the share may round to nothing, the node's energy over the block may not.
    assert execute(client, "m.duration_s > 0 and m.result.node_j > 0 and m.energy_j >= 0")["result"] == "True"


def test_line_magic_last_and_history(lone_kernel: tuple[Any, str]) -> None:
    client, _ = lone_kernel
    assert "No finished run" in execute(client, "%carbon last")["result"]
    execute(client, "%%carbon -e first\nx = 1")
    last = execute(client, "%carbon last")["result"]
    assert "experiment 'first'" in last and "x = 1" in last
    assert "frobnicate" not in execute(client, "%carbon frobnicate")["stdout"]
    assert "Usage: %carbon status | last | history" in execute(client, "%carbon frobnicate")["stdout"]


def test_the_api_outside_a_cell_magic_still_annotates_nothing_breaks(lone_kernel: tuple[Any, str]) -> None:
    client, _ = lone_kernel
    out = execute(client, "import jupyterlab_carbon\njupyterlab_carbon.tag('x')\njupyterlab_carbon.set_experiment('e')")
    assert out["status"] == "ok"
    [first, second] = [c["data"]["carbon"] for c in out["comms"]]
    assert first == {"tags": ["x"]} and second == {"experiment": "e"}
    bad = execute(client, "import jupyterlab_carbon\njupyterlab_carbon.log_metric('acc', float('nan'))")
    assert bad["error"] == "ValueError"


async def test_watched_kernel_autoloads_and_annotates_the_servers_record(jp_fetch: Any, jp_ws_fetch: Any) -> None:
    kernel_id = await start_kernel(jp_fetch)
    channel = await KernelChannel.open(jp_ws_fetch, kernel_id)
    try:
        # No %load_ext: the server loaded the extension in the kernel it started.
        msg_id, _, _ = await channel.run("%%carbon -e watched -t v2 --metric acc\nacc = 0.75")
        [run] = await runs_for(jp_fetch, 1, msg_id=msg_id)
        assert (run["experiment"], run["tags"], run["metrics"]) == ("watched", ["v2"], {"acc": 0.75})
        assert run["source"] == "server" and run["status"] == "ok"
        await asyncio.sleep(1.0)  # an in-kernel duplicate would have been written by now
        everything = json.loads((await jp_fetch("carbon", "runs", params={"kernel_id": kernel_id})).body)["runs"]
        assert [r["msg_id"] for r in everything] == [msg_id]
        # A kernel annotation the ledger would refuse is dropped, the run still recorded.
        msg_id, _, _ = await channel.run(
            "from jupyterlab_carbon.kernel import channel\nchannel.publish({'tags': 'x' * 500})"
        )
        [run] = await runs_for(jp_fetch, 1, msg_id=msg_id)
        assert run["tags"] == [] and run["status"] == "ok"
    finally:
        channel.ws.close()
        await jp_fetch("api", "kernels", kernel_id, method="DELETE")


def test_flops_counted_with_pytorch_and_kept_with_rates(lone_kernel: tuple[Any, str]) -> None:
    pytest.importorskip("torch")
    client, url = lone_kernel
    out = execute(client, "%%carbon --flops\nimport torch\na = torch.ones(64, 64)\nfor _ in range(200):\n    b = a @ a")
    assert out["status"] == "ok", out
    [run] = ledger_runs(client, url)
    flops = run.extra["flops"]
    assert flops["count"] == 200 * 2 * 64**3 and flops["counted_by"] == ["torch.utils.flop_counter"]
    assert flops["per_s"] > 0 and (flops["per_j"] is None or flops["per_j"] > 0)


def test_flops_without_a_library_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    from jupyterlab_carbon.kernel import flops

    monkeypatch.setattr(flops, "available", lambda: False)
    with flops.count_flops() as counted:
        pass
    assert counted.total == 0 and counted.note == flops.NO_LIBRARY and "pip install torch" in counted.note


BUSY = "import time\nend = time.perf_counter() + {seconds}\nwhile time.perf_counter() < end:\n    pass"


async def test_stop_budget_interrupts_within_a_second_of_crossing(jp_fetch: Any, jp_ws_fetch: Any) -> None:
    kernel_id = await start_kernel(jp_fetch)
    channel = await KernelChannel.open(jp_ws_fetch, kernel_id)
    try:
        msg_id, busy, idle = await channel.run("%%carbon --budget 5J --on-budget stop\n" + BUSY.format(seconds=60))
        assert idle - busy < 30, "the budget did not stop the cell"
        [run] = await runs_for(jp_fetch, 1, msg_id=msg_id)
        assert run["status"] == "interrupted" and "budget-exceeded" in run["flags"]
        budget = run["extra"]["budget"]
        assert budget["kind"] == "energy" and budget["limit"] == 5.0 and budget["spent"] >= 5.0
        assert run["ended_at"] - budget["exceeded_at"] < 1.0
        assert run["attributed_j"] >= 5.0
        # warn: the cell runs to its end, flagged
        msg_id, _, _ = await channel.run("%%carbon --budget 1J\n" + BUSY.format(seconds=1.5))
        [run] = await runs_for(jp_fetch, 1, msg_id=msg_id)
        assert run["status"] == "ok" and "budget-exceeded" in run["flags"]
        assert run["extra"]["budget"]["spent"] >= 1.0 and run["duration_s"] >= 1.5
    finally:
        channel.ws.close()
        await jp_fetch("api", "kernels", kernel_id, method="DELETE")


def test_energy_budget_checked_in_the_kernel_without_a_server(lone_kernel: tuple[Any, str]) -> None:
    client, url = lone_kernel
    out = execute(client, "%%carbon --budget 0.5J --on-budget stop\n" + BUSY.format(seconds=60))
    assert out["status"] == "error" and out["error"] == "KeyboardInterrupt"
    assert "its budget was 0.5J" in out["stderr"]
    [run] = ledger_runs(client, url)
    assert run.status == "interrupted" and "budget-exceeded" in run.flags and run.duration_s < 30
    assert run.ended_at - run.extra["budget"]["exceeded_at"] < 1.0
    out = execute(client, "%%carbon --budget 1g\nx = 1")
    assert "is not checked: without the Jupyter server extension" in out["stderr"] and out["status"] == "ok"


def test_line_magic_compare_and_export(lone_kernel: tuple[Any, str], tmp_path: Path) -> None:
    client, _ = lone_kernel
    execute(client, "%%carbon -e cmp -t a --metric acc\nacc = 0.5")
    execute(client, "%%carbon -e cmp -t b --metric acc\nacc = 0.75")
    ids = execute(client, "h = %carbon history 2\n[r.record.run_id for r in h]")["result"]
    newer, older = eval(ids)
    table = execute(client, f"%carbon compare {older[:8]} {newer}")["result"]
    assert "acc" in table and "0.5" in table and "0.75" in table and "experiment" in table
    assert execute(client, "%carbon compare 0000 ffff")["error"] == "UsageError"
    csv_path, json_path = tmp_path / "mine.csv", tmp_path / "mine.json"
    assert "2 run(s)" in execute(client, f"%carbon export {csv_path}")["stdout"]
    assert csv_path.read_text().startswith("timestamp,project_name,run_id")
    execute(client, f"%carbon export {json_path} --format json")
    assert {run["metrics"]["acc"] for run in json.loads(json_path.read_text())} == {0.5, 0.75}
    assert execute(client, "%carbon export --format xml")["error"] == "UsageError"
