"""What a user attaches to one execution (experiment, name, tags, metrics, sub-windows, budget...).

The kernel keeps them as the ``%%carbon`` magic and the run API set them, and publishes each
change; the server's watcher applies the same changes to the execution it records. One model,
one merge, on both sides. Light: no IPython, no server.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any

# Keys kept as they come in a run record's ``extra``.
EXTRA_KEYS = ("budget", "per", "repeat", "flops", "flops_declared")
# A kernel's annotation is kept in the run's ``extra`` and sent with every listing of the run:
# one may weigh this much as JSON and nest this deep, and a run keeps this many sub-windows.
MAX_ANNOTATION_CHARS = 65_536
MAX_ANNOTATION_DEPTH = 8
MAX_WINDOWS = 1_000


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
            checked[key] = _stored_json(value, key)
        elif key == "status":
            if value != "error":
                raise ValueError(f"status can only be 'error', not {value!r}")
            checked[key] = value
        elif key in EXTRA_KEYS:
            if not isinstance(value, dict):
                raise ValueError(f"{key} must be an object")
            checked[key] = _stored_json(value, key)
        else:
            raise ValueError(f"unknown annotation {key!r}")
    count = checked.get("flops", {}).get("count")
    if count is not None and (isinstance(count, bool) or not isinstance(count, int | float) or count < 0):
        raise ValueError(f"flops.count must be a number of at least 0, not {count!r}")
    return checked


def _stored_json(value: Any, key: str) -> Any:
    """``value`` if the ledger can store and every listing send it: finite numbers a float can
    hold, text without lone surrogates, bounded depth and size; ValueError naming what is wrong."""
    from .ledger.annotations import lone_surrogate_at

    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if depth > MAX_ANNOTATION_DEPTH:
            raise ValueError(f"{key} nests deeper than {MAX_ANNOTATION_DEPTH} levels")
        if isinstance(item, dict):
            stack.extend((v, depth + 1) for v in item.values())
        elif isinstance(item, list):
            stack.extend((v, depth + 1) for v in item)
        elif isinstance(item, int | float) and not isinstance(item, bool):
            try:
                finite = math.isfinite(float(item))
            except OverflowError:
                finite = False
            if not finite:
                raise ValueError(f"{key} holds a number no float can hold: {str(item)[:40]}")
        elif not (item is None or isinstance(item, bool | str)):
            raise ValueError(f"{key} holds a {type(item).__name__}, not JSON")
    where = lone_surrogate_at({key: value})
    if where is not None:
        raise ValueError(f"{where} holds a lone surrogate (half of a UTF-16 pair)")
    if len(json.dumps(value)) > MAX_ANNOTATION_CHARS:
        raise ValueError(f"{key} weighs more than {MAX_ANNOTATION_CHARS:,} characters as JSON")
    return value
