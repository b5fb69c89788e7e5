"""The first screenful of the task list read straight from SQLite, for the TUI's first frame.

stdlib sqlite3, read-only, a few milliseconds: no pydantic, no aiosqlite, no Docker. The rows
carry only what the task table shows; the store's real models replace them a moment later.
Anything unexpected (no database yet, a lock, an old schema) just means no preview."""

from __future__ import annotations

import sqlite3
from datetime import datetime
from pathlib import Path
from typing import NamedTuple

LIVE = "state NOT IN ('deleted', 'cleaned')"  # the store's live_tasks_page uses these too
ORDER = "ORDER BY created_at, id"


class TaskPreview(NamedTuple):
    id: str
    name: str
    state: str
    agent_state: str
    branch: str
    created_at: datetime


def preview(db: Path, limit: int) -> list[TaskPreview]:
    if not db.is_file():
        return []
    try:
        conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=0.2)
    except sqlite3.Error:
        return []
    try:
        rows = conn.execute(
            f"SELECT id, name, state, agent_state, branch, created_at FROM tasks "
            f"WHERE {LIVE} {ORDER} LIMIT ?",
            (limit,),
        ).fetchall()
        return [
            TaskPreview(r[0], r[1], r[2], r[3], r[4], datetime.fromisoformat(r[5])) for r in rows
        ]
    except (sqlite3.Error, ValueError, TypeError):
        return []
    finally:
        conn.close()
