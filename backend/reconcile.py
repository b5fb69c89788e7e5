"""Startup reconcile: find what the store and Docker (and the disk) disagree on.

- containers labelled with this home that no live task owns: orphans (removable);
- task directories on disk that no task row owns: orphans (removable);
- tasks whose sandbox vanished, or whose creation was interrupted: marked failed, with a reason;
- half-made checkpoints (backend.checkpoints.repair).
"""

from __future__ import annotations

import asyncio
import shutil
from datetime import timedelta

from backend import sandbox
from backend.errors import ConflictError
from backend.models import Orphan, ReconcileReport, TaskState, utcnow
from backend.service import TaskService

S = TaskState
STALE_CREATE = timedelta(minutes=10)


async def reconcile(svc: TaskService, *, remove: bool = False) -> ReconcileReport:
    report = ReconcileReport()
    tasks = {t.id: t for t in await svc.store.list_tasks(include_deleted=True)}
    live_containers = {
        t.container_id for t in tasks.values() if t.container_id and t.state != S.DELETED
    }
    containers = await asyncio.to_thread(sandbox.labelled_containers, svc.home)
    present = {c["id"] for c in containers}
    for c in containers:
        if c["id"] in live_containers:
            continue
        orphan = Orphan(kind="container", ref=c["id"][:12], detail=f"{c['name']} ({c['status']})")
        report.orphans.append(orphan)
        if remove:
            await asyncio.to_thread(sandbox.remove, c["id"])
            report.removed.append(orphan)
    tasks_root = svc.home / "tasks"
    if tasks_root.is_dir():
        for d in sorted(tasks_root.iterdir()):
            owner = tasks.get(d.name)
            if owner is not None and (owner.state != S.DELETED or not (d / "workspace").exists()):
                continue
            target = d if owner is None else d / "workspace"
            orphan = Orphan(kind="workspace", ref=str(target), detail="no live task owns it")
            report.orphans.append(orphan)
            if remove:
                await asyncio.to_thread(shutil.rmtree, target, True)
                report.removed.append(orphan)
    now = utcnow()
    for t in tasks.values():
        reason = None
        if t.state == S.CREATING and now - t.created_at > STALE_CREATE:
            reason = "creation was interrupted; delete-task and create it again"
        elif t.state in (S.RUNNING, S.STOPPED) and t.container_id not in present:
            reason = "sandbox container vanished; resume-task recreates it"
        if reason:
            try:
                await svc.store.update_task(
                    t, ("task.failed", {"reason": reason}), state=S.FAILED, reason=reason
                )
                report.vanished.append(t.name)
            except ConflictError:
                pass  # someone else just changed it: their view wins
    from backend import checkpoints  # late: checkpoints imports the service

    await checkpoints.reconcile(svc, report, remove)
    return report


async def at_startup(svc: TaskService) -> ReconcileReport | None:
    """The reconcile a long-lived front end (TUI, MCP server) runs when it starts: report only,
    never remove; an unreachable engine is not an error here (the front end says so itself)."""
    from backend.errors import CorralError

    try:
        report = await reconcile(svc, remove=False)
    except CorralError:
        return None
    if report.orphans or report.vanished:
        await svc.store.append_event(
            None,
            "reconcile.report",
            {"orphans": [o.model_dump() for o in report.orphans], "vanished": report.vanished},
        )
    return report


_running: set[asyncio.Task[ReconcileReport | None]] = set()


def start_at_startup(svc: TaskService) -> asyncio.Task[ReconcileReport | None]:
    """Run `at_startup` in the background; the first request need not wait for Docker."""
    task = asyncio.create_task(at_startup(svc))
    _running.add(task)  # asyncio keeps only weak references to tasks
    task.add_done_callback(_running.discard)
    return task
