"""The prediction gate's silent request: what a ``%%carbon --predict`` cell declares, counted before it runs.

The page sends, while the kernel is idle, an execute request with no code and the user expression
``declared_flops(<the cell's magic line>)``. Its answer reaches the page as JSON (``_repr_json_``):
``{"flops_declared": {...}}``, or ``{"error": "..."}`` saying why nothing was counted. The line is
read with the magic's own option parser and the declaration evaluated as the magic does it, in the
user's namespace, on a meta-device copy of the model (no compute, no memory). The request is a
run of its own in the ledger, tagged ``predict-gate``: counting cost a little, and it says so.
"""

from __future__ import annotations

import json
from typing import Any

from IPython.core.error import UsageError

GATE_TAG = "predict-gate"


class GateAnswer:
    """The answer as the page reads it: ``application/json`` in the user expression's display data."""

    def __init__(self, payload: dict[str, Any]) -> None:
        self.payload = payload

    def _repr_json_(self) -> dict[str, Any]:
        return self.payload

    def __repr__(self) -> str:
        return json.dumps(self.payload)


def declared_flops(magic_line: str) -> GateAnswer:
    """Count the FLOPs ``magic_line`` (``%%carbon ... --predict "model=..., batch=..., steps=..."``) declares."""
    from IPython import get_ipython

    from ..predict.flops import evaluate_declaration
    from . import api
    from .options import parse_options

    shell = get_ipython()
    if shell is None:
        return GateAnswer({"error": "not in an IPython kernel"})
    api.annotate({"tags": [GATE_TAG]})
    words = magic_line.strip()
    if not words.startswith("%%carbon"):
        return GateAnswer({"error": "the cell does not start with %%carbon"})
    try:
        options = parse_options(words.removeprefix("%%carbon"))
    except UsageError as err:
        return GateAnswer({"error": str(err)})
    if not options.predict:
        return GateAnswer({"error": "the %%carbon line has no --predict"})
    try:
        declared = evaluate_declaration(options.predict, shell.user_ns)
    except Exception as err:  # the user's expressions: any error is theirs to read
        return GateAnswer({"error": f"FLOPs not counted: {type(err).__name__}: {err}"})
    if declared.get("device") == "cuda":
        import torch

        declared["device_name"] = torch.cuda.get_device_name()
    return GateAnswer({"flops_declared": declared})
