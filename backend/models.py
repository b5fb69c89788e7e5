"""Pydantic models for everything that crosses a boundary (store, service, CLI JSON, MCP).

The JSON shape of `Task` is a documented, stable schema (docs/json-schema.md): add fields,
never rename or remove them.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


def utcnow() -> datetime:
    return datetime.now(UTC)


class Model(BaseModel):
    """Every model here builds its validator on first use, not at import: importing the
    models then costs a few ms instead of 60, and a process only builds what it uses (the
    TUI's first page of tasks, a CLI call's one command)."""

    model_config = ConfigDict(defer_build=True)


class TaskState(StrEnum):
    CREATING = "creating"
    RUNNING = "running"
    STOPPED = "stopped"
    COMPLETED = "completed"
    CLEANED = "cleaned"
    FAILED = "failed"
    DELETED = "deleted"


class AgentState(StrEnum):
    NONE = "none"
    RUNNING = "running"
    EXITED = "exited"
    STOPPED = "stopped"  # the sandbox stopped under it; resume-task brings it back
    DETACHED = "detached"


class TaskSpec(Model):
    """What a sandbox is made from. Env *values* are not here: they may be secrets (see paths)."""

    model_config = ConfigDict(extra="forbid")  # defer_build comes from Model

    image: str
    cpus: float
    memory: str
    memory_bytes: int
    pids_limit: int
    network: str
    env_keys: list[str] = Field(default_factory=list)
    agent: str | None = None  # preset name, or None
    agent_cmd: str | None = None  # the command actually run
    user: str | None = None  # user the sandbox runs as (from the image)
    uid: int | None = None


class Task(Model):
    id: str
    name: str
    slug: str
    state: TaskState
    repo: str
    base_ref: str
    base_commit: str
    branch: str
    image: str
    spec: TaskSpec
    container_id: str | None = None
    workspace: str | None = None
    description: str = ""
    agent_state: AgentState = AgentState.NONE
    reason: str | None = None  # why the task is failed, in words a person can act on
    version: int = 1
    created_at: datetime
    updated_at: datetime


class Event(Model):
    id: int
    task_id: str | None
    kind: str
    payload: dict[str, Any] = Field(default_factory=dict)
    created_at: datetime


class Execution(Model):
    id: int
    task_id: str
    command: str
    exit_code: int | None
    duration_ms: int
    output_tail: str
    timed_out: bool = False
    created_at: datetime


class Decision(Model):
    id: int
    task_id: str
    text: str
    created_at: datetime


class Sample(Model):
    """One resource reading of a sandbox."""

    task_id: str
    cpu_percent: float
    memory_bytes: int
    memory_limit: int
    pids: int = 0
    taken_at: datetime = Field(default_factory=utcnow)


class ExecResult(Model):
    task_id: str
    command: str
    exit_code: int | None
    output: str
    truncated: bool = False
    timed_out: bool = False
    duration_ms: int


class LogLine(Model):
    time: datetime
    source: str  # "agent", "exec", "corral"
    text: str


class Orphan(Model):
    kind: str  # "container" | "workspace" | "image"
    ref: str
    detail: str = ""


class ReconcileReport(Model):
    orphans: list[Orphan] = Field(default_factory=list)
    vanished: list[str] = Field(default_factory=list)  # task names whose container is gone
    removed: list[Orphan] = Field(default_factory=list)


class TaskStatus(Model):
    task: Task
    container_status: str | None  # Docker's word, None when the container is gone
    agent_running: bool
    agent_exit_code: int | None
    checkpoints: int
    takeover: list[str] | None  # argv that takes over the agent's terminal
    recent_events: list[Event]


class TaskStatRow(Model):
    id: str
    name: str
    state: TaskState
    age_seconds: int
    checkpoints: int
    executions: int
    cpu_peak_percent: float | None
    memory_peak_bytes: int | None


class TaskStatsSummary(Model):
    by_state: dict[str, int]
    tasks: list[TaskStatRow]


class MergeResult(Model):
    merged: bool
    into: str | None = None
    commit: str | None = None
    conflicts: list[str] = Field(default_factory=list)
