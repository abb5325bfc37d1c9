"""The ``%%carbon`` widget's kernel side: its synced state stays a summary, and without a widget manager
the output is an escaped text and HTML summary."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest

from jupyterlab_carbon import __version__
from jupyterlab_carbon.kernel import final_output
from jupyterlab_carbon.kernel.live_widget import LIVE_AFTER_S, _Later
from jupyterlab_carbon.kernel.widget import MODULE_VERSION, CarbonWidget

from .test_carbon_magic import lone_kernel  # noqa: F401  # the fixture

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


def test_state_names_the_labextension_and_holds_only_the_summary() -> None:
    widget = CarbonWidget(msg_id="m-1", experiment="demo", budget={"kind": "energy", "limit": 1.0, "text": "1J"})
    state = widget.get_state()
    assert (state["_model_module"], state["_model_name"], state["_view_name"]) == (
        "jupyterlab-carbon",
        "CarbonModel",
        "CarbonView",
    )
    assert f"^{__version__}" == MODULE_VERSION and state["_model_module_version"] == MODULE_VERSION
    assert (state["msg_id"], state["experiment"], state["status"], state["summary"]) == ("m-1", "demo", "running", {})
    widget.finish("ok", {"energy_j": 2.5, "methods": ["modeled"], "source": "in-kernel"}, ["2.5 J"])
    state = widget.get_state()
    assert state["status"] == "ok" and state["summary"]["energy_j"] == 2.5 and state["details"] == ["2.5 J"]
    assert not {"trace", "samples", "power"} & set(state) and len(repr(state)) < 2000


def test_finish_refuses_running_or_unknown_status() -> None:
    widget = CarbonWidget()
    for status in ("running", "done"):
        with pytest.raises(ValueError, match="ok, error or interrupted"):
            widget.finish(status, {}, [])


def test_fallback_bundle_is_escaped_text_and_html() -> None:
    widget = CarbonWidget(experiment="<img src=x onerror=alert(1)>", budget={"text": "1J", "on_budget": "warn"})
    bundle = widget._repr_mimebundle_()
    assert WIDGET_VIEW in bundle and bundle["text/plain"].startswith("jupyterlab-carbon: ")
    assert "<img" not in bundle["text/html"] and "&lt;img src=x" in bundle["text/html"]
    assert "running" in bundle["text/plain"]
    widget.finish(
        "ok",
        {"energy_j": 36.0, "duration_s": 3.0, "methods": ["measured-counter"], "metrics": {"acc": 0.5}},
        ["experiment 'demo'", "10 mWh in 3 s (measured-counter)"],
        {"text": "1J", "on_budget": "warn", "kind": "energy", "spent": 36.0, "exceeded_at": 1.0},
    )
    bundle = widget._repr_mimebundle_()
    assert bundle["text/plain"] == "jupyterlab-carbon: experiment 'demo'; 10 mWh in 3 s (measured-counter)"
    page = bundle["text/html"]
    assert "10 mWh (measured-counter" in page and "1J (warn): exceeded, 10 mWh spent" in page and "acc" in page


def _outputs(client: Any, code: str) -> list[tuple[str, dict[str, Any]]]:
    msg_id = client.execute(code)
    outputs: list[tuple[str, dict[str, Any]]] = []
    while True:
        msg = client.get_iopub_msg(timeout=60)
        if msg["parent_header"].get("msg_id") != msg_id:
            continue
        if msg["msg_type"] in ("display_data", "update_display_data", "stream"):
            outputs.append((msg["msg_type"], msg["content"]))
        if msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
            return outputs


def test_a_long_body_gets_the_live_widget_then_its_final_summary(
    lone_kernel: tuple[Any, str],  # noqa: F811
) -> None:
    client, _ = lone_kernel
    body = f"print('before')\nimport time; time.sleep({LIVE_AFTER_S} + 0.5)\nprint('after')"
    code = "%%carbon -e demo --budget 1kJ\n" + body
    outputs = _outputs(client, code)
    kinds = [kind for kind, _ in outputs]
    assert kinds == ["stream", "display_data", "stream", "update_display_data"], outputs
    (_, shown), (_, final) = outputs[1], outputs[3]
    assert shown["transient"]["display_id"] == final["transient"]["display_id"]
    assert WIDGET_VIEW in shown["data"] and "Status</th><td>running" in shown["data"]["text/html"]
    # The final output needs no widget model (gone with the kernel when the notebook is reopened).
    assert WIDGET_VIEW not in final["data"] and final["data"][final_output.MIME_TYPE]["status"] == "ok"
    # A client without a widget manager keeps the final text and HTML.
    assert final["data"]["text/plain"].startswith("jupyterlab-carbon: experiment 'demo'; ")
    assert "Status</th><td>ok" in final["data"]["text/html"] and "in-kernel" in final["data"]["text/html"]


def test_a_short_body_shows_only_its_final_figures_without_a_widget_model(
    lone_kernel: tuple[Any, str],  # noqa: F811
) -> None:
    client, _ = lone_kernel
    msg_id = client.execute("%%carbon -e demo -n first --budget 1kJ\nsum(range(1000))")
    outputs, comms = [], []
    while True:
        msg = client.get_iopub_msg(timeout=60)
        if msg["parent_header"].get("msg_id") != msg_id:
            continue
        if msg["msg_type"] == "comm_open":  # (comm_msg: the annotations sent to the server)
            comms.append(msg)
        if msg["msg_type"] == "display_data":
            outputs.append(msg["content"])
        if msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
            break
    assert len(outputs) == 1 and comms == [], (outputs, comms)
    data = outputs[0]["data"]
    assert WIDGET_VIEW not in data and "Status</th><td>ok" in data["text/html"]
    assert data["text/plain"].startswith("jupyterlab-carbon: experiment 'demo'; ")
    state = data[final_output.MIME_TYPE]
    assert set(state) == set(final_output.STATE_FIELDS)
    assert (state["msg_id"], state["experiment"], state["run_name"], state["status"]) == (msg_id, "demo", "first", "ok")
    assert state["budget"]["text"] == "1kJ" and state["summary"]["source"] == "in-kernel"
    assert state["summary"]["energy_j"] >= 0 and state["details"][0] == "experiment 'demo'"


def test_a_short_body_s_printed_output_comes_before_its_final_widget(
    lone_kernel: tuple[Any, str],  # noqa: F811
) -> None:
    """The final widget's publish flushes only streams holding text: those must still come first."""
    client, _ = lone_kernel
    body = "import sys\nprint('out')\nprint('err', file=sys.stderr)"
    outputs = _outputs(client, "%%carbon\n" + body)
    widget_at = next(index for index, (kind, _) in enumerate(outputs) if kind == "display_data")
    printed = "".join(content["text"] for kind, content in outputs[:widget_at] if kind == "stream")
    after = [content for kind, content in outputs[widget_at + 1 :] if kind == "stream"]
    assert printed.split() == ["out", "err"] and not after, outputs
    # With nothing printed since, the next cell's widget is published as well.
    assert [kind for kind, _ in _outputs(client, "%%carbon\n1")] == ["display_data"]


