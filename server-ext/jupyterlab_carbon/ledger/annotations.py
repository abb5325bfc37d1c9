"""Checks on what users write into the ledger (experiments, tags, notes, metrics) and on queries.

Every check raises ValueError with a message fit to show the user who sent the value: the REST
handlers answer it as a 400.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from typing import Any

from .query import DELETED, METHODS, SOURCES, RunQuery

EXPERIMENT_MAX = 1024  # long enough for the deepest notebook path, its default
TAG_MAX = 64
TAGS_PER_RUN = 32
NOTE_MAX = 4000
METRIC_NAME_MAX = 64
QUERY_TEXT_MAX = 1000
COMPARE_MAX = 50
# A lone surrogate is a JSON escape such as \ud800 without its pair: no UTF-8 text holds one.
SURROGATE = re.compile(r"[\ud800-\udfff]")
# Control characters, or a lone surrogate: text no UTF-8 file, database or CSV export can hold.
CONTROL = re.compile(r"[\x00-\x1f\x7f\ud800-\udfff]")


def has_control(value: str) -> bool:
    return CONTROL.search(value) is not None


def lone_surrogate_at(value: Any) -> str | None:
    """Where in a parsed JSON value a string (or a key) holds a lone surrogate: "'field'" or
    "'field.sub'" (the value itself: "The body"); None when nowhere."""
    stack: list[tuple[Any, str]] = [(value, "")]
    while stack:
        item, path = stack.pop()
        texts: list[str] = []
        if isinstance(item, str):
            texts = [item]
        elif isinstance(item, dict):
            texts = list(item)
            stack.extend((child, f"{path}.{key}" if path else str(key)) for key, child in item.items())
        elif isinstance(item, list):
            stack.extend((child, path) for child in item)
        if any(SURROGATE.search(text) for text in texts):
            return f"'{path}'" if path else "The body"
    return None


def experiment_name(value: Any) -> str:
    """An experiment name: non-empty text of at most EXPERIMENT_MAX characters, one line."""
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"An experiment name must be non-empty text, not {value!r}.")
    if len(value) > EXPERIMENT_MAX:
        raise ValueError(f"An experiment name has at most {EXPERIMENT_MAX} characters, not {len(value)}.")
    if has_control(value):
        raise ValueError("An experiment name cannot hold line breaks, other control characters or lone surrogates.")
    return value


def tag(value: Any) -> str:
    """One tag: 1 to TAG_MAX characters, one line, surrounding spaces removed."""
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"A tag must be non-empty text, not {value!r}.")
    stripped = value.strip()
    if len(stripped) > TAG_MAX:
        raise ValueError(f"A tag has at most {TAG_MAX} characters: {stripped[:TAG_MAX]!r}... has {len(stripped)}.")
    if has_control(stripped):
        raise ValueError(f"A tag cannot hold line breaks, other control characters or lone surrogates: {stripped!r}.")
    return stripped


def tag_list(values: Any, what: str = "tags") -> list[str]:
    """Tags as stored: each checked, sorted, duplicates dropped."""
    if isinstance(values, str) or not isinstance(values, Iterable):
        raise ValueError(f"{what} must be a list of text, not {values!r}.")
    return sorted({tag(value) for value in values})


def run_tags(current: Iterable[str], add: Iterable[str], remove: Iterable[str]) -> list[str]:
    """A run's tags after adding and removing some, within TAGS_PER_RUN."""
    tags = sorted((set(current) | set(add)) - set(remove))
    if len(tags) > TAGS_PER_RUN:
        raise ValueError(f"A run has at most {TAGS_PER_RUN} tags; this change would give one {len(tags)}.")
    return tags


def note(value: Any) -> str | None:
    """A note: text of at most NOTE_MAX characters; None or blank clears it."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValueError(f"A note must be text or null, not {type(value).__name__}.")
    if len(value) > NOTE_MAX:
        raise ValueError(f"A note has at most {NOTE_MAX} characters, not {len(value)}.")
    if SURROGATE.search(value):
        raise ValueError("A note cannot hold lone surrogates (text that is not valid Unicode).")
    # PostgreSQL refuses NUL in text.
    return value.replace("\x00", "\ufffd") if value.strip() else None


def metrics(values: Any) -> dict[str, float]:
    """Metrics: names of 1 to METRIC_NAME_MAX characters, each a finite number."""
    if not isinstance(values, Mapping):
        raise ValueError(f"metrics must be an object of names to numbers, not {values!r}.")
    checked: dict[str, float] = {}
    for name, value in values.items():
        if not isinstance(name, str) or not name.strip() or len(name) > METRIC_NAME_MAX or has_control(name):
            raise ValueError(f"A metric name must be 1 to {METRIC_NAME_MAX} characters on one line, not {name!r}.")
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            raise ValueError(f"The metric {name!r} must be a finite number, not {value!r}.")
        checked[name] = float(value)
    return checked


def run_ids(values: Any, least: int = 0, most: int | None = None) -> list[str]:
    """A list of run ids, in the order given, each once."""
    if isinstance(values, str) or not isinstance(values, Iterable):
        raise ValueError(f"run_ids must be a list of run ids, not {values!r}.")
    ids = list(values)
    if not all(isinstance(run_id, str) and run_id for run_id in ids):
        raise ValueError("Every run id must be non-empty text.")
    if len(set(ids)) != len(ids):
        raise ValueError("run_ids names a run more than once.")
    if len(ids) < least or (most is not None and len(ids) > most):
        bound = f"{least} to {most}" if most is not None else f"at least {least}"
        raise ValueError(f"run_ids must name {bound} runs, not {len(ids)}.")
    return ids


def visible(values: Any) -> tuple[str, ...] | None:
    """``visible_users``: None (everyone's runs) or a tuple of user names."""
    if values is None:
        return None
    if isinstance(values, str) or not isinstance(values, Iterable) or not all(isinstance(v, str) for v in values):
        raise ValueError(f"visible_users must be None or a tuple of user names, not {values!r}.")
    return tuple(values)


def query(q: Any) -> RunQuery:
    """A RunQuery whose values are all of the kinds and in the ranges the store understands."""
    if not isinstance(q, RunQuery):
        raise ValueError(f"Expected a RunQuery, not {type(q).__name__}.")
    if q.q is not None and (not isinstance(q.q, str) or len(q.q) > QUERY_TEXT_MAX):
        raise ValueError(f"q must be text of at most {QUERY_TEXT_MAX} characters.")
    for name in ("notebook_path", "experiment", "kernel_id", "user", "status", "msg_id", "code_hash"):
        value = getattr(q, name)
        if value is not None and not isinstance(value, str):
            raise ValueError(f"{name} must be text, not {value!r}.")
    for name in ("tags", "flags"):
        values = getattr(q, name)
        if not isinstance(values, tuple) or not all(isinstance(v, str) for v in values):
            raise ValueError(f"{name} must be a tuple of text, not {values!r}.")
    for name in ("since", "until"):
        value = getattr(q, name)
        if value is not None and (
            isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value)
        ):
            raise ValueError(f"{name} must be a finite number of epoch seconds, not {value!r}.")
    if q.method is not None and q.method not in METHODS:
        raise ValueError(f"method must be one of {', '.join(METHODS)}, not {q.method!r}.")
    if q.source is not None and q.source not in SOURCES:
        raise ValueError(f"source must be one of {', '.join(SOURCES)}, not {q.source!r}.")
    if q.deleted not in DELETED:
        raise ValueError(f"deleted must be one of {', '.join(DELETED)}, not {q.deleted!r}.")
    visible(q.visible_users)
    return q
