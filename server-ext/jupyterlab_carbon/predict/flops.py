"""FLOPs of one training step (forward and backward), counted on a meta-device copy of the model.

``torch.device("meta")`` tensors have shapes and dtypes but no storage: the copy costs no memory
and its operations no compute, while ``FlopCounterMode`` still counts each matmul and convolution
by its formula. The count covers what PyTorch's counter registers (matmuls, convolutions,
attention); elementwise work, the loss and the optimizer step are not counted.

``%%carbon --predict "model=net, batch=next(iter(loader)), steps=epochs*len(loader)"`` evaluates
the three expressions in the kernel before the body runs and publishes the annotation
``{"flops_declared": {...}}``.
"""

from __future__ import annotations

import ast
import copy
from dataclasses import dataclass
from typing import Any

DECLARATION_KEYS = ("model", "batch", "steps")
ANNOTATION_KEY = "flops_declared"


@dataclass(frozen=True)
class StepFlops:
    per_step: float
    device: str  # the model's device type where it lives: cpu, cuda, mps...
    dtype: str  # its first floating parameter's dtype, e.g. float32

    def to_json(self, steps: float) -> dict[str, Any]:
        return {
            "count": self.per_step * steps,
            "per_step": self.per_step,
            "steps": steps,
            "device": self.device,
            "dtype": self.dtype,
            "counted_by": "torch.utils.flop_counter on a meta-device copy (forward + backward)",
        }


def _meta_copy(model: Any) -> Any:
    """A copy of ``model`` whose parameters and buffers live on the meta device (nothing copied)."""
    import torch

    memo: dict[int, Any] = {}
    for parameter in model.parameters():
        memo[id(parameter)] = torch.nn.Parameter(
            torch.empty_like(parameter, device="meta"), requires_grad=parameter.requires_grad
        )
    for buffer in model.buffers():
        memo[id(buffer)] = torch.empty_like(buffer, device="meta")
    return copy.deepcopy(model, memo)


def _to_meta(value: Any) -> Any:
    import torch
    from torch.utils._pytree import tree_map

    return tree_map(lambda item: item.to("meta") if isinstance(item, torch.Tensor) else item, value)


def _call(model: Any, batch: Any) -> Any:
    """The forward pass: a (inputs, targets) pair feeds its inputs; a dict is keyword arguments."""
    if isinstance(batch, dict):
        return model(**batch)
    if isinstance(batch, (tuple, list)):
        return model(batch[0])
    return model(batch)


def _first_tensor(value: Any) -> Any:
    import torch
    from torch.utils._pytree import tree_leaves

    return next(
        (leaf for leaf in tree_leaves(value) if isinstance(leaf, torch.Tensor) and leaf.is_floating_point()), None
    )


def training_step_flops(model: Any, batch: Any) -> StepFlops:
    """FLOPs of ``model``'s forward and backward on ``batch`` (a tensor, an (x, y) pair or a dict)."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    if not isinstance(model, torch.nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    floating = next((p for p in model.parameters() if p.is_floating_point()), None)
    device = floating.device.type if floating is not None else "cpu"
    dtype = str(floating.dtype).removeprefix("torch.") if floating is not None else "float32"
    meta_model = _meta_copy(model)
    meta_batch = _to_meta(batch)
    counter = FlopCounterMode(display=False)
    with counter:
        output = _first_tensor(_call(meta_model, meta_batch))
        if output is None:
            raise ValueError("the model's output holds no floating-point tensor to take a backward pass from")
        if output.requires_grad:
            output.sum().backward()
    return StepFlops(float(counter.get_total_flops()), device, dtype)


def parse_declaration(text: str) -> tuple[tuple[str, str], ...]:
    """``"model=net, batch=b, steps=10"`` as (name, expression) pairs; ValueError saying what is wrong."""
    try:
        call = ast.parse(f"_({text})", mode="eval").body
    except SyntaxError as err:
        raise ValueError(f"--predict {text!r} is not of the form model=..., batch=..., steps=... ({err.msg})") from None
    if not isinstance(call, ast.Call) or call.args:
        raise ValueError(f"--predict {text!r}: name every value, as in model=net, batch=x, steps=100")
    pairs = tuple((keyword.arg or "**", ast.unparse(keyword.value)) for keyword in call.keywords)
    names = [name for name, _ in pairs]
    unknown = [name for name in names if name not in DECLARATION_KEYS]
    if unknown:
        raise ValueError(f"--predict: unknown key(s) {', '.join(unknown)}; use {', '.join(DECLARATION_KEYS)}")
    missing = [name for name in ("model", "batch") if name not in names]
    if missing:
        raise ValueError(
            f"--predict: {' and '.join(missing)} missing; as in model=net, batch=next(iter(loader)), steps=100"
        )
    if len(set(names)) != len(names):
        raise ValueError("--predict: a key is given twice")
    return pairs


def evaluate_declaration(pairs: tuple[tuple[str, str], ...], namespace: dict[str, Any]) -> dict[str, Any]:
    """Evaluate the declared model, batch and steps in ``namespace``; the annotation's value."""
    values = {name: eval(expression, namespace) for name, expression in pairs}  # the user's own code, in their kernel
    steps = float(values.get("steps", 1))
    if not steps > 0:
        raise ValueError(f"--predict: steps must be above zero, got {values.get('steps')!r}")
    return training_step_flops(values["model"], values["batch"]).to_json(steps)
