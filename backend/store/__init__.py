"""The SQLite store (aiosqlite, WAL): the single source of truth shared by every Corral process."""

from backend.store.store import Store

__all__ = ["Store"]
