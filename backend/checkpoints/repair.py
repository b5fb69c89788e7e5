"""Reconcile's checkpoint part: remove what a crash halfway through a checkpoint (or a prune)
left behind, so that a checkpoint is either whole or absent.

- a checkpoint ref (workspace or user's repo) with no row: removed;
- an image tag or a labelled image that no row names: removed (unless a container uses it);
- a row whose commit or image is gone: the row and its other parts are removed;
- a sandbox left paused by a process killed during `docker commit`: unpaused.
A task whose checkpoint lock is held (a checkpoint is being made right now) is skipped.
"""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

from backend import paths
from backend.checkpoints import container, rows, snapshot
from backend.checkpoints.locking import task_lock
from backend.checkpoints.models import Checkpoint
from backend.errors import ConflictError, CorralError
from backend.models import Orphan, ReconcileReport, Task
from backend.service import TaskService


async def reconcile(svc: TaskService, report: ReconcileReport, remove: bool) -> None:
    tasks = {t.id: t for t in await svc.store.list_tasks(include_deleted=True)}
    images = await asyncio.to_thread(container.labelled_images, svc.home)
    for task in tasks.values():
        try:
            async with task_lock(svc.home, task.id, wait=0):
                found = await _repair_task(svc, task, images, remove)
        except ConflictError:
            continue  # being checkpointed right now: not half-made, just in progress
        _add(report, found, remove)
    named = {c.image_id for c in await rows.list_all(svc.store) if c.image_id}
    found = await asyncio.to_thread(_untagged_images, svc.home, named, remove)
    _add(report, found, remove)
    if remove:
        for name in await asyncio.to_thread(container.unpause_left_over, svc.home):
            orphan = Orphan(kind="checkpoint", ref=name, detail="sandbox left paused; unpaused")
            report.orphans.append(orphan)
            report.removed.append(orphan)


def _add(report: ReconcileReport, found: list[Orphan], removed: bool) -> None:
    report.orphans.extend(found)
    if removed:
        report.removed.extend(found)


async def _repair_task(
    svc: TaskService, task: Task, images: list[container.LabelledImage], remove: bool
) -> list[Orphan]:
    existing = {c.n: c for c in await rows.list_for(svc.store, task.id)}
    ws = paths.workspace_dir(svc.home, task.id)
    root = Path(task.repo)
    uid = task.spec.uid or 0
    found: list[Orphan] = []
    ws_refs = await asyncio.to_thread(_refs, ws, task.id, uid) if (ws / ".git").is_dir() else None
    root_refs = await asyncio.to_thread(_refs, root, task.id, 0) if root.is_dir() else None
    # Rows whose parts are gone.
    broken: list[Checkpoint] = []
    for c in existing.values():
        ref_gone = root_refs is not None and c.n not in root_refs
        if ref_gone and (ws_refs is None or c.n not in ws_refs):
            broken.append(c)
            found.append(_orphan(task, c.n, "checkpoint row whose commit ref is gone"))
            continue
        if c.image_id and not await asyncio.to_thread(container.image_exists, c.image_id):
            broken.append(c)
            found.append(_orphan(task, c.n, "checkpoint row whose container image is gone"))
    if remove and broken:
        await rows.delete(
            svc.store,
            task.id,
            [c.n for c in broken],
            ("checkpoint.repaired", {"removed": [c.n for c in broken]}),
        )
    live = {n: c for n, c in existing.items() if c not in broken}
    # Refs and tags that no (whole) row names.
    for where, refs, ref_uid in ((ws, ws_refs, uid), (root, root_refs, 0)):
        for n in sorted(set(refs or {}) - set(live)):
            if n not in existing or existing[n] in broken:
                found.append(_orphan(task, n, f"checkpoint ref without a row in {where}"))
                if remove:
                    await asyncio.to_thread(
                        snapshot.delete_ref, where, snapshot.ref_name(task.id, n), ref_uid
                    )
    for img in images:
        for tag in img.tags:
            tid, _, num = tag.rpartition("-")
            if tid != task.id or not num.isdigit():
                continue
            row = live.get(int(num))
            if row is None or row.image_id != img.id:
                found.append(_orphan(task, int(num), "checkpoint image tag without a row"))
                if remove:
                    await asyncio.to_thread(_untag_quietly, task.id, int(num))
    return found


def _refs(repo: Path, task_id: str, uid: int) -> dict[int, str]:
    try:
        return {n: sha for (_t, n), sha in snapshot.list_refs(repo, task_id, uid).items()}
    except CorralError:
        return {}


def _untag_quietly(task_id: str, n: int) -> None:
    with contextlib.suppress(CorralError):
        container.untag(task_id, n)


def _untagged_images(home: Path, named: set[str], remove: bool) -> list[Orphan]:
    """Labelled checkpoint images with no tag left and no row naming them (e.g. one whose last
    tag was dropped while a container still used it)."""
    in_use = container.images_in_use()
    found: list[Orphan] = []
    for img in container.labelled_images(home):
        if img.tags or img.id in named or img.id in in_use:
            continue
        found.append(Orphan(kind="checkpoint", ref=img.id[7:19], detail="image without a row"))
        if remove:
            container.remove_image(img.id)
    return found


def _orphan(task: Task, n: int, detail: str) -> Orphan:
    return Orphan(kind="checkpoint", ref=f"{task.name}#{n}", detail=detail)
