"""Checkpoints: one atomic capture of a task's workspace files (a git commit object under
refs/corral/checkpoints/<task id>/<n>, mirrored into the user's repo), its container filesystem
(`docker commit`, skipped when unchanged) and where its logs and history stood.

Public functions (all async, all take the TaskService first):
  create(svc, task, kind=, message=)      take a checkpoint
  list_checkpoints(svc, task)             the task's checkpoints, oldest first
  diff(svc, task, n=None, m=None)         between two checkpoints, or a checkpoint and now
  restore(svc, task, n)                   safety checkpoint, then files + container + agent
  fork(svc, task, n, new_name)            a new task starting from a checkpoint
  prune(svc, task, keep=, older_than=, include_protected=)
Hooks the service and reconcile call: auto_checkpoint, drop, reconcile, maybe_emergency.
See docs/checkpoints.md.
"""

from __future__ import annotations

from backend.checkpoints.compare import diff
from backend.checkpoints.models import (
    Checkpoint,
    CheckpointDiff,
    FileChange,
    PruneResult,
    RestoreResult,
)
from backend.checkpoints.prune import drop, prune
from backend.checkpoints.repair import reconcile
from backend.checkpoints.restore import fork, restore
from backend.checkpoints.rows import list_for
from backend.checkpoints.take import auto_checkpoint, create, maybe_emergency
from backend.service import TaskService


async def list_checkpoints(svc: TaskService, ref: str) -> list[Checkpoint]:
    task = await svc.store.find_task(ref, include_deleted=True)
    return await list_for(svc.store, task.id)


__all__ = [
    "Checkpoint",
    "CheckpointDiff",
    "FileChange",
    "PruneResult",
    "RestoreResult",
    "auto_checkpoint",
    "create",
    "diff",
    "drop",
    "fork",
    "list_checkpoints",
    "maybe_emergency",
    "prune",
    "reconcile",
    "restore",
]
