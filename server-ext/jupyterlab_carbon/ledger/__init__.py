"""The run ledger: where every measured cell execution is kept (SQLite by default, any SQLAlchemy URL)."""

from .query import GROUP_KEYS, SORT_KEYS, UNSET, RunQuery
from .store import MAX_LIMIT, Ledger, LedgerError, default_ledger_path

__all__ = [
    "GROUP_KEYS",
    "MAX_LIMIT",
    "SORT_KEYS",
    "UNSET",
    "Ledger",
    "LedgerError",
    "RunQuery",
    "default_ledger_path",
]
