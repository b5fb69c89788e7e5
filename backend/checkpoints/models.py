"""What a checkpoint is, as it crosses a boundary (store, CLI JSON, MCP)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

# manual: asked for; safety: taken before a restore; final: on complete; cleanup: before
# cleanup; emergency: the sandbox neared its memory limit; fork: first checkpoint of a fork.
Kind = Literal["manual", "safety", "final", "cleanup", "emergency", "fork"]
PROTECTED_KINDS: frozenset[str] = frozenset({"safety", "final", "cleanup"})


class Checkpoint(BaseModel):
    task_id: str
    n: int
    kind: str = "manual"
    message: str = ""
    git_ref: str  # refs/corral/checkpoints/<task id>/<n>, in the workspace and the user's repo
    commit_sha: str  # a commit of the whole workspace (untracked files included)
    head_sha: str | None = None  # where the agent's HEAD was (the commit's parent)
    image_id: str | None = None  # container filesystem; None = the task's own image, unchanged
    files_changed: int = 0  # workspace files changed since the previous checkpoint
    layer_size: int = 0  # bytes the container layer added (0 when the commit was skipped)
    log_offsets: dict[str, int] = Field(default_factory=dict)  # log file -> size at the time
    event_id: int = 0  # the task's last event before this checkpoint
    container_id: str | None = None
    fs_fingerprint: str | None = None  # of the container's changes, to skip unchanged commits
    created_at: datetime
    duration_ms: int = 0  # how long taking it took (not stored)


class FileChange(BaseModel):
    status: str  # A added, D deleted, M modified, T type changed (file <-> symlink)
    path: str


class CheckpointDiff(BaseModel):
    task_id: str
    from_n: int
    to_n: int | None  # None: the workspace as it is now
    files: list[FileChange]
    patch: str
    truncated: bool = False


class RestoreResult(BaseModel):
    task_id: str
    restored: int
    safety: int  # the checkpoint taken just before, which undoes this restore
    files_written: int
    files_removed: int
    container_recreated: bool
    agent_restarted: bool
    duration_ms: int


class PruneResult(BaseModel):
    task_id: str
    removed: list[int]
    kept: list[int]
    images_removed: int = 0
