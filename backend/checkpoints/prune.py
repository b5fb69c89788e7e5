"""Removing checkpoints: prune (by count or age) and the drop that goes with delete-task.

The row goes first, then its refs and image tag: a crash in between leaves parts without a row,
which reconcile removes; never a row whose parts are gone."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import timedelta
from pathlib import Path

from backend import paths
from backend.checkpoints import container, rows, snapshot
from backend.checkpoints.locking import drop_lock_file, task_lock
from backend.checkpoints.models import PROTECTED_KINDS, Checkpoint, PruneResult
from backend.errors import CorralError, UsageError
from backend.models import Task, utcnow
from backend.service import TaskService


async def prune(
    svc: TaskService,
    ref: str,
    *,
    keep: int | None = None,
    older_than: timedelta | None = None,
    include_protected: bool = False,
) -> PruneResult:
    if keep is None and older_than is None:
        raise UsageError("say what to prune: --keep K (newest to keep) and/or --older-than AGE")
    if keep is not None and keep < 0:
        raise UsageError(f"--keep {keep} is negative; give 0 or more")
    task = await svc.store.find_task(ref)
    async with task_lock(svc.home, task.id):
        existing = await rows.list_for(svc.store, task.id)
        candidates = [c for c in existing if include_protected or c.kind not in PROTECTED_KINDS][
            ::-1
        ]  # newest first
        beyond = candidates[keep:] if keep is not None else candidates
        cutoff = utcnow() - older_than if older_than is not None else None
        doomed = [c for c in beyond if cutoff is None or c.created_at < cutoff]
        numbers = sorted(c.n for c in doomed)
        await rows.delete(svc.store, task.id, numbers, ("checkpoint.pruned", {"numbers": numbers}))
        remaining = [c for c in existing if c.n not in set(numbers)]
        freed = await asyncio.to_thread(_remove_parts, svc.home, task, doomed, remaining)
    return PruneResult(
        task_id=task.id, removed=numbers, kept=[c.n for c in remaining], images_removed=freed
    )


def _remove_parts(
    home: Path, task: Task, doomed: list[Checkpoint], remaining: list[Checkpoint]
) -> int:
    """Refs (workspace and user's repo) and image tags of checkpoints whose rows are gone.
    Returns how many images went with their last tag."""
    ws = paths.workspace_dir(home, task.id)
    root = Path(task.repo)
    uid = task.spec.uid or 0
    still_used = {c.image_id for c in remaining if c.image_id}
    freed = 0
    for c in doomed:
        if (ws / ".git").is_dir():
            snapshot.delete_ref(ws, c.git_ref, uid)
        if root.is_dir():
            snapshot.delete_ref(root, c.git_ref)
        try:
            container.untag(task.id, c.n)
        except CorralError:
            continue
        if c.image_id and c.image_id not in still_used and not container.image_exists(c.image_id):
            freed += 1
    return freed


async def drop(svc: TaskService, task: Task, purge: bool) -> None:
    """delete-task: checkpoint images go (they cost disk); the code stays under
    refs/corral/checkpoints/ in the user's repo. With purge, refs and rows go too."""
    async with task_lock(svc.home, task.id):
        existing = await rows.list_for(svc.store, task.id)
        await asyncio.to_thread(_untag_all, task, existing)
        if purge:
            root = Path(task.repo)
            if root.is_dir():
                await asyncio.to_thread(_delete_all_refs, root, task.id)
            await rows.forget_task(svc.store, task.id)
        else:
            await rows.forget_images(svc.store, task.id)
    if purge:
        drop_lock_file(svc.home, task.id)


def _untag_all(task: Task, existing: list[Checkpoint]) -> None:
    for c in existing:
        with contextlib.suppress(CorralError):
            container.untag(task.id, c.n)


def _delete_all_refs(root: Path, task_id: str) -> None:
    for _tid, n in snapshot.list_refs(root, task_id):
        snapshot.delete_ref(root, snapshot.ref_name(task_id, n))
