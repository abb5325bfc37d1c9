"""The run ledger: where every measured cell execution is kept (SQLite by default, any SQLAlchemy URL).

The store's names load on first use (PEP 562): SQLAlchemy takes ~0.3 s to import, which kernels
reading ``ledger.annotations`` or ``ledger.query`` never need, and which ``jupyter carbon run``
pays on a thread while its kernel starts.
"""

# No `from __future__ import annotations` here: it would bind `annotations`, the name of a submodule.
from typing import TYPE_CHECKING, Any

from .query import GROUP_KEYS, SORT_KEYS, UNSET, RunQuery

if TYPE_CHECKING:
    from .store import COUNT_CAP, MAX_LIMIT, Ledger, LedgerError, RunPage, default_ledger_path

_STORE_NAMES = frozenset({"COUNT_CAP", "MAX_LIMIT", "Ledger", "LedgerError", "RunPage", "default_ledger_path"})

__all__ = [
    "COUNT_CAP",
    "GROUP_KEYS",
    "MAX_LIMIT",
    "SORT_KEYS",
    "UNSET",
    "Ledger",
    "LedgerError",
    "RunPage",
    "RunQuery",
    "default_ledger_path",
]


def __getattr__(name: str) -> Any:
    if name in _STORE_NAMES:
        from . import store

        return getattr(store, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
