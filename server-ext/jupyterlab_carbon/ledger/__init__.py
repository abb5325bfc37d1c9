"""The run ledger: where every measured cell execution is kept (SQLite by default, any SQLAlchemy URL)."""

from .query import GROUP_KEYS, SORT_KEYS, UNSET, RunQuery
from .store import COUNT_CAP, MAX_LIMIT, Ledger, LedgerError, RunPage, default_ledger_path

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
