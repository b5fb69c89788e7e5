"""`diff TASK [N [M]]`: what changed in the workspace between two checkpoints, or since one."""

from __future__ import annotations

import asyncio
from pathlib import Path

from backend import paths
from backend.checkpoints import rows, snapshot
from backend.checkpoints.models import CheckpointDiff, FileChange
from backend.errors import ConflictError, NotFoundError
from backend.service import TaskService

MAX_PATCH = 256 * 1024


async def diff(
    svc: TaskService, ref: str, n: int | None = None, m: int | None = None
) -> CheckpointDiff:
    task = await svc.store.find_task(ref, include_deleted=True)
    if n is None:
        last = await rows.latest(svc.store, task.id)
        if last is None:
            raise NotFoundError(
                f"task {task.name!r} has no checkpoints yet; take one with: checkpoint {task.name}"
            )
        n = last.n
    a = await rows.get(svc.store, task, n)
    ws = paths.workspace_dir(svc.home, task.id)
    has_ws = (ws / ".git").is_dir()
    repo, uid = (ws, task.spec.uid or 0) if has_ws else (Path(task.repo), 0)
    if m is None:
        if not has_ws:
            raise ConflictError(
                f"task {task.name!r} has no workspace any more; compare two checkpoints: "
                f"diff {task.name} {n} M"
            )
        b = await asyncio.to_thread(_tree_now, ws, uid)
    else:
        b = (await rows.get(svc.store, task, m)).commit_sha
    changes = await asyncio.to_thread(snapshot.changes, repo, uid, a.commit_sha, b)
    patch, truncated = await asyncio.to_thread(
        snapshot.diff_text, repo, uid, a.commit_sha, b, MAX_PATCH
    )
    return CheckpointDiff(
        task_id=task.id,
        from_n=n,
        to_n=m,
        files=[FileChange(status=c.status, path=c.path) for c in changes],
        patch=patch,
        truncated=truncated,
    )


def _tree_now(ws: Path, uid: int) -> str:
    snap = snapshot.snapshot_tree(ws, uid, purpose="diff")
    snapshot.drop(snap)
    return snap.tree
