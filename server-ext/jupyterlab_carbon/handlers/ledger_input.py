"""The ledger endpoints' input, checked: the shared run filters, run ids and annotation bodies.

Every check answers a 400 that names the parameter or field and says what it accepts, so a
client's bug is found from the message alone, and nothing malformed reaches the database.
"""

from __future__ import annotations

import math
import re
from typing import Any, cast

import tornado.web

from ..ledger.annotations import (
    COMPARE_MAX,
    EXPERIMENT_MAX,
    METRIC_NAME_MAX,
    NOTE_MAX,
    QUERY_TEXT_MAX,
    TAG_MAX,
    TAGS_PER_RUN,
)
from ..ledger.query import DELETED, METHODS, SOURCES, RunQuery
from .base import CarbonHandler, checked_text

# Epoch seconds; 1e11 is the year 5138, far past any run and far below a float's limits.
MAX_EPOCH_S = 1e11
MAX_OFFSET = 10**12
RUN_ID = re.compile(r"[0-9a-f]{32}")  # uuid4 hex, as the server and the importer mint them
# The bounds of filters and of what a run may carry are the ledger's own (ledger/annotations.py).
MAX_REPEATED = 32  # tag and flag filters
MAX_METRICS = 64
# Runs one request may change: a client changes a larger selection in batches of this many.
MAX_RUN_IDS = 1000
COMPARE_RUNS = (2, COMPARE_MAX)
# 1,000 run ids take 35 KB and a note of 4,000 characters at most 24 KB as JSON escapes:
# a quarter of a MiB leaves room and refuses a flood.
BODY_LIMIT = 256 * 1024


def run_query(handler: CarbonHandler) -> RunQuery:
    """The shared filters of GET runs, runs/groups, experiments (and export), within what this server shows."""
    text = handler.text_argument
    since = handler.number_argument("since", None, 0, MAX_EPOCH_S)
    until = handler.number_argument("until", None, 0, MAX_EPOCH_S)
    return RunQuery(
        q=text("q", QUERY_TEXT_MAX),
        notebook_path=text("notebook_path", QUERY_TEXT_MAX),
        experiment=text("experiment", QUERY_TEXT_MAX),
        tags=handler.text_arguments("tag", TAG_MAX, MAX_REPEATED),
        kernel_id=text("kernel_id", QUERY_TEXT_MAX),
        user=text("user", QUERY_TEXT_MAX),
        since=since,
        until=until,
        method=cast(Any, handler.choice_argument("method", METHODS, None)),
        flags=handler.text_arguments("flag", QUERY_TEXT_MAX, MAX_REPEATED),
        status=text("status", QUERY_TEXT_MAX),
        source=handler.choice_argument("source", SOURCES, None),
        deleted=cast(Any, handler.choice_argument("deleted", DELETED, "exclude")),
        visible_users=handler.visible_users,
        msg_id=text("msg_id", QUERY_TEXT_MAX),
        code_hash=text("code_hash", QUERY_TEXT_MAX),
    )


def bad(message: str) -> tornado.web.HTTPError:
    return tornado.web.HTTPError(400, message)


def body_object(handler: CarbonHandler, allowed: tuple[str, ...], required: tuple[str, ...]) -> dict[str, Any]:
    """The request's JSON object, with only ``allowed`` fields and every ``required`` one."""
    body = handler.json_body(BODY_LIMIT, empty=None)
    if not isinstance(body, dict):
        raise bad(f"The body must be a JSON object with {', '.join(repr(f) for f in allowed)}")
    unknown = sorted(set(body) - set(allowed))
    if unknown:
        takes = ", ".join(map(repr, allowed))
        raise bad(f"Unknown field(s) {', '.join(map(repr, unknown))[:200]}; this endpoint takes {takes}")
    missing = [field for field in required if field not in body]
    if missing:
        raise bad(f"The body lacks {', '.join(map(repr, missing))}")
    return body


def run_ids(value: Any, field: str = "run_ids", bounds: tuple[int, int] = (1, MAX_RUN_IDS)) -> list[str]:
    """A list of distinct run ids, between ``bounds`` in number."""
    low, high = bounds
    if not isinstance(value, list) or not low <= len(value) <= high:
        raise bad(f"'{field}' must be a list of {low} to {high} run ids")
    for item in value:
        if not isinstance(item, str) or not RUN_ID.fullmatch(item):
            shown = item[:64] if isinstance(item, str) else item
            raise bad(f"'{field}' holds {shown!r}, not a run id (32 lowercase hex digits, as GET runs lists them)")
    if len(set(value)) != len(value):
        raise bad(f"'{field}' lists a run id twice")
    return cast(list[str], value)


def experiment(value: Any, field: str = "experiment") -> str:
    """An experiment name: not only spaces, at most EXPERIMENT_MAX, no control characters."""
    if not isinstance(value, str) or not value.strip():
        raise bad(f"'{field}' must be a non-empty string of at most {EXPERIMENT_MAX} characters")
    return checked_text(field, value, EXPERIMENT_MAX)


def tags(value: Any, field: str) -> tuple[str, ...]:
    """Tags: at most 32 strings of 1 to 64 characters, without control characters."""
    if not isinstance(value, list) or len(value) > TAGS_PER_RUN:
        raise bad(f"'{field}' must be a list of at most {TAGS_PER_RUN} tags")
    for tag in value:
        if not isinstance(tag, str) or not tag.strip():
            raise bad(f"'{field}' holds {tag!r}; a tag is a non-empty string of at most {TAG_MAX} characters")
        checked_text(field, tag, TAG_MAX)
    return tuple(cast(list[str], value))


def note(value: Any) -> str | None:
    """A note: null (none) or at most 4000 characters; newlines and tabs allowed, other controls not."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise bad(f"'note' must be a string of at most {NOTE_MAX} characters, or null")
    checked_text("note", re.sub(r"[\n\r\t]", " ", value), NOTE_MAX)
    return value


def metrics(value: Any) -> dict[str, float]:
    """Metrics: an object of at most 64 names (1 to 64 characters) to finite numbers."""
    if not isinstance(value, dict) or len(value) > MAX_METRICS:
        raise bad(f"'metrics' must be an object of at most {MAX_METRICS} names to numbers, e.g. {{\"accuracy\": 0.93}}")
    checked: dict[str, float] = {}
    for name, number in value.items():
        if not name.strip():
            raise bad("'metrics' has an empty name")
        checked_text("metrics", name, METRIC_NAME_MAX)
        try:
            finite = not isinstance(number, bool) and math.isfinite(number)
        except (TypeError, OverflowError):  # not a number, or an integer beyond any float
            finite = False
        if not finite:
            raise bad(f"'metrics' value of {name[:64]!r} must be a finite number, got {str(number)[:40]}")
        checked[name] = float(number)
    return checked
