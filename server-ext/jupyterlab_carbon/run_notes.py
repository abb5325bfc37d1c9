"""What a user attaches to one execution (experiment, name, tags, metrics, sub-windows, budget...).

The kernel keeps them as the ``%%carbon`` magic and the run API set them, and publishes each
change; the server's watcher applies the same changes to the execution it records. One model,
one merge, on both sides. Light: no IPython, no server.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# Keys kept as they come in a run record's ``extra``.
EXTRA_KEYS = ("budget", "per", "repeat", "flops", "flops_declared")


@dataclass
class RunNotes:
    msg_id: str | None = None
    experiment: str | None = None
    name: str | None = None
    tags: set[str] = field(default_factory=set)
    metrics: dict[str, float] = field(default_factory=dict)
    windows: list[dict[str, Any]] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)

    def merge(self, update: dict[str, Any]) -> None:
        """Apply one published change (experiment and name replace; tags, metrics, windows add up)."""
        if "experiment" in update:
            self.experiment = update["experiment"]
        if "name" in update:
            self.name = update["name"]
        self.tags.update(update.get("tags", ()))
        self.metrics.update(update.get("metrics", {}))
        self.windows.extend(update.get("windows", ()))
        for key in EXTRA_KEYS:
            if key in update:
                self.extra[key] = update[key]

    def record_extra(self, attributed_j: float, duration_s: float) -> dict[str, Any]:
        """What a run record keeps in ``extra``: name, budget, per, repeat, FLOPs, sub-windows.

        Counted FLOPs gain the run's achieved FLOP/s and FLOPs per joule (the predictions'
        calibration data), from the run's own energy and duration.
        """
        extra = dict(self.extra)
        if self.name is not None:
            extra["name"] = self.name
        if self.windows:
            extra["windows"] = list(self.windows)
        flops = extra.get("flops")
        if isinstance(flops, dict) and isinstance(flops.get("count"), int | float) and flops["count"] > 0:
            count = float(flops["count"])
            extra["flops"] = {
                **flops,
                "per_s": count / duration_s if duration_s > 0 else None,
                "per_j": count / attributed_j if attributed_j > 0 else None,
            }
        return extra


def checked_update(update: Any) -> dict[str, Any]:
    """An update from a kernel, with every value of a kind the ledger keeps; ValueError otherwise.

    Kernels run user code: what they publish is checked as the REST API checks a user's input.
    """
    from .ledger.annotations import experiment_name, metrics, tag_list

    if not isinstance(update, dict):
        raise ValueError(f"an annotation must be an object, not {type(update).__name__}")
    checked: dict[str, Any] = {}
    for key, value in update.items():
        if key in ("experiment", "name"):
            checked[key] = experiment_name(value)
        elif key == "tags":
            checked[key] = tag_list(value)
        elif key == "metrics":
            checked[key] = metrics(value)
        elif key == "windows":
            if not isinstance(value, list) or not all(isinstance(w, dict) for w in value):
                raise ValueError("windows must be a list of objects")
            checked[key] = value
        elif key in EXTRA_KEYS:
            if not isinstance(value, dict):
                raise ValueError(f"{key} must be an object")
            checked[key] = value
        else:
            raise ValueError(f"unknown annotation {key!r}")
    return checked
