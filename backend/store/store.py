"""Async access to the SQLite store.

Writes are short `BEGIN IMMEDIATE` transactions (a deferred transaction that later upgrades to a
write lock fails with SQLITE_BUSY without waiting, which breaks under many processes). Task rows
carry `version`: an update names the version it read and loses cleanly if someone else won.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import aiosqlite

from backend import task_preview
from backend.errors import ConflictError, NotFoundError, StoreError, UsageError
from backend.models import (
    AgentState,
    Decision,
    Event,
    Execution,
    Sample,
    Task,
    TaskSpec,
    TaskState,
    utcnow,
)
from backend.store.schema import MIGRATIONS, SCHEMA_VERSION

TASK_COLUMNS = (
    "id, name, slug, state, repo, base_ref, base_commit, branch, image, spec, container_id, "
    "workspace, description, agent_state, reason, version, created_at, updated_at"
)
_MUTABLE = {
    "state",
    "container_id",
    "workspace",
    "description",
    "agent_state",
    "reason",
    "spec",
    "image",
    "name",
}


def _ts(dt: datetime) -> str:
    return dt.isoformat(timespec="microseconds")


def task_from_row(row: Sequence[Any]) -> Task:
    return Task(
        id=row[0],
        name=row[1],
        slug=row[2],
        state=TaskState(row[3]),
        repo=row[4],
        base_ref=row[5],
        base_commit=row[6],
        branch=row[7],
        image=row[8],
        spec=TaskSpec.model_validate_json(row[9]),
        container_id=row[10],
        workspace=row[11],
        description=row[12],
        agent_state=AgentState(row[13]),
        reason=row[14],
        version=row[15],
        created_at=datetime.fromisoformat(row[16]),
        updated_at=datetime.fromisoformat(row[17]),
    )


def event_from_row(row: Sequence[Any]) -> Event:
    return Event(
        id=row[0],
        task_id=row[1],
        kind=row[2],
        payload=json.loads(row[3]),
        created_at=datetime.fromisoformat(row[4]),
    )


class Store:
    def __init__(self, conn: aiosqlite.Connection, path: Path) -> None:
        self.conn = conn
        self.path = path
        # One connection serves every coroutine of the process: two write transactions must not
        # interleave on it ("cannot start a transaction within a transaction", or worse, one
        # coroutine's ROLLBACK undoing another's writes).
        self._write_lock = asyncio.Lock()

    def file_signature(self) -> tuple[int, ...]:
        """Size and mtime of the database and its WAL: any commit, by any process, changes
        them. Lets a watcher skip a query (and a thread hop) when nothing was written."""
        sig: list[int] = []
        for path in (self.path, self.path.with_name(self.path.name + "-wal")):
            try:
                st = path.stat()
            except OSError:
                sig += [-1, -1]
                continue
            sig += [st.st_size, st.st_mtime_ns]
        return tuple(sig)

    # -- opening ---------------------------------------------------------------------------

    @classmethod
    async def open(cls, path: Path) -> Store:
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            conn = await aiosqlite.connect(path, isolation_level=None, timeout=30)
        except sqlite3.Error as exc:
            raise StoreError(f"cannot open the store at {path} ({exc}); check the path") from exc
        store = cls(conn, path)
        try:
            # One round trip to the connection's thread, not three: the TUI opens the store
            # while it draws, and each hop waits for the event loop's turn.
            await conn.executescript(
                "PRAGMA busy_timeout = 30000; PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;"
            )
            await store._migrate()
        except BaseException:
            await conn.close()
            raise
        return store

    async def close(self) -> None:
        await self.conn.close()

    async def _migrate(self) -> None:
        version = await self._user_version()
        if version > SCHEMA_VERSION:
            raise StoreError(
                f"the store at {self.path} has schema version {version}, newer than this "
                f"Corral knows ({SCHEMA_VERSION}); upgrade Corral or set CORRAL_HOME elsewhere"
            )
        if version == SCHEMA_VERSION:
            return
        async with self.write():
            # Re-read under the write lock: another process may have migrated meanwhile.
            version = await self._user_version()
            for number in range(version, SCHEMA_VERSION):
                for statement in _split_sql(MIGRATIONS[number]):
                    await self.conn.execute(statement)
                await self.conn.execute(f"PRAGMA user_version = {number + 1}")

    async def _user_version(self) -> int:
        async with self.conn.execute("PRAGMA user_version") as cur:
            row = await cur.fetchone()
        return int(row[0]) if row else 0

    @asynccontextmanager
    async def write(self) -> AsyncIterator[aiosqlite.Connection]:
        """One short write transaction, taken with the write lock up front."""
        async with self._write_lock:
            await self.conn.execute("BEGIN IMMEDIATE")
            try:
                yield self.conn
            except BaseException:
                await self.conn.execute("ROLLBACK")
                raise
            else:
                await self.conn.execute("COMMIT")

    async def _fetchall(self, sql: str, params: Iterable[Any] = ()) -> list[sqlite3.Row]:
        async with self.conn.execute(sql, tuple(params)) as cur:
            return list(await cur.fetchall())

    async def _fetchone(self, sql: str, params: Iterable[Any] = ()) -> sqlite3.Row | None:
        async with self.conn.execute(sql, tuple(params)) as cur:
            return await cur.fetchone()

    # -- tasks -----------------------------------------------------------------------------

    async def insert_task(self, task: Task, event_payload: dict[str, Any] | None = None) -> Task:
        try:
            async with self.write() as db:
                await db.execute(
                    f"INSERT INTO tasks ({TASK_COLUMNS}) VALUES ({', '.join('?' * 18)})",
                    _task_params(task),
                )
                await self._event(task.id, "task.created", event_payload or {})
        except sqlite3.IntegrityError as exc:
            raise ConflictError(
                f"a task named {task.name!r} already exists; pick another name "
                "or delete the old task with delete-task"
            ) from exc
        return task

    async def get_task(self, task_id: str) -> Task:
        row = await self._fetchone(f"SELECT {TASK_COLUMNS} FROM tasks WHERE id = ?", (task_id,))
        if row is None:
            raise NotFoundError(f"no task with id {task_id}; list tasks with list-tasks")
        return task_from_row(row)

    async def find_task(self, ref: str, *, include_deleted: bool = False) -> Task:
        """A task by exact name, exact id, or unique id prefix."""
        ref = ref.strip()
        if not ref:
            raise UsageError("no task named; give a task name or id (see list-tasks)")
        live = "" if include_deleted else "AND state != 'deleted'"
        rows = await self._fetchall(
            f"SELECT {TASK_COLUMNS} FROM tasks WHERE name = ? {live} ORDER BY created_at DESC",
            (ref,),
        )
        if rows:
            return task_from_row(rows[0])
        escaped = ref.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        rows = await self._fetchall(
            f"SELECT {TASK_COLUMNS} FROM tasks WHERE id LIKE ? ESCAPE '\\' {live} LIMIT 6",
            (escaped + "%",),
        )
        if len(rows) == 1:
            return task_from_row(rows[0])
        if not rows:
            raise NotFoundError(f"no task named {ref!r}; list tasks with list-tasks")
        names = ", ".join(f"{r[1]} ({r[0][:8]})" for r in rows[:5])
        raise UsageError(f"{ref!r} matches several tasks: {names}; give more of the id")

    async def name_taken(self, name: str) -> bool:
        row = await self._fetchone(
            "SELECT 1 FROM tasks WHERE name = ? AND state != 'deleted'", (name.strip(),)
        )
        return row is not None

    async def list_tasks(
        self,
        *,
        states: Sequence[TaskState] | None = None,
        include_deleted: bool = False,
        limit: int | None = None,
    ) -> list[Task]:
        where: list[str] = []
        params: list[Any] = []
        if states:
            where.append(f"state IN ({', '.join('?' * len(states))})")
            params.extend(s.value for s in states)
        elif not include_deleted:
            where.append("state != 'deleted'")
        sql = f"SELECT {TASK_COLUMNS} FROM tasks"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY created_at"
        if limit:
            sql += f" LIMIT {int(limit)}"
        return [task_from_row(r) for r in await self._fetchall(sql, params)]

    async def live_tasks_page(self, after: Task | None, limit: int) -> list[Task]:
        """Tasks not deleted or cleaned, oldest first, `limit` of them after `after` (keyset
        paging: each page costs the same however deep it is). The TUI shows the first page
        of a 10k-task store at once and appends the rest."""
        sql = f"SELECT {TASK_COLUMNS} FROM tasks WHERE {task_preview.LIVE}"
        params: list[Any] = []
        if after is not None:
            sql += " AND (created_at, id) > (?, ?)"
            params += [_ts(after.created_at), after.id]
        sql += f" {task_preview.ORDER} LIMIT {int(limit)}"
        return [task_from_row(r) for r in await self._fetchall(sql, params)]

    async def taken_slugs(self, repo: str) -> set[str]:
        rows = await self._fetchall(
            "SELECT slug FROM tasks WHERE repo = ? AND state != 'deleted'", (repo,)
        )
        return {r[0] for r in rows}

    async def update_task(
        self, task: Task, event: tuple[str, dict[str, Any]] | None = None, **changes: Any
    ) -> Task:
        """Apply `changes` if the row still has `task.version`; else raise ConflictError."""
        unknown = set(changes) - _MUTABLE
        if unknown:
            raise ValueError(f"not updatable: {unknown}")
        new = task.model_copy(
            update={**changes, "version": task.version + 1, "updated_at": utcnow()}
        )
        cols = [*changes, "version", "updated_at"]
        params = [_column_value(new, c) for c in cols]
        async with self.write() as db:
            cur = await db.execute(
                f"UPDATE tasks SET {', '.join(c + ' = ?' for c in cols)} "
                "WHERE id = ? AND version = ?",
                (*params, task.id, task.version),
            )
            if cur.rowcount != 1:
                raise ConflictError(
                    f"task {task.name!r} was changed by another Corral process meanwhile; "
                    "look at it again (task-status) and retry"
                )
            if event:
                await self._event(task.id, event[0], event[1])
        return new

    async def purge_task(self, task_id: str) -> None:
        async with self.write() as db:
            for table in ("events", "executions", "decisions", "samples", "checkpoints"):
                await db.execute(f"DELETE FROM {table} WHERE task_id = ?", (task_id,))
            await db.execute("DELETE FROM requests WHERE task_id = ?", (task_id,))
            await db.execute("DELETE FROM tasks WHERE id = ?", (task_id,))

    # -- events ----------------------------------------------------------------------------

    async def _event(self, task_id: str | None, kind: str, payload: dict[str, Any]) -> int:
        cur = await self.conn.execute(
            "INSERT INTO events (task_id, kind, payload, created_at) VALUES (?, ?, ?, ?)",
            (task_id, kind, json.dumps(payload, default=str), _ts(utcnow())),
        )
        return int(cur.lastrowid or 0)

    async def append_event(self, task_id: str | None, kind: str, payload: dict[str, Any]) -> int:
        async with self.write():
            return await self._event(task_id, kind, payload)

    async def append_events(self, rows: Iterable[tuple[str | None, str, dict[str, Any]]]) -> int:
        """Batched ingest: one transaction for many events."""
        now = _ts(utcnow())
        data = [(t, k, json.dumps(p, default=str), now) for t, k, p in rows]
        async with self.write() as db:
            await db.executemany(
                "INSERT INTO events (task_id, kind, payload, created_at) VALUES (?, ?, ?, ?)", data
            )
        return len(data)

    async def events_after(self, after_id: int, limit: int = 1000) -> list[Event]:
        rows = await self._fetchall(
            "SELECT id, task_id, kind, payload, created_at FROM events WHERE id > ? "
            "ORDER BY id LIMIT ?",
            (after_id, limit),
        )
        return [event_from_row(r) for r in rows]

    async def task_events(self, task_id: str, limit: int = 500) -> list[Event]:
        rows = await self._fetchall(
            "SELECT id, task_id, kind, payload, created_at FROM events WHERE task_id = ? "
            "ORDER BY id DESC LIMIT ?",
            (task_id, limit),
        )
        return [event_from_row(r) for r in reversed(rows)]

    async def last_event_id(self) -> int:
        row = await self._fetchone("SELECT COALESCE(MAX(id), 0) FROM events")
        return int(row[0]) if row else 0

    # -- executions, decisions, samples ------------------------------------------------------

    async def add_execution(
        self,
        task_id: str,
        command: str,
        exit_code: int | None,
        duration_ms: int,
        output_tail: str,
        timed_out: bool,
    ) -> Execution:
        now = utcnow()
        async with self.write() as db:
            cur = await db.execute(
                "INSERT INTO executions (task_id, command, exit_code, duration_ms, output_tail, "
                "timed_out, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (task_id, command, exit_code, duration_ms, output_tail, int(timed_out), _ts(now)),
            )
            exec_id = int(cur.lastrowid or 0)
            await self._event(
                task_id,
                "task.exec",
                {
                    "command": command,
                    "exit_code": exit_code,
                    "duration_ms": duration_ms,
                    "timed_out": timed_out,
                },
            )
        return Execution(
            id=exec_id,
            task_id=task_id,
            command=command,
            exit_code=exit_code,
            duration_ms=duration_ms,
            output_tail=output_tail,
            timed_out=timed_out,
            created_at=now,
        )

    async def list_executions(self, task_id: str, limit: int = 500) -> list[Execution]:
        rows = await self._fetchall(
            "SELECT id, task_id, command, exit_code, duration_ms, output_tail, timed_out, "
            "created_at FROM executions WHERE task_id = ? ORDER BY id DESC LIMIT ?",
            (task_id, limit),
        )
        return [
            Execution(
                id=r[0],
                task_id=r[1],
                command=r[2],
                exit_code=r[3],
                duration_ms=r[4],
                output_tail=r[5],
                timed_out=bool(r[6]),
                created_at=datetime.fromisoformat(r[7]),
            )
            for r in reversed(rows)
        ]

    async def add_decision(self, task_id: str, text: str) -> Decision:
        now = utcnow()
        async with self.write() as db:
            cur = await db.execute(
                "INSERT INTO decisions (task_id, text, created_at) VALUES (?, ?, ?)",
                (task_id, text, _ts(now)),
            )
            dec_id = int(cur.lastrowid or 0)
            await self._event(task_id, "task.decision", {"text": text})
        return Decision(id=dec_id, task_id=task_id, text=text, created_at=now)

    async def list_decisions(self, task_id: str) -> list[Decision]:
        rows = await self._fetchall(
            "SELECT id, task_id, text, created_at FROM decisions WHERE task_id = ? ORDER BY id",
            (task_id,),
        )
        return [
            Decision(id=r[0], task_id=r[1], text=r[2], created_at=datetime.fromisoformat(r[3]))
            for r in rows
        ]

    async def add_samples(self, samples: Iterable[Sample]) -> None:
        data = [
            (s.task_id, _ts(s.taken_at), s.cpu_percent, s.memory_bytes, s.memory_limit, s.pids)
            for s in samples
        ]
        async with self.write() as db:
            await db.executemany(
                "INSERT INTO samples (task_id, taken_at, cpu_percent, memory_bytes, "
                "memory_limit, pids) VALUES (?, ?, ?, ?, ?, ?)",
                data,
            )

    async def list_samples(self, task_id: str, limit: int = 600) -> list[Sample]:
        rows = await self._fetchall(
            "SELECT task_id, taken_at, cpu_percent, memory_bytes, memory_limit, pids "
            "FROM samples WHERE task_id = ? ORDER BY taken_at DESC LIMIT ?",
            (task_id, limit),
        )
        return [
            Sample(
                task_id=r[0],
                taken_at=datetime.fromisoformat(r[1]),
                cpu_percent=r[2],
                memory_bytes=r[3],
                memory_limit=r[4],
                pids=r[5],
            )
            for r in reversed(rows)
        ]

    async def peaks(self, task_id: str | None = None) -> dict[str, tuple[float, int]]:
        """task id -> (peak CPU %, peak memory bytes)."""
        sql = "SELECT task_id, MAX(cpu_percent), MAX(memory_bytes) FROM samples"
        params: tuple[Any, ...] = ()
        if task_id:
            sql += " WHERE task_id = ?"
            params = (task_id,)
        rows = await self._fetchall(sql + " GROUP BY task_id", params)
        return {r[0]: (float(r[1]), int(r[2])) for r in rows if r[0]}

    # -- search, counts, requests ----------------------------------------------------------

    async def search(self, query: str, limit: int = 50) -> list[Task]:
        match = _fts_query(query)
        if not match:
            raise UsageError("empty search; give words to look for, e.g. find-task login")
        rows = await self._fetchall(
            f"SELECT {', '.join('t.' + c.strip() for c in TASK_COLUMNS.split(','))} "
            "FROM task_search s JOIN tasks t ON t.rowid = s.rowid "
            "WHERE task_search MATCH ? AND t.state != 'deleted' ORDER BY rank LIMIT ?",
            (match, limit),
        )
        return [task_from_row(r) for r in rows]

    async def count_by_state(self) -> dict[str, int]:
        rows = await self._fetchall("SELECT state, COUNT(*) FROM tasks GROUP BY state")
        return {r[0]: int(r[1]) for r in rows}

    async def checkpoint_counts(self) -> dict[str, int]:
        rows = await self._fetchall("SELECT task_id, COUNT(*) FROM checkpoints GROUP BY task_id")
        return {r[0]: int(r[1]) for r in rows}

    async def execution_counts(self) -> dict[str, int]:
        rows = await self._fetchall("SELECT task_id, COUNT(*) FROM executions GROUP BY task_id")
        return {r[0]: int(r[1]) for r in rows}

    async def request_task(self, request_id: str) -> str | None:
        row = await self._fetchone(
            "SELECT task_id FROM requests WHERE request_id = ?", (request_id,)
        )
        return str(row[0]) if row else None

    async def remember_request(self, request_id: str, task_id: str) -> None:
        async with self.write() as db:
            await db.execute(
                "INSERT OR IGNORE INTO requests (request_id, task_id, created_at) VALUES (?, ?, ?)",
                (request_id, task_id, _ts(utcnow())),
            )


def _task_params(t: Task) -> tuple[Any, ...]:
    return tuple(_column_value(t, c.strip()) for c in TASK_COLUMNS.split(","))


def _column_value(t: Task, column: str) -> Any:
    value = getattr(t, column)
    if column == "spec":
        return t.spec.model_dump_json()
    if isinstance(value, datetime):
        return _ts(value)
    if isinstance(value, (TaskState, AgentState)):
        return value.value
    return value


def _fts_query(query: str) -> str:
    """Words -> an FTS5 prefix query; quoting each word keeps FTS syntax out of user input."""
    words = [w for w in "".join(c if c.isalnum() else " " for c in query).split() if w]
    return " ".join(f'"{w}"*' for w in words)


def _split_sql(script: str) -> list[str]:
    """Split a migration into statements, keeping trigger bodies (BEGIN ... END;) whole."""
    out: list[str] = []
    buf: list[str] = []
    depth = 0
    for line in script.splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("--"):
            continue
        buf.append(line)
        upper = stripped.upper()
        if upper.endswith("BEGIN"):
            depth += 1
        if upper == "END;":
            depth -= 1
        if stripped.endswith(";") and depth == 0:
            out.append("\n".join(buf))
            buf = []
    if buf:
        out.append("\n".join(buf))
    return out
