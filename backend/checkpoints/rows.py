"""Checkpoint rows in the store. A row is written last, in one transaction with its event, only
after the ref and the image it names exist (see take.py)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from backend.checkpoints.models import Checkpoint
from backend.errors import NotFoundError
from backend.models import Task, utcnow
from backend.store import Store

COLUMNS = (
    "task_id, n, kind, message, git_ref, commit_sha, image_id, files_changed, layer_size, "
    "log_offsets, event_id, created_at, container_id, fs_fingerprint, head_sha"
)


def _from_row(r: Sequence[Any]) -> Checkpoint:
    return Checkpoint(
        task_id=r[0], n=r[1], kind=r[2], message=r[3], git_ref=r[4], commit_sha=r[5],
        image_id=r[6], files_changed=r[7], layer_size=r[8], log_offsets=json.loads(r[9] or "{}"),
        event_id=r[10], created_at=datetime.fromisoformat(r[11]), container_id=r[12],
        fs_fingerprint=r[13], head_sha=r[14],
    )  # fmt: skip


async def _all(store: Store, sql: str, params: tuple[Any, ...]) -> list[Checkpoint]:
    async with store.conn.execute(sql, params) as cur:
        return [_from_row(r) for r in await cur.fetchall()]


async def list_for(store: Store, task_id: str) -> list[Checkpoint]:
    return await _all(
        store, f"SELECT {COLUMNS} FROM checkpoints WHERE task_id = ? ORDER BY n", (task_id,)
    )


async def list_all(store: Store) -> list[Checkpoint]:
    return await _all(store, f"SELECT {COLUMNS} FROM checkpoints ORDER BY task_id, n", ())


async def latest(store: Store, task_id: str) -> Checkpoint | None:
    found = await _all(
        store,
        f"SELECT {COLUMNS} FROM checkpoints WHERE task_id = ? ORDER BY n DESC LIMIT 1",
        (task_id,),
    )
    return found[0] if found else None


async def latest_of_kind(store: Store, task_id: str, kind: str) -> Checkpoint | None:
    found = await _all(
        store,
        f"SELECT {COLUMNS} FROM checkpoints WHERE task_id = ? AND kind = ? ORDER BY n DESC LIMIT 1",
        (task_id, kind),
    )
    return found[0] if found else None


async def get(store: Store, task: Task, n: int) -> Checkpoint:
    found = await _all(
        store, f"SELECT {COLUMNS} FROM checkpoints WHERE task_id = ? AND n = ?", (task.id, n)
    )
    if not found:
        raise NotFoundError(
            f"task {task.name!r} has no checkpoint {n}; list them with: checkpoints {task.name}"
        )
    return found[0]


async def next_number(store: Store, task_id: str) -> int:
    """Hand out the task's next checkpoint number. Numbers are never reused: a crash or a prune
    leaves a gap, so a number always names one checkpoint for the task's whole life."""
    async with store.write() as db:
        async with db.execute(
            "SELECT MAX(n) FROM checkpoints WHERE task_id = ?", (task_id,)
        ) as cur:
            row = await cur.fetchone()
        floor = int(row[0] or 0) if row else 0
        async with db.execute(
            "INSERT INTO checkpoint_numbers (task_id, last_n) VALUES (?, ?) "
            "ON CONFLICT(task_id) DO UPDATE SET last_n = MAX(last_n, ?) + 1 RETURNING last_n",
            (task_id, floor + 1, floor),
        ) as cur:
            got = await cur.fetchone()
    assert got is not None
    return int(got[0])


async def last_event_id(store: Store, task_id: str) -> int:
    async with store.conn.execute(
        "SELECT COALESCE(MAX(id), 0) FROM events WHERE task_id = ?", (task_id,)
    ) as cur:
        row = await cur.fetchone()
    return int(row[0]) if row else 0


async def insert(store: Store, cp: Checkpoint) -> None:
    """The row and its event, in one transaction: the checkpoint exists from this moment."""
    async with store.write() as db:
        await db.execute(
            f"INSERT INTO checkpoints ({COLUMNS}) VALUES ({', '.join('?' * 15)})",
            (
                cp.task_id, cp.n, cp.kind, cp.message, cp.git_ref, cp.commit_sha, cp.image_id,
                cp.files_changed, cp.layer_size, json.dumps(cp.log_offsets), cp.event_id,
                cp.created_at.isoformat(timespec="microseconds"), cp.container_id,
                cp.fs_fingerprint, cp.head_sha,
            ),
        )  # fmt: skip
        await _event(db, cp.task_id, "checkpoint.created", _summary(cp))


def _summary(cp: Checkpoint) -> dict[str, Any]:
    return {
        "n": cp.n,
        "kind": cp.kind,
        "message": cp.message,
        "commit": cp.commit_sha[:12],
        "image": (cp.image_id or "")[7:19] or None,
        "files_changed": cp.files_changed,
    }


async def _event(db: Any, task_id: str, kind: str, payload: dict[str, Any]) -> None:
    await db.execute(
        "INSERT INTO events (task_id, kind, payload, created_at) VALUES (?, ?, ?, ?)",
        (
            task_id,
            kind,
            json.dumps(payload, default=str),
            utcnow().isoformat(timespec="microseconds"),
        ),
    )


async def delete(
    store: Store, task_id: str, numbers: Sequence[int], event: tuple[str, dict[str, Any]] | None
) -> None:
    if not numbers:
        return
    async with store.write() as db:
        await db.executemany(
            "DELETE FROM checkpoints WHERE task_id = ? AND n = ?", [(task_id, n) for n in numbers]
        )
        if event:
            await _event(db, task_id, event[0], event[1])


async def forget_images(store: Store, task_id: str) -> None:
    """The task is deleted (not purged): its images are gone, its code refs stay."""
    async with store.write() as db:
        await db.execute(
            "UPDATE checkpoints SET image_id = NULL, fs_fingerprint = NULL WHERE task_id = ?",
            (task_id,),
        )


async def forget_task(store: Store, task_id: str) -> None:
    async with store.write() as db:
        await db.execute("DELETE FROM checkpoints WHERE task_id = ?", (task_id,))
        await db.execute("DELETE FROM checkpoint_numbers WHERE task_id = ?", (task_id,))
