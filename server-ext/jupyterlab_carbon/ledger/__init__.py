"""The run ledger: where every measured cell execution is kept (SQLite by default, any SQLAlchemy URL)."""

from .store import MAX_LIMIT, Ledger, LedgerError, default_ledger_path

__all__ = ["MAX_LIMIT", "Ledger", "LedgerError", "default_ledger_path"]
