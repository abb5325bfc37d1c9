"""Prometheus metrics on jupyter_server's own ``/metrics`` endpoint (authenticated as Jupyter configures it).

A collector registered on prometheus_client's default registry, which the server's endpoint
exposes; nothing is computed between scrapes except the sums of finished runs:

* ``jupyterlab_carbon_node_energy_joules_total{channel,domain,method}``: the node's energy per
  meter channel (counters as read, power integrated where a channel only gives power); power is
  left to ``rate()``;
* ``jupyterlab_carbon_attributed_energy_joules_total{kernel_id,notebook}`` and
  ``jupyterlab_carbon_attributed_emissions_grams_total{kernel_id,notebook}``: what this server's
  recorded runs used, per kernel and notebook;
* ``jupyterlab_carbon_runs_total{status}`` and ``jupyterlab_carbon_run_flags_total{flag}``.
"""

from __future__ import annotations

import contextlib
import threading
from collections import Counter, defaultdict
from collections.abc import Iterator
from typing import Any

from prometheus_client import REGISTRY
from prometheus_client.core import CounterMetricFamily
from prometheus_client.registry import Collector

from .records import RunRecord
from .sampler import Sampler

PREFIX = "jupyterlab_carbon"


class CarbonCollector(Collector):
    """The node's meters and this server's recorded runs, as Prometheus counters."""

    def __init__(self, sampler: Sampler) -> None:
        self._sampler = sampler
        self._lock = threading.Lock()
        self._energy: defaultdict[tuple[str, str], float] = defaultdict(float)
        self._grams: defaultdict[tuple[str, str], float] = defaultdict(float)
        self._statuses: Counter[str] = Counter()
        self._flags: Counter[str] = Counter()

    def add_run(self, record: RunRecord) -> None:
        """A run was recorded (called on the event loop for each)."""
        key = (record.kernel_id, record.notebook_path or "")
        grams = (record.impact or {}).get("gco2e")
        with self._lock:
            self._energy[key] += record.attributed_j
            if isinstance(grams, int | float):
                self._grams[key] += grams
            self._statuses[record.status] += 1
            self._flags.update(record.flags)

    def collect(self) -> Iterator[CounterMetricFamily]:
        node = CounterMetricFamily(
            f"{PREFIX}_node_energy_joules",
            "Energy of the node per meter channel since its counter's origin (use rate() for watts).",
            labels=["channel", "domain", "method"],
        )
        latest = self._sampler.latest()
        if latest is not None:
            for channel, joules in zip(self._sampler.channels, latest.joules, strict=False):
                node.add_metric([channel.id, channel.domain.value, channel.method.value], joules)
        yield node
        with self._lock:
            energy, grams = dict(self._energy), dict(self._grams)
            statuses, flags = dict(self._statuses), dict(self._flags)
        attributed = CounterMetricFamily(
            f"{PREFIX}_attributed_energy_joules",
            "Energy attributed to the recorded cell executions, per kernel and notebook.",
            labels=["kernel_id", "notebook"],
        )
        for (kernel_id, notebook), joules in energy.items():
            attributed.add_metric([kernel_id, notebook], joules)
        yield attributed
        emissions = CounterMetricFamily(
            f"{PREFIX}_attributed_emissions_grams",
            "CO2e (grams) of the recorded cell executions under the intensity in force, per kernel and notebook.",
            labels=["kernel_id", "notebook"],
        )
        for (kernel_id, notebook), value in grams.items():
            emissions.add_metric([kernel_id, notebook], value)
        yield emissions
        yield _counts(f"{PREFIX}_runs", "Recorded cell executions by status.", "status", statuses)
        yield _counts(f"{PREFIX}_run_flags", "Recorded cell executions carrying each flag.", "flag", flags)

    def describe(self) -> list[Any]:
        """The metric names, without reading anything (the registry refuses a second collector of them)."""
        names = ("node_energy_joules", "attributed_energy_joules", "attributed_emissions_grams", "runs", "run_flags")
        return [CounterMetricFamily(f"{PREFIX}_{name}", name) for name in names]


def _counts(name: str, documentation: str, label: str, counts: dict[str, int]) -> CounterMetricFamily:
    family = CounterMetricFamily(name, documentation, labels=[label])
    for value, count in counts.items():
        family.add_metric([value], count)
    return family


def register(collector: CarbonCollector) -> bool:
    """Add the collector to the registry the server's /metrics serves; False if one is there already."""
    try:
        REGISTRY.register(collector)
    except ValueError:  # another server in this process registered its own: the first one reports
        return False
    return True


def unregister(collector: CarbonCollector) -> None:
    with contextlib.suppress(KeyError):  # never registered (another server's collector reports)
        REGISTRY.unregister(collector)
