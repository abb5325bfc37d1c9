"""Counting a cell's floating-point operations (``%%carbon --flops``), with the library it uses.

PyTorch's ``FlopCounterMode`` counts the FLOPs of the tensor operations that run inside it (the
formulas of its registered operators: matmul, convolutions, attention...). JAX's jitted
functions carry their own ``cost_analysis``; a cell can report them with
``jupyterlab_carbon.kernel.flops.add_jax_flops(compiled)``. Neither present: the magic says so.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

NO_LIBRARY = (
    "%%carbon --flops: FLOPs not counted: neither PyTorch nor JAX is installed in this kernel "
    "(pip install torch, or jax; PyTorch counts with torch.utils.flop_counter.FlopCounterMode)."
)


@dataclass
class FlopCount:
    total: float = 0.0
    counted_by: list[str] = field(default_factory=list)  # "torch.utils.flop_counter", "jax cost_analysis"
    note: str | None = None  # why nothing was counted

    def to_json(self) -> dict[str, Any]:
        return {"count": self.total, "counted_by": self.counted_by, "note": self.note}


_active: FlopCount | None = None


def available() -> bool:
    return any(importlib.util.find_spec(name) is not None for name in ("torch", "jax"))


@contextmanager
def count_flops() -> Iterator[FlopCount]:
    """Count the FLOPs of what runs inside (PyTorch operations; JAX costs added by the cell)."""
    global _active
    result = FlopCount()
    if not available():
        result.note = NO_LIBRARY
        yield result
        return
    _active = result
    try:
        if importlib.util.find_spec("torch") is not None:
            from torch.utils.flop_counter import FlopCounterMode

            counter = FlopCounterMode(display=False)
            try:
                with counter:
                    yield result
            finally:
                result.total += float(counter.get_total_flops())
                result.counted_by.append("torch.utils.flop_counter")
        else:
            yield result
    finally:
        _active = None


def add_jax_flops(compiled: Any) -> float:
    """Add a compiled JAX function's FLOPs (``jax.jit(f).lower(*args).compile()``) to the count under way."""
    analysis = compiled.cost_analysis()
    entries = analysis if isinstance(analysis, list) else [analysis]
    flops = float(sum(entry.get("flops", 0.0) for entry in entries if isinstance(entry, dict)))
    if _active is not None:
        _active.total += flops
        if "jax cost_analysis" not in _active.counted_by:
            _active.counted_by.append("jax cost_analysis")
    return flops
