"""The gate's silent request in a real kernel: `%%carbon --predict` counted before the cell runs."""

from __future__ import annotations

import json
from typing import Any

import pytest

from .test_carbon_magic import execute, lone_kernel  # noqa: F401  # the fixture

pytest.importorskip("torch")


def gate_answer(client: Any, line: str) -> dict[str, Any]:
    """What the page sends (src/predict/declare.ts): no code, silent, the line in a user expression."""
    expression = (
        "__import__('jupyterlab_carbon.kernel.gate', fromlist=['declared_flops'])"
        f".declared_flops({json.dumps(line)})"
    )
    msg_id = client.execute("", silent=True, store_history=False, user_expressions={"carbon": expression})
    while True:
        reply = client.get_shell_msg(timeout=60)
        if reply["parent_header"].get("msg_id") == msg_id:
            break
    content: dict[str, Any] = reply["content"]
    assert content["status"] == "ok"
    result = content["user_expressions"]["carbon"]
    assert result["status"] == "ok", result
    answer: dict[str, Any] = result["data"]["application/json"]
    return answer


def test_declared_flops_are_counted_before_the_cell_runs(lone_kernel: tuple[Any, str]) -> None:  # noqa: F811
    client, _ = lone_kernel
    execute(client, "import torch\nnet = torch.nn.Linear(4, 3)\nx = torch.randn(2, 4)\nepochs = 10")
    answer = gate_answer(client, '%%carbon -e sizing --predict "model=net, batch=x, steps=epochs"')
    declared = answer["flops_declared"]
    # forward 2·2·4·3 = 48, backward (the weight's gradient; x needs none) 48: 96 per step, 10 steps.
    assert declared["count"] == 960 and declared["device"] == "cpu" and declared["dtype"] == "float32"
    # Nothing ran in the user's namespace but the declaration: no execution counted, x unchanged.
    assert execute(client, "print(net.weight.device, x.shape)")["stdout"].strip() == "cpu torch.Size([2, 4])"


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ('%%carbon --predict "model=missing, batch=x"', "NameError"),
        ("%%carbon -e only", "no --predict"),
        ("%%carbon --predict", "expected one argument"),
        ('%%carbon --predict "model=net"', "batch missing"),
        ("print('not a magic')", "does not start with %%carbon"),
    ],
)
def test_what_cannot_be_counted_says_why(lone_kernel: tuple[Any, str], line: str, reason: str) -> None:  # noqa: F811
    client, _ = lone_kernel
    execute(client, "import torch\nnet = torch.nn.Linear(4, 3)\nx = torch.randn(2, 4)")
    answer = gate_answer(client, line)
    assert "flops_declared" not in answer and reason in answer["error"]
