"""What the ledger can be asked: the filters of a search, its sort keys and its groupings.

Plain values, no database: the REST handlers build a ``RunQuery`` from a request and the store
turns it into SQL, so both agree on one definition of each filter.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Final, Literal


@dataclass(frozen=True)
class RunQuery:
    """Which runs: every given filter must hold (None or empty means "any")."""

    q: str | None = None  # substring, case-insensitive, of notebook_path, code_preview, experiment or a tag
    notebook_path: str | None = None
    experiment: str | None = None
    tags: tuple[str, ...] = ()  # runs carrying all of them
    kernel_id: str | None = None
    user: str | None = None
    since: float | None = None  # since <= started_at
    until: float | None = None  # started_at < until
    method: Literal["measured", "modeled"] | None = None  # measured: no channel modeled; modeled: any
    flags: tuple[str, ...] = ()  # runs carrying all of them
    status: str | None = None
    source: str | None = None
    deleted: Literal["exclude", "only", "include"] = "exclude"
    visible_users: tuple[str, ...] | None = None  # None: every user's runs; else rows whose user is in it or null
    # GET runs' older filters, kept for the badges: one execution, and every run of the same code.
    msg_id: str | None = None
    code_hash: str | None = None


SORT_KEYS = ("started_at", "duration_s", "energy", "co2e", "cost", "notebook_path", "experiment", "execution_count")
GROUP_KEYS = ("experiment", "notebook", "day", "user", "kernel")
SOURCES = ("server", "in-kernel", "headless", "imported")
METHODS = ("measured", "modeled")
DELETED = ("exclude", "only", "include")


class _Unset(Enum):
    """The type of UNSET: an argument not given, where None is a value (clearing a note)."""

    UNSET = "UNSET"


UNSET: Final = _Unset.UNSET
Unset = Literal[_Unset.UNSET]
