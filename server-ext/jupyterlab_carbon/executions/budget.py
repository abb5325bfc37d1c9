"""Budgets of running cells (``%%carbon --budget 5Wh|2g|0.10EUR``), checked live by the server.

The server measures the cell while it runs (the same window measurement as its record, up to
now) every CHECK_EVERY_S; when the attributed energy, or its CO2e or cost under the intensity and
price in force, crosses the budget, the execution is flagged ``budget-exceeded``, the clients are
told, and with ``--on-budget stop`` the kernel is interrupted: within a second of crossing.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import Executor
from dataclasses import dataclass
from typing import Any

from ..measurement import Edge, measure_window, read_edge
from ..process_tree import ProcessTree
from ..sampler import Sampler

CHECK_EVERY_S = 0.25
KINDS = ("energy", "carbon", "cost")
FLAG = "budget-exceeded"


@dataclass(frozen=True)
class Budget:
    kind: str  # energy (J), carbon (gCO2e), cost (currency units)
    limit: float
    currency: str | None
    text: str
    stop: bool

    @classmethod
    def from_annotation(cls, data: Any) -> Budget:
        """The budget a kernel published; ValueError naming what is wrong."""
        if not isinstance(data, dict):
            raise ValueError("a budget must be an object")
        kind, limit, on_budget = data.get("kind"), data.get("limit"), data.get("on_budget", "warn")
        if kind not in KINDS:
            raise ValueError(f"a budget's kind is one of {', '.join(KINDS)}, not {kind!r}")
        if isinstance(limit, bool) or not isinstance(limit, int | float) or not math.isfinite(limit) or limit <= 0:
            raise ValueError(f"a budget's limit must be a number above zero, not {limit!r}")
        if on_budget not in ("warn", "stop"):
            raise ValueError(f"on_budget is warn or stop, not {on_budget!r}")
        currency = data.get("currency")
        return cls(
            kind,
            float(limit),
            currency if isinstance(currency, str) else None,
            str(data.get("text", "")),
            on_budget == "stop",
        )


def spent(budget: Budget, attributed_j: float, impact: Callable[[float], dict[str, Any]] | None) -> float | None:
    """What the cell has spent in the budget's unit; None when it cannot be known here (see why_unknown)."""
    if budget.kind == "energy":
        return attributed_j
    if impact is None:
        return None
    figures = impact(attributed_j)
    if budget.kind == "carbon":
        return figures.get("gco2e")
    if figures.get("currency") and budget.currency and figures["currency"].upper() != budget.currency.upper():
        return None
    return figures.get("cost")


def why_unknown(budget: Budget) -> str:
    if budget.kind == "cost":
        return (
            f"the budget {budget.text!r} is a cost, and this server has no price in {budget.currency}: set "
            "c.CarbonConfig.price_per_kwh and c.CarbonConfig.currency (or the intensity settings) to match"
        )
    return f"the budget {budget.text!r} needs the carbon intensity, which this server could not resolve"


@dataclass
class BudgetCheck:
    """One running execution under a budget."""

    kernel_id: str
    msg_id: str
    started_at: float
    start: asyncio.Future[Edge] | Any  # the execution's start edge (a concurrent Future)
    tree: ProcessTree
    budget: Budget


class BudgetGuard:
    """Checks the budgets of running executions; one task per budgeted execution."""

    def __init__(
        self,
        sampler: Sampler,
        executor: Executor,
        impact: Callable[[float], dict[str, Any]] | None,
        interrupt: Callable[[str], Awaitable[Any]],
        log: Any,
    ) -> None:
        self._sampler = sampler
        self._executor = executor
        self._impact = impact
        self._interrupt = interrupt
        self._log = log

    def start(self, check: BudgetCheck, exceeded: Callable[[dict[str, Any]], None]) -> asyncio.Task[None]:
        return asyncio.ensure_future(self._run(check, exceeded))

    def _spent_now(self, check: BudgetCheck) -> float | None:
        start: Edge = check.start.result()
        end = read_edge(self._sampler, check.tree, refresh=False)
        measured = measure_window(self._sampler, start, end, check.started_at, end.read_at)
        return spent(check.budget, measured.attributed_j, self._impact)

    async def _run(self, check: BudgetCheck, exceeded: Callable[[dict[str, Any]], None]) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(CHECK_EVERY_S)
            try:
                value = await loop.run_in_executor(self._executor, self._spent_now, check)
            except Exception:
                self._log.exception("jupyterlab-carbon: could not check the budget of execution %s", check.msg_id)
                return
            if value is None:
                self._log.warning(
                    "jupyterlab-carbon: budget of execution %s not checked: %s", check.msg_id, why_unknown(check.budget)
                )
                return
            if value < check.budget.limit:
                continue
            exceeded(
                {"exceeded_at": time.time(), "spent": value, "limit": check.budget.limit, "kind": check.budget.kind}
            )
            if check.budget.stop:
                self._log.info(
                    "jupyterlab-carbon: interrupting kernel %s: execution %s spent %g of its budget %s",
                    check.kernel_id,
                    check.msg_id,
                    value,
                    check.budget.text,
                )
                await self._interrupt(check.kernel_id)
            return