def test_a_failing_short_body_shows_its_final_widget_and_the_error_propagates(
    lone_kernel: tuple[Any, str],  # noqa: F811
) -> None:
    client, _ = lone_kernel
    outputs = _outputs(client, "%%carbon\n1 / 0")
    assert [kind for kind, _ in outputs] == ["display_data"], outputs
    assert "Status</th><td>error" in outputs[0][1]["data"]["text/html"]
    assert outputs[0][1]["data"][final_output.MIME_TYPE]["status"] == "error"
    reply = client.get_shell_msg(timeout=30)
    assert reply["content"]["status"] == "error" and reply["content"]["ename"] == "ZeroDivisionError"


def test_quiet_displays_nothing(lone_kernel: tuple[Any, str]) -> None:  # noqa: F811
    client, _ = lone_kernel
    assert _outputs(client, "%%carbon --quiet\n1 + 1") == []


def test_the_widget_timer_runs_each_callback_when_due_and_never_a_cancelled_one() -> None:
    later = _Later()
    fired: dict[str, float] = {}
    start = time.monotonic()

    def mark(name: str) -> Callable[[], None]:
        return lambda: fired.setdefault(name, time.monotonic() - start)

    later.schedule(0.6, mark("late"))
    later.schedule(0.8, mark("after the late one"))  # due after the thread's wake-up: not woken for it
    cancelled = later.schedule(0.1, mark("cancelled"))
    later.schedule(0.15, mark("early"))  # due before the thread's wake-up: woken for it
    later.cancel(cancelled)
    deadline = time.monotonic() + 5
    while len(fired) < 3 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert set(fired) == {"early", "late", "after the late one"}
    assert 0.15 <= fired["early"] < 0.5
    assert 0.6 <= fired["late"] < fired["after the late one"]
    assert fired["after the late one"] >= 0.8
